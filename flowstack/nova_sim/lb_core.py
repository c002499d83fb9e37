"""The rules every Octavia-subset change follows, shared by :mod:`.lb_ops` and :mod:`.lb_members`.

* a load balancer that is not ``ACTIVE`` (``PENDING_*`` or ``ERROR``) is
  immutable: any change to it or below it answers 409 — except deleting it
  from ``ERROR``;
* a pool or member change puts the object in ``PENDING_CREATE/UPDATE/DELETE``
  and its pool and load balancer in ``PENDING_UPDATE`` for ``lb_update_delay``;
  creating or deleting a load balancer takes ``lb_provision_delay``;
* every change is written to the event log (:class:`~.lb_model.LbStore`).

Refusals are :class:`LbError` with Octavia's status and message. Lookups run
inside a :meth:`CloudState.reading`/``writing`` block held by the caller.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flowstack.nova_sim.errors import SimulatorError
from flowstack.nova_sim.faults import LbSubject
from flowstack.nova_sim.lb_model import (
    ACTIVE,
    DELETED,
    ERROR,
    PENDING_UPDATE,
    LbObject,
    LbStore,
    LoadBalancerRecord,
    MemberRecord,
    PoolRecord,
)
from flowstack.nova_sim.model import RequestContext
from flowstack.nova_sim.network import subnet_id
from flowstack.nova_sim.state import CloudState


class LbError(SimulatorError):
    """A refusal Octavia would answer with ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def immutable(lb_id: str) -> LbError:
    return LbError(409, f"Load Balancer {lb_id} is immutable and cannot be updated.")


def not_found(resource: str, object_id: str) -> LbError:
    return LbError(404, f"{resource} {object_id} not found.")


class LbCore:
    """Lookups and rules shared by the load-balancer and member operations."""

    def __init__(self, state: CloudState) -> None:
        self.state = state

    @property
    def store(self) -> LbStore:
        return self.state.lb

    # -- lookups (inside a state block) ---------------------------------------
    def _find(
        self, ctx: RequestContext | None, table: dict[str, Any], object_id: str, now: float
    ) -> Any:
        obj = table.get(object_id)
        if obj is None or obj.gone(now):
            return None
        if ctx is not None and not ctx.is_admin and obj.project_id != ctx.project_id:
            return None
        return obj

    def _loadbalancer(
        self, ctx: RequestContext | None, lb_id: str, now: float
    ) -> LoadBalancerRecord:
        lb = self._find(ctx, self.store.loadbalancers, lb_id, now)
        if lb is None:
            raise not_found("Load Balancer", lb_id)
        return lb

    def _pool(self, ctx: RequestContext | None, pool_id: str, now: float) -> PoolRecord:
        pool = self._find(ctx, self.store.pools, pool_id, now)
        if pool is None:
            raise not_found("Pool", pool_id)
        return pool

    def _member(
        self, ctx: RequestContext | None, pool: PoolRecord, member_id: str, now: float
    ) -> MemberRecord:
        member = self._find(ctx, self.store.members, member_id, now)
        if member is None or member.pool_id != pool.id:
            raise not_found("Member", member_id)
        return member

    def _subnets(self) -> dict[str, tuple[str, ipaddress.IPv4Network]]:
        """Every simulated subnet id: (network id, cidr)."""
        found = {}
        for name, ipam in self.state.ipam.items():
            network_id = self.state.networks[name].id
            for cidr in ipam.subnets:
                found[subnet_id(network_id, str(cidr))] = (network_id, cidr)
        return found

    # -- rules ----------------------------------------------------------------
    def _check_mutable(self, lb: LoadBalancerRecord, now: float, subject: LbSubject) -> None:
        status = lb.provisioning_status(now)
        deletable = subject.resource == "loadbalancer" and subject.operation == "delete"
        if status != ACTIVE and not (deletable and status == ERROR):
            raise immutable(lb.id)
        if self.state.faults.lb_immutable(subject) is not None:
            raise immutable(lb.id)

    def _outcome(self, subject: LbSubject) -> str:
        """ERROR when a provisioning fault fires, else what the change normally ends in."""
        normal = DELETED if subject.operation == "delete" else ACTIVE
        fault = self.state.faults.lb_provisioning_error(subject)
        return normal if fault is None else ERROR

    def _touch(self, objects: list[LbObject], now: float) -> None:
        """Parents of a changed object: PENDING_UPDATE, then back to what they were."""
        delay = self.state.lb_update_delay
        for obj in objects:
            obj.begin(PENDING_UPDATE, now, delay, obj.outcome)

    def log(self, now: float, kind: str, event: str, **details: Any) -> None:
        self.store.record(now, kind, event, **details)


def apply_changes(obj: LbObject, changes: dict[str, Any], now: float) -> dict[str, list[Any]]:
    """Set ``changes`` on ``obj``; returns ``{field: [old, new]}`` for what differed."""
    diff = {}
    for key, value in changes.items():
        old = getattr(obj, key)
        if old != value:
            diff[key] = [old, value]
        setattr(obj, key, value)
    obj.updated_at = now
    return diff
