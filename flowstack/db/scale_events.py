"""Scale events: every trigger of a group with its receipt id and its fate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from flowstack import exceptions
from flowstack.db import models

Db = orm.Session | sa.Connection
TABLE = models.ScaleEvent.__table__

PENDING = "PENDING"  # accepted, waits for the next convergence (coalesced)
IN_PROGRESS = "IN_PROGRESS"  # a converge flow is bringing the group to it
COMPLETE = "COMPLETE"
FAILED = "FAILED"
REFUSED = "REFUSED"  # paused, in cooldown, group busy
NOOP = "NOOP"  # nothing to change (already there, clamped)
OPEN = (PENDING, IN_PROGRESS)
STEP_SEPARATOR = "\n"  # between later steps (settle makes each step one line)
TERMINAL = (COMPLETE, FAILED, REFUSED, NOOP)


_INSERT = sa.insert(TABLE)
_BY_KEYS = sa.select(TABLE).where(
    TABLE.c.group_id == sa.bindparam("group_id"),
    TABLE.c.idempotency_key.in_(sa.bindparam("keys", expanding=True)),
)
_BY_IDS = sa.select(TABLE).where(TABLE.c.id.in_(sa.bindparam("ids", expanding=True)))


def insert(db: Db, **values: Any) -> None:
    db.execute(sa.insert(TABLE).values(**values))


def insert_many(db: Db, events: list[dict[str, Any]]) -> None:
    """Insert events with one statement (every dict has the same keys)."""
    if events:
        db.execute(_INSERT, events)


def by_keys(db: Db, group_id: str, keys: list[str]) -> dict[str, Any]:
    """The group's events already recorded under these idempotency keys, by key."""
    if not keys:
        return {}
    found = db.execute(_BY_KEYS, {"group_id": group_id, "keys": sorted(set(keys))})
    return {row.idempotency_key: row for row in found}


def get_many(db: Db, ids: list[str]) -> dict[str, sa.Row]:
    if not ids:
        return {}
    return {row.id: row for row in db.execute(_BY_IDS, {"ids": ids})}


def by_key(db: Db, group_id: str, key: str) -> sa.Row | None:
    return db.execute(
        sa.select(TABLE).where(TABLE.c.group_id == group_id, TABLE.c.idempotency_key == key)
    ).first()


def get(db: Db, project_id: str, receipt: str) -> sa.Row:
    row = db.execute(
        sa.select(TABLE).where(TABLE.c.id == receipt, TABLE.c.project_id == project_id)
    ).first()
    if row is None:
        raise exceptions.ScaleEventNotFound(receipt=receipt)
    return row


def for_group(db: Db, group_id: str, limit: int) -> Sequence[sa.Row]:
    """The newest ``limit`` events of a group, oldest first."""
    newest = (
        sa.select(TABLE)
        .where(TABLE.c.group_id == group_id)
        .order_by(TABLE.c.received_at.desc(), TABLE.c.id.desc())
        .limit(limit)
    ).subquery()
    return db.execute(sa.select(newest).order_by(newest.c.received_at, newest.c.id)).all()


def for_project(db: Db, project_id: str, limit: int) -> Sequence[sa.Row]:
    newest = (
        sa.select(TABLE)
        .where(TABLE.c.project_id == project_id)
        .order_by(TABLE.c.received_at.desc(), TABLE.c.id.desc())
        .limit(limit)
    ).subquery()
    return db.execute(sa.select(newest).order_by(newest.c.received_at, newest.c.id)).all()


def last_received(db: Db, policy_ids: list[str]) -> dict[str, Any]:
    """When each policy's webhook (or execution) was last received."""
    if not policy_ids:
        return {}
    rows = db.execute(
        sa.select(TABLE.c.policy_id, sa.func.max(TABLE.c.received_at))
        .where(TABLE.c.policy_id.in_(policy_ids))
        .group_by(TABLE.c.policy_id)
    ).all()
    return {policy_id: at for policy_id, at in rows}


def open_events(db: Db, group_id: str) -> Sequence[sa.Row]:
    return db.execute(
        sa.select(TABLE.c.id, TABLE.c.steps, TABLE.c.generation, TABLE.c.status).where(
            TABLE.c.group_id == group_id, TABLE.c.status.in_(OPEN)
        )
    ).all()


def settle(
    db: Db,
    group_id: str,
    up_to_generation: int | None,
    state: str,
    step: str,
    *,
    flow_id: str | None = None,
    reason: str | None = None,
) -> int:
    """Close (or advance) the open events a convergence covered; returns how many.

    ``up_to_generation`` None covers every open event.  Each event's log
    gets ``step`` appended (``later_steps``), all of them in one statement:
    this runs with the group's row locked, and a storm coalesces hundreds
    of events into one convergence.
    """
    step = " ".join(step.splitlines())  # one line each: the log is split on line breaks
    values: dict[str, Any] = {
        "status": state,
        "later_steps": sa.case(
            (TABLE.c.later_steps.is_(None), step),
            else_=TABLE.c.later_steps + STEP_SEPARATOR + step,
        ),
    }
    if state in TERMINAL:
        values["finished_at"] = models.utcnow()
    if flow_id is not None:
        values["flow_id"] = flow_id
    if reason is not None:
        values["reason"] = reason
    query = sa.update(TABLE).where(TABLE.c.group_id == group_id, TABLE.c.status.in_(OPEN))
    if up_to_generation is not None:
        query = query.where(sa.func.coalesce(TABLE.c.generation, 0) <= up_to_generation)
    return int(db.execute(query.values(**values)).rowcount)


def all_steps(row: Any) -> list[str]:
    """An event's whole log: its decision, then what its convergence did."""
    later = getattr(row, "later_steps", None)
    return [*(row.steps or []), *(later.split(STEP_SEPARATOR) if later else [])]
