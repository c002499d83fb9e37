"""The flows table: which TaskFlow flow works on which stack, and who owns it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from flowstack import exceptions
from flowstack.db import models

# Flow states, as TaskFlow names them, plus PENDING before any runner took it.
PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCESS = "SUCCESS"
REVERTED = "REVERTED"
FAILURE = "FAILURE"
# Failed on every attempt: set aside with its history instead of cycling forever.
QUARANTINED = "QUARANTINED"
TERMINAL = frozenset({SUCCESS, REVERTED, FAILURE})
_TABLE = models.Flow.__table__


def create(
    session: orm.Session, flow_id: str, stack_id: str, project_id: str, operation: str
) -> models.Flow:
    """Record a new flow of a stack; the stack's logbook has the stack's id."""
    flow = models.Flow(
        id=flow_id,
        logbook_id=stack_id,
        stack_id=stack_id,
        project_id=project_id,
        operation=operation,
        state=PENDING,
        epoch=0,
        attempts=0,
    )
    session.add(flow)
    session.flush()
    return flow


def get(session: orm.Session, flow_id: str) -> models.Flow:
    flow = session.get(models.Flow, flow_id)
    if flow is None:
        raise exceptions.FlowNotFound(flow_id=flow_id)
    return flow


@dataclasses.dataclass(frozen=True)
class Claim:
    """What a runner holds after claiming a flow."""

    flow_id: str
    stack_id: str
    operation: str
    epoch: int
    attempts: int
    previous_owner: str | None
    previous_state: str


def claim(session: orm.Session, flow_id: str, owner: str) -> Claim:
    """Take ownership of a flow; the new epoch fences every older owner.

    A flow found RUNNING under another owner was abandoned by it (killed,
    or its claim expired): that attempt is added to the flow's error history.
    """
    flow = get(session, flow_id)
    epoch = flow.epoch + 1
    history = list(flow.errors or [])
    if flow.state == RUNNING and flow.owner:
        history.append(_error(flow.owner, "stopped before finishing (killed, or lost its claim)"))
    result = session.execute(
        sa.update(models.Flow)
        .where(models.Flow.id == flow_id, models.Flow.epoch == flow.epoch)
        .values(
            owner=owner,
            epoch=epoch,
            attempts=models.Flow.attempts + 1,
            state=RUNNING,
            errors=history,
            updated_at=models.utcnow(),
        ),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        raise exceptions.Conflict(f"Flow {flow_id} was claimed by another runner")
    return Claim(
        flow_id=flow_id,
        stack_id=flow.stack_id,
        operation=flow.operation,
        epoch=epoch,
        attempts=flow.attempts + 1,
        previous_owner=flow.owner,
        previous_state=flow.state,
    )


def finish(
    session: orm.Session | sa.Connection,
    flow_id: str,
    state: str,
    error: str | None = None,
    *,
    owner: str | None = None,
) -> None:
    """Record a flow's outcome; a failure is also added to its error history."""
    now = models.utcnow()
    values: dict[str, Any] = {"state": state, "last_error": error, "updated_at": now}
    if state in TERMINAL or state == QUARANTINED:
        values["finished_at"] = now
    if error:
        history = session.execute(sa.select(_TABLE.c.errors).where(_TABLE.c.id == flow_id)).scalar()
        values["errors"] = [*(history or []), _error(owner, error)]
    session.execute(
        sa.update(_TABLE).where(_TABLE.c.id == flow_id).values(**values),
        execution_options={"synchronize_session": False},
    )


def unfinished(connection: sa.Connection) -> Sequence[sa.Row]:
    """Flows neither finished nor quarantined: candidates for the reaper."""
    return connection.execute(
        sa.select(
            _TABLE.c.id, _TABLE.c.state, _TABLE.c.owner, _TABLE.c.epoch, _TABLE.c.created_at
        ).where(_TABLE.c.state.in_((PENDING, RUNNING)))
    ).all()


def release_for_repost(
    connection: sa.Connection, flow_id: str, epoch: int, reason: str, owner: str | None
) -> bool:
    """Take a flow back from a gone owner so that it can be posted again.

    Bumps the epoch (compare-and-set): of several reapers only one wins,
    and the gone owner, should it come back, is fenced out.
    """
    history = connection.execute(sa.select(_TABLE.c.errors).where(_TABLE.c.id == flow_id)).scalar()
    result = connection.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == flow_id, _TABLE.c.epoch == epoch)
        .values(
            epoch=epoch + 1,
            state=PENDING,
            owner=None,
            errors=[*(history or []), _error(owner, reason)],
            updated_at=models.utcnow(),
        )
    )
    return result.rowcount == 1


def operator_entry(reason: str) -> dict[str, Any]:
    """A history entry for what an operator did to the flow."""
    return _error("operator", reason)


def _error(owner: str | None, error: str) -> dict[str, Any]:
    return {"at": models.utcnow().isoformat() + "Z", "owner": owner, "error": error}


def for_stack(session: orm.Session, stack_id: str) -> Sequence[models.Flow]:
    return session.scalars(
        sa.select(models.Flow)
        .where(models.Flow.stack_id == stack_id)
        .order_by(models.Flow.created_at)
    ).all()
