"""Load balancers, pools and members of the Octavia subset, and their event log.

As with servers (:mod:`.lifecycle`), no timer thread changes anything: a change
stores the ``PENDING_*`` status it shows, *when* that ends and what comes then
(``ACTIVE``, ``ERROR``, or ``DELETED`` = gone), so the status at any instant is
derived, a saved state file stays right, and tests with a fake clock never sleep.

:class:`LbStore` is the part of :class:`~.state.CloudState` that holds them,
with the simulator's event log: one list ordered by a sequence number that the
compute API's server deletions share, so a test can prove "weight 0, then
member deleted, then server deleted".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

ACTIVE = "ACTIVE"
ERROR = "ERROR"
DELETED = "DELETED"
PENDING_CREATE = "PENDING_CREATE"
PENDING_UPDATE = "PENDING_UPDATE"
PENDING_DELETE = "PENDING_DELETE"


@dataclass(kw_only=True)
class LbObject:
    """What load balancers, pools and members share: identity and provisioning."""

    id: str
    project_id: str
    created_at: float
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    tags: list[str] = field(default_factory=list)
    updated_at: float | None = None
    #: the PENDING_* status shown until ``settles_at``, then ``outcome``.
    pending: str | None = None
    settles_at: float = 0.0
    outcome: str = ACTIVE

    def provisioning_status(self, now: float) -> str:
        if self.pending is not None and now < self.settles_at:
            return self.pending
        return self.outcome

    def gone(self, now: float) -> bool:
        return self.provisioning_status(now) == DELETED

    def begin(self, pending: str, now: float, delay: float, outcome: str = ACTIVE) -> None:
        """Start a change: ``pending`` for ``delay`` seconds, then ``outcome``."""
        self.pending, self.settles_at, self.outcome = pending, now + delay, outcome

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(kw_only=True)
class LoadBalancerRecord(LbObject):
    vip_address: str
    vip_subnet_id: str | None = None
    vip_network_id: str | None = None
    vip_port_id: str | None = None
    provider: str = "amphora"
    flavor_id: str | None = None
    availability_zone: str | None = None
    pool_ids: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class PoolRecord(LbObject):
    loadbalancer_id: str
    protocol: str
    lb_algorithm: str
    session_persistence: dict[str, Any] | None = None
    tls_enabled: bool = False
    member_ids: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class MemberRecord(LbObject):
    pool_id: str
    address: str
    protocol_port: int
    weight: int = 1
    subnet_id: str | None = None
    monitor_address: str | None = None
    monitor_port: int | None = None
    backup: bool = False


RecordT = TypeVar("RecordT", bound=LbObject)


def _from_dict(cls: type[RecordT], data: dict[str, Any]) -> RecordT:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


class LbStore:
    """Every load balancer, pool and member ever created, and the event log."""

    def __init__(self) -> None:
        self.loadbalancers: dict[str, LoadBalancerRecord] = {}
        self.pools: dict[str, PoolRecord] = {}
        self.members: dict[str, MemberRecord] = {}
        self.events: list[dict[str, Any]] = []
        #: the last event sequence number handed out (shared with server events).
        self.seq = 0

    def record(self, at: float, kind: str, event: str, **details: Any) -> dict[str, Any]:
        """Append one event with the next sequence number; returns it."""
        self.seq += 1
        entry = {"seq": self.seq, "at": at, "kind": kind, "event": event, **details}
        self.events.append(entry)
        return entry

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "loadbalancers": [r.to_dict() for r in self.loadbalancers.values()],
            "pools": [r.to_dict() for r in self.pools.values()],
            "members": [r.to_dict() for r in self.members.values()],
            "events": self.events,
        }

    def load(self, data: dict[str, Any]) -> None:
        self.seq = int(data.get("seq", 0))
        lbs = (_from_dict(LoadBalancerRecord, d) for d in data.get("loadbalancers") or [])
        pools = (_from_dict(PoolRecord, d) for d in data.get("pools") or [])
        members = (_from_dict(MemberRecord, d) for d in data.get("members") or [])
        self.loadbalancers = {r.id: r for r in lbs}
        self.pools = {r.id: r for r in pools}
        self.members = {r.id: r for r in members}
        self.events = list(data.get("events") or [])
