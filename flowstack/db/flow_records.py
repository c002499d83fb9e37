"""The flows table: which TaskFlow flow works on which stack, and who owns it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from flowstack import exceptions
from flowstack.db import models
from flowstack.taskflow_adapter import schema as taskflow_schema

# Flow states, as TaskFlow names them, plus PENDING before any runner took it.
PENDING = "PENDING"
RUNNING = "RUNNING"
SUCCESS = "SUCCESS"
REVERTED = "REVERTED"
FAILURE = "FAILURE"
# Stopped on purpose by its runner (Ctrl-C in the embedded default), saved at its
# last step: claimable, but no runner is on its way (flow resume, stack delete).
STOPPED = "STOPPED"
# Failed on every attempt: set aside with its history instead of cycling forever.
QUARANTINED = "QUARANTINED"
# Given up without finishing: an operator reverted it, or a delete took its stack over.
ABANDONED = "ABANDONED"
TERMINAL = frozenset({SUCCESS, REVERTED, FAILURE})
#: Flows no runner may take again (a job left on a board for one is consumed).
ENDED = TERMINAL | {QUARANTINED, ABANDONED}
_TABLE = models.Flow.__table__
#: The flows table, for callers that read a column or two.
TABLE = _TABLE


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
    #: Runs that raised (a runner gave the flow back with an error).
    failed_runs: int = 0
    #: Consecutive takeovers from runners that died with no step finished in between.
    stalled_takeovers: int = 0


def claim(session: orm.Session, flow_id: str, owner: str) -> Claim | None:
    """Take ownership of a flow; the new epoch fences every older owner.

    None when the flow has ended (see :data:`ENDED`): nothing is left to run.

    A flow found RUNNING under another owner was abandoned by it (killed, or
    its claim expired): that is recorded in the flow's history, but it is not
    a failure of the flow.  It counts towards a crash loop only when no step
    finished since the previous claim (see :func:`steps_done`).
    """
    flow = get(session, flow_id)
    if flow.state in ENDED:
        return None
    epoch = flow.epoch + 1
    history = list(flow.errors or [])
    lost = flow.state == RUNNING and bool(flow.owner)
    if lost:
        history.append(_error(flow.owner, LOST_RUNNER))
    progress = steps_done(session, flow_id)
    stalled = _stalled(flow.stalled_takeovers, flow.progress, progress, lost)
    result = session.execute(
        sa.update(models.Flow)
        .where(
            models.Flow.id == flow_id,
            models.Flow.epoch == flow.epoch,
            models.Flow.state.not_in(ENDED),
        )
        .values(
            owner=owner,
            epoch=epoch,
            attempts=models.Flow.attempts + 1,
            state=RUNNING,
            errors=history,
            progress=progress,
            stalled_takeovers=stalled,
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
        failed_runs=flow.failed_runs,
        stalled_takeovers=stalled,
    )


#: What a flow's history says of a runner that stopped without finishing it.
LOST_RUNNER = "stopped before finishing (killed, or lost its claim)"


def steps_done(db: orm.Session | sa.Connection, flow_id: str) -> int:
    """How many of the flow's steps have finished (run or reverted): its progress."""
    atoms = taskflow_schema.TABLES.atomdetails
    return int(
        db.execute(
            sa.select(sa.func.count())
            .select_from(atoms)
            .where(atoms.c.parent_uuid == flow_id, atoms.c.state.in_(_DONE_STEP_STATES))
        ).scalar()
        or 0
    )


_DONE_STEP_STATES = ("SUCCESS", "REVERTED")


def _stalled(before: int, progress_before: int, progress: int, lost: bool) -> int:
    """Consecutive takeovers from dead runners that had finished no step."""
    if progress > progress_before:
        return 0  # the flow moved on: whatever killed its runners is not the flow
    return before + 1 if lost else before


def release(connection: sa.Connection, flow_id: str, owner: str, reason: str) -> bool:
    """Hand back a flow this runner stopped on purpose (not a failure): STOPPED, no owner.

    The epoch is bumped, so the stopped run can write nothing more.  Returns
    whether this owner still held it.
    """
    history = connection.execute(sa.select(_TABLE.c.errors).where(_TABLE.c.id == flow_id)).scalar()
    result = connection.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == flow_id, _TABLE.c.owner == owner, _TABLE.c.state == RUNNING)
        .values(
            epoch=_TABLE.c.epoch + 1,
            state=STOPPED,
            owner=None,
            errors=[*(history or []), _error(owner, reason)],
            updated_at=models.utcnow(),
        )
    )
    return result.rowcount == 1


