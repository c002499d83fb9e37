"""What a running task needs from its process: database, secrets, types, clients.

Flow factories take JSON-safe arguments only (a worker rebuilds them from
their dotted name), so a task cannot be built with these objects.  The
runner that runs a flow injects its process's :class:`Runtime` into the
flow's storage as a *transient* value (``flows.keys.RUNTIME``: kept in
memory, never persisted), and each task receives it as its ``runtime``
argument.  Plugins get it as their host (``flowstack.resources.host``).
There is no process-global runtime: two runtimes can live in one process
(a test runs a worker and an engine side by side).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterator, Mapping
from typing import Any

import futurist
import sqlalchemy as sa
from oslo_config import cfg

from flowstack import taskflow_adapter
from flowstack.clients import Clients
from flowstack.db.session import Database
from flowstack.resources import template_types
from flowstack.resources.base import Resource
from flowstack.resources.registry import Registry
from flowstack.runtime import outputs, resource_state
from flowstack.runtime.fencing import Fence, Fences
from flowstack.runtime.stack_definitions import StackCache, StackDefinition
from flowstack.secrets import SecretBox
from flowstack.taskflow_adapter.persistence import Backend
from flowstack.template import ResourceTypes


@dataclasses.dataclass
class Runtime:
    conf: cfg.ConfigOpts
    db: Database
    secrets: SecretBox
    registry: Registry
    clients: Any = None  # of remote services: flowstack.clients.Clients
    #: Who runs flows that flows start (a group's next convergence); None: the reaper.
    dispatcher: Any = None
    stacks: StackCache = dataclasses.field(init=False)
    fences: Fences = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.stacks = StackCache(self.db, self.secrets)
        self.fences = Fences()

    def fence_for(self, stack_id: str) -> Fence | None:
        """The claim this process holds on the flow working on a stack, if any.

        A group's first members are created by its parent stack's create
        flow (and removed by its delete flow): those writes to the nested
        stack are fenced by the parent's claim.
        """
        fence = self.fences.get(stack_id)
        if fence is None and self.fences.held():
            # A member's own nested stack is two levels down: walk up.
            parent = self.stacks.get(stack_id).parent_id
            while fence is None and parent is not None:
                fence = self.fences.get(parent)
                parent = self.stacks.get(parent).parent_id
        return fence

    def types(self, stack: StackDefinition) -> ResourceTypes:
        """The resource types a stack's resources may have: built-in ones and its files."""
        return template_types.types_for(self.registry, stack.files)

    def guard(self, stack_id: str) -> None:
        """Raise FencedOut if this process no longer owns the stack's running flow."""
        fence = self.fence_for(stack_id)
        if fence is not None:
            fence.verify(self.db)

    def checkpoint(self, stack_id: str) -> None:
        """At the start of a step: raise if the flow was taken over or cancelled."""
        fence = self.fence_for(stack_id)
        if fence is not None:
            fence.checkpoint(self.db)

    @contextlib.contextmanager
    def write(self, stack_id: str) -> Iterator[sa.Connection]:
        """A write transaction on behalf of a stack's running flow, fenced.

        If this process holds the stack's flow, the write happens only while
        that claim is still the current one (see :mod:`flowstack.runtime.fencing`).
        """
        fence = self.fence_for(stack_id)
        with self.db.write_connection() as connection:
            if fence is not None:
                fence.check(connection)
            yield connection

    # -- what plugins may ask (flowstack.resources.host.ResourceHost) ----------------

    def stack_files(self, stack_id: str) -> Mapping[str, str]:
        return self.stacks.get(stack_id).files

    def load_resource(self, stack_id: str, name: str) -> Resource:
        return resource_state.load(self, self.stacks.get(stack_id), name).plugin

    def stack_outputs(self, stack_id: str) -> dict[str, Any]:
        return outputs.resolve_outputs(self, self.stacks.get(stack_id))[1]

    # -- what runners use ------------------------------------------------------------

    @functools.cached_property
    def executor(self) -> futurist.ThreadPoolExecutor:
        """Threads that run tasks, shared by every flow of this process.

        One long-lived pool bounds the process's concurrency, and avoids a
        per-flow pool whose shutdown waits for idle threads (futurist's
        workers wake once a second, which cost each flow a second).
        """
        return futurist.ThreadPoolExecutor(max_workers=self.conf.engine.max_workers)

    @functools.cached_property
    def backend(self) -> Backend:
        """TaskFlow persistence on the same database (connects on first use)."""
        return Backend(self.db)

    @classmethod
    def from_conf(
        cls,
        conf: cfg.ConfigOpts,
        *,
        registry: Registry | None = None,
        clients: Any = None,
    ) -> Runtime:
        """The process's runtime; refuses a TaskFlow whose internals changed (see
        :mod:`flowstack.taskflow_adapter`) before anything runs."""
        taskflow_adapter.verify()
        db = Database.from_conf(conf)
        if clients is None:
            clients = Clients(conf)  # connects (or starts the simulator) on first use
        return cls(
            conf=conf,
            db=db,
            secrets=SecretBox.from_conf(conf),
            registry=registry or Registry.from_entry_points(),
            clients=clients,
        )

    def close(self) -> None:
        """Release everything; flows must have finished (or be abandoned)."""
        if "executor" in self.__dict__:
            # Idle futurist workers notice the shutdown within a second;
            # waiting for them would only delay every command's exit.
            self.executor.shutdown(wait=False)
        close_clients = getattr(self.clients, "close", None)
        if close_clients is not None:
            close_clients()
        self.db.close()
