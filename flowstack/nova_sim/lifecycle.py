"""A server's record and its lifecycle, derived lazily from timestamps.

No timer thread ever changes a server: a record stores *when* things were asked
for and *what* was decided then (build delay, injected fault, delete deadline),
and :func:`observe` computes the status at any instant. So a saved state file
reloaded an hour later shows exactly what a real cloud would show by then.

Timeline (``t0`` = create, ``d`` = delete request)::

    t0 ── BUILD (scheduling → networking → block_device_mapping → spawning)
    t0 + build_delay ── ACTIVE, or ERROR with the injected build fault
    d ── status frozen as it was, task_state "deleting"
    d + delete_delay ── gone (404); or ERROR again if the delete was made to fail;
                       never, if the delete hangs
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

BUILD_TASK_STATES = ("scheduling", "networking", "block_device_mapping", "spawning")
POWER_NOSTATE = 0
POWER_RUNNING = 1


@dataclass
class ServerRecord:
    """Everything stored about one server, JSON-able as is."""

    id: str
    name: str
    seq: int
    project_id: str
    user_id: str
    request_id: str
    created_at: float
    build_delay: float
    flavor: dict[str, Any]
    image_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    key_name: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    availability_zone: str | None = None
    hostname: str = ""
    security_groups: list[str] = field(default_factory=list)
    ports: list[dict[str, Any]] = field(default_factory=list)
    access_ipv4: str = ""
    access_ipv6: str = ""
    config_drive: str = ""
    disk_config: str = "MANUAL"
    reservation_id: str = ""
    launch_index: int = 0
    global_request_id: str | None = None
    build_fault: dict[str, Any] | None = None
    error_since: float | None = None
    error_fault: dict[str, Any] | None = None
    delete_requested_at: float | None = None
    delete_completes_at: float | None = None
    delete_fault: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active_at(self) -> float:
        return self.created_at + self.build_delay

    def add_event(self, at: float, event: str, **details: Any) -> None:
        self.events.append({"at": at, "event": event, **details})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Observed:
    """A server as an API call sees it at one instant."""

    status: str
    vm_state: str
    task_state: str | None
    power_state: int
    updated_at: float
    launched_at: float | None = None
    terminated_at: float | None = None
    fault: dict[str, Any] | None = None
    gone: bool = False
    scheduled: bool = False
    holds_ports: bool = True


def _build_phase(record: ServerRecord, at: float) -> Observed:
    """The server's state at ``at`` if nobody had asked to delete it."""
    if record.error_since is not None and at >= record.error_since:
        return Observed(
            "ERROR",
            "error",
            None,
            POWER_RUNNING if record.build_fault is None else POWER_NOSTATE,
            updated_at=record.error_since,
            launched_at=record.active_at if record.build_fault is None else None,
            fault=record.error_fault,
            scheduled=record.build_fault is None,
            holds_ports=record.build_fault is None,
        )
    if at < record.active_at:
        elapsed = max(0.0, at - record.created_at)
        step = len(BUILD_TASK_STATES) * elapsed / record.build_delay if record.build_delay else 0
        index = min(int(step), len(BUILD_TASK_STATES) - 1)
        started = record.created_at + index * record.build_delay / len(BUILD_TASK_STATES)
        return Observed(
            "BUILD",
            "building",
            BUILD_TASK_STATES[index],
            POWER_NOSTATE,
            updated_at=started,
            scheduled=index > 0,
        )
    if record.build_fault is not None:
        return Observed(
            "ERROR",
            "error",
            None,
            POWER_NOSTATE,
            updated_at=record.active_at,
            fault=record.build_fault,
            holds_ports=False,
        )
    return Observed(
        "ACTIVE",
        "active",
        None,
        POWER_RUNNING,
        updated_at=record.active_at,
        launched_at=record.active_at,
        scheduled=True,
    )


def observe(record: ServerRecord, now: float) -> Observed:
    """The server's status, task state, fault, ... at instant ``now``."""
    requested = record.delete_requested_at
    if requested is None or now < requested:
        return _build_phase(record, now)
    completes = record.delete_completes_at
    if completes is not None and now >= completes:
        if record.delete_fault is None:
            return Observed(
                "DELETED",
                "deleted",
                None,
                POWER_NOSTATE,
                updated_at=completes,
                terminated_at=completes,
                gone=True,
                holds_ports=False,
            )
        before = _build_phase(record, requested)
        return dataclasses.replace(
            before,
            status="ERROR",
            vm_state="error",
            task_state=None,
            updated_at=completes,
            fault=record.delete_fault,
        )
    before = _build_phase(record, requested)
    return dataclasses.replace(before, task_state="deleting", updated_at=requested)


def settle_failed_delete(record: ServerRecord, now: float) -> None:
    """Before a new delete: turn a finished, failed delete into a plain ERROR state."""
    if (
        record.delete_fault is not None
        and record.delete_completes_at is not None
        and now >= record.delete_completes_at
    ):
        record.error_since = record.delete_completes_at
        record.error_fault = record.delete_fault
        record.delete_requested_at = None
        record.delete_completes_at = None
        record.delete_fault = None


def history(record: ServerRecord, now: float) -> list[dict[str, Any]]:
    """Stored events plus the status transitions they implied, in time order."""
    derived: list[dict[str, Any]] = []
    end = record.delete_requested_at if record.delete_requested_at is not None else now
    if record.active_at <= min(end, now):
        status = "ERROR" if record.build_fault is not None else "ACTIVE"
        derived.append({"at": record.active_at, "event": "status", "status": status})
    current = observe(record, now)
    if record.delete_completes_at is not None and now >= record.delete_completes_at:
        derived.append(
            {"at": record.delete_completes_at, "event": "status", "status": current.status}
        )
    if record.error_since is not None and record.error_since <= now:
        derived.append({"at": record.error_since, "event": "status", "status": "ERROR"})
    merged = [*record.events, *derived]
    merged.sort(key=lambda e: e["at"])
    return merged


def admin_view(record: ServerRecord, seen: Observed, now: float) -> dict[str, Any]:
    """The admin endpoint's record of one server (what ``/_admin/servers`` lists)."""
    return {
        "id": record.id,
        "name": record.name,
        "status": seen.status,
        "vm_state": seen.vm_state,
        "task_state": seen.task_state,
        "live": not seen.gone,
        "project_id": record.project_id,
        "user_id": record.user_id,
        "request_id": record.request_id,
        "global_request_id": record.global_request_id,
        "created_at": record.created_at,
        "delete_requested_at": record.delete_requested_at,
        "deleted_at": seen.terminated_at,
        "flavor_id": record.flavor.get("id"),
        "image_id": record.image_id,
        "metadata": dict(record.metadata),
        "addresses": [p["addr"] for p in record.ports] if seen.holds_ports else [],
        "fault": seen.fault,
        "history": history(record, now),
    }