def abandon(connection: sa.Connection, flow_id: str, epoch: int, reason: str) -> bool:
    """Give a flow up (compare-and-set on its epoch); a runner it had can write no more."""
    history = connection.execute(sa.select(_TABLE.c.errors).where(_TABLE.c.id == flow_id)).scalar()
    result = connection.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == flow_id, _TABLE.c.epoch == epoch)
        .values(
            epoch=epoch + 1,
            state=ABANDONED,
            owner=None,
            finished_at=models.utcnow(),
            errors=[*(history or []), operator_entry(reason)],
            updated_at=models.utcnow(),
        )
    )
    return result.rowcount == 1


def give_back(connection: sa.Connection, flow_id: str, epoch: int, owner: str, error: str) -> bool:
    """A run that raised hands its flow back (PENDING) with the error: a failed run.

    Compare-and-set on the epoch: a runner that lost the flow meanwhile changes
    nothing.  Returns whether it was given back.
    """
    history = connection.execute(sa.select(_TABLE.c.errors).where(_TABLE.c.id == flow_id)).scalar()
    result = connection.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == flow_id, _TABLE.c.epoch == epoch)
        .values(
            state=PENDING,
            owner=None,
            failed_runs=_TABLE.c.failed_runs + 1,
            last_error=error,
            errors=[*(history or []), _error(owner, error)],
            updated_at=models.utcnow(),
        )
    )
    return result.rowcount == 1


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
            _TABLE.c.id,
            _TABLE.c.state,
            _TABLE.c.owner,
            _TABLE.c.epoch,
            _TABLE.c.created_at,
            _TABLE.c.updated_at,
        ).where(_TABLE.c.state.in_((PENDING, RUNNING)))
    ).all()


def release_for_repost(
    connection: sa.Connection,
    flow_id: str,
    epoch: int,
    reason: str,
    owner: str | None,
    *,
    lost: bool = False,
) -> bool:
    """Take a flow back from a gone owner so that it can be posted again.

    Bumps the epoch (compare-and-set): of several reapers only one wins,
    and the gone owner, should it come back, is fenced out.  ``lost``: the
    owner died while running it (counted as a takeover, like in :func:`claim`).
    """
    row = connection.execute(
        sa.select(_TABLE.c.errors, _TABLE.c.progress, _TABLE.c.stalled_takeovers).where(
            _TABLE.c.id == flow_id
        )
    ).first()
    if row is None:
        return False
    progress = steps_done(connection, flow_id)
    result = connection.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == flow_id, _TABLE.c.epoch == epoch)
        .values(
            epoch=epoch + 1,
            state=PENDING,
            owner=None,
            errors=[*(row.errors or []), _error(owner, reason)],
            progress=progress,
            stalled_takeovers=_stalled(row.stalled_takeovers, row.progress, progress, lost),
            updated_at=models.utcnow(),
        )
    )
    return result.rowcount == 1


def operator_entry(reason: str) -> dict[str, Any]:
    """A history entry for what an operator did to the flow."""
    return _error("operator", reason)


def _error(owner: str | None, error: str) -> dict[str, Any]:
    return {"at": models.utcnow().isoformat() + "Z", "owner": owner, "error": error}


def current_for_stack(db: orm.Session | sa.Connection, stack_id: str) -> str | None:
    """The stack's most recent flow: the one whose outcome its status follows."""
    return db.execute(
        sa.select(_TABLE.c.id)
        .where(_TABLE.c.stack_id == stack_id)
        .order_by(_TABLE.c.created_at.desc())
        .limit(1)
    ).scalar()


def for_stack(session: orm.Session, stack_id: str) -> Sequence[models.Flow]:
    return session.scalars(
        sa.select(models.Flow)
        .where(models.Flow.stack_id == stack_id)
        .order_by(models.Flow.created_at)
    ).all()
