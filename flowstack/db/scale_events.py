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


_SETTLE_CHUNK = 400  # ids per UPDATE: three bound values each, well under any driver's limit


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

    ``up_to_generation`` None covers every open event.  Each event's decision
    log gets ``step`` appended.
    """
    rows = [
        r
        for r in open_events(db, group_id)
        if up_to_generation is None or (r.generation or 0) <= up_to_generation
    ]
    if not rows:
        return 0
    # A storm coalesces hundreds of events into one convergence, and this runs
    # with the group's row locked: one UPDATE per chunk, each event's new log
    # chosen by a CASE on its id (executemany is a round trip per row here).
    values: dict[str, Any] = {"status": state}
    if state in TERMINAL:
        values["finished_at"] = models.utcnow()
    if flow_id is not None:
        values["flow_id"] = flow_id
    if reason is not None:
        values["reason"] = reason
    steps_type = TABLE.c.steps.type
    for start in range(0, len(rows), _SETTLE_CHUNK):
        chunk = rows[start : start + _SETTLE_CHUNK]
        new_steps = {
            row.id: sa.bindparam(None, [*(row.steps or []), step], type_=steps_type)
            for row in chunk
        }
        db.execute(
            sa.update(TABLE)
            .where(TABLE.c.id.in_(list(new_steps)))
            .values(steps=sa.case(new_steps, value=TABLE.c.id), **values)
        )
    return len(rows)
