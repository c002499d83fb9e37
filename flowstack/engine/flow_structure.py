"""A persisted flow's shape: its subflows, and which step runs after which.

The shape is not stored: it is rebuilt from the factory named in the flow
detail (as a runner rebuilds it) and walked through TaskFlow's public pattern
API: iterating a flow, ``iter_links()`` and ``retry``.  An edge ``a -> b``
means that ``b`` starts only once ``a`` is done (a link between subflows
joins the steps one ends with to the steps the other starts with).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import taskflow.engines
from taskflow import flow as tf_flow
from taskflow import states as tf_states
from taskflow.persistence import models as tf_models

from flowstack.taskflow_adapter import persistence as backend


@dataclasses.dataclass
class Cluster:
    """A subflow: its name and pattern, its retry, and what it holds (in order)."""

    name: str
    pattern: str
    retry: str | None
    items: list[str | Cluster]


@dataclasses.dataclass
class Structure:
    """A flow's shape: subflows, which step runs after which, and in what order."""

    root: Cluster | None
    order: list[str]
    parents: dict[str, str]
    edges: set[tuple[str, str]]
    problem: str | None = None

    @classmethod
    def of(cls, detail: tf_models.FlowDetail) -> Structure:
        try:
            flow = taskflow.engines.flow_from_detail(detail)
        except Exception as exc:  # the factory moved, or its arguments no longer fit
            return cls(None, [], {}, set(), f"structure unavailable: {type(exc).__name__}: {exc}")
        walk = cls(None, [], {}, set())
        walk.root = walk._walk_flow(flow)[0]
        return walk

    def _walk_flow(self, flow: tf_flow.Flow) -> tuple[Cluster, list[str], list[str]]:
        """The flow's cluster, the steps it starts with and the steps it ends with."""
        cluster = Cluster(flow.name, type(flow).__module__.rsplit(".", 1)[-1], None, [])
        ends: dict[Any, tuple[list[str], list[str]]] = {}
        for child in flow:
            if isinstance(child, tf_flow.Flow):
                inner, first, last = self._walk_flow(child)
                cluster.items.append(inner)
                ends[child] = (first, last)
            else:
                self._add_atom(child.name, flow.name)
                cluster.items.append(child.name)
                ends[child] = ([child.name], [child.name])
        linked_to, linked_from = set(), set()
        for source, target, _ in flow.iter_links():
            linked_from.add(source)
            linked_to.add(target)
            for a in ends[source][1]:
                for b in ends[target][0]:
                    self.edges.add((a, b))
        first = [name for child in flow if child not in linked_to for name in ends[child][0]]
        last = [name for child in flow if child not in linked_from for name in ends[child][1]]
        if flow.retry is not None:
            retry = flow.retry.name
            self._add_atom(retry, flow.name)
            cluster.retry = retry
            self.edges.update((retry, name) for name in first)
            first = [retry]
        return cluster, first, last

    def _add_atom(self, name: str, parent: str) -> None:
        self.order.append(name)
        self.parents[name] = parent

    def ordered(self, detail: tf_models.FlowDetail) -> list[tf_models.AtomDetail]:
        """The flow detail's atoms in the flow's order (retries before their subflow)."""
        atoms = {atom.name: atom for atom in detail}
        rank = {name: n for n, name in enumerate(self._execution_order())}
        return sorted(atoms.values(), key=lambda a: (rank.get(a.name, len(rank)), a.name))

    def _execution_order(self) -> list[str]:
        """Walk order, with each retry moved before the steps of its subflow."""
        order: list[str] = []

        def visit(cluster: Cluster) -> None:
            if cluster.retry:
                order.append(cluster.retry)
            for item in cluster.items:
                if isinstance(item, Cluster):
                    visit(item)
                else:
                    order.append(item)

        if self.root is not None:
            visit(self.root)
        return order

    def blocked(self, detail: tf_models.FlowDetail) -> set[str]:
        """Steps that never ran because a step they wait for failed."""
        atoms = {atom.name: atom for atom in detail}
        broken = [name for name, atom in atoms.items() if failed(atom)]
        following: dict[str, list[str]] = {}
        for a, b in self.edges:
            following.setdefault(a, []).append(b)
        blocked: set[str] = set()
        pending = list(broken)
        while pending:
            for after in following.get(pending.pop(), ()):
                atom = atoms.get(after)
                if after in blocked or atom is None or ran(atom):
                    continue
                blocked.add(after)
                pending.append(after)
        return blocked


def failed(atom: tf_models.AtomDetail) -> bool:
    """Whether the step failed: its execution (even if reverted since), or its revert."""
    return atom.failure is not None or atom.state in (tf_states.FAILURE, tf_states.REVERT_FAILURE)


def ran(atom: tf_models.AtomDetail) -> bool:
    """Whether the step started at least once."""
    return bool((atom.meta or {}).get(backend.STARTED_AT)) or atom.state != tf_states.PENDING
