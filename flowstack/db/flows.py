"""The flows table: which TaskFlow flow works on which stack, and who owns it."""

from __future__ import annotations

from collections.abc import Sequence

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
TERMINAL = frozenset({SUCCESS, REVERTED, FAILURE})


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
        raise exceptions.FlowNotFound(flow_id)
    return flow


def claim(session: orm.Session, flow_id: str, owner: str) -> int:
    """Take ownership of a flow; returns the new epoch that fences older owners."""
    flow = get(session, flow_id)
    epoch = flow.epoch + 1
    result = session.execute(
        sa.update(models.Flow)
        .where(models.Flow.id == flow_id, models.Flow.epoch == flow.epoch)
        .values(
            owner=owner,
            epoch=epoch,
            attempts=models.Flow.attempts + 1,
            state=RUNNING,
            updated_at=models.utcnow(),
        ),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:
        raise exceptions.Conflict(f"Flow {flow_id} was claimed by another runner")
    return epoch


def finish(session: orm.Session, flow_id: str, state: str, error: str | None = None) -> None:
    now = models.utcnow()
    session.execute(
        sa.update(models.Flow)
        .where(models.Flow.id == flow_id)
        .values(state=state, last_error=error, finished_at=now, updated_at=now),
        execution_options={"synchronize_session": False},
    )


def for_stack(session: orm.Session, stack_id: str) -> Sequence[models.Flow]:
    return session.scalars(
        sa.select(models.Flow)
        .where(models.Flow.stack_id == stack_id)
        .order_by(models.Flow.created_at)
    ).all()
