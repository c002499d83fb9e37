"""The events table: one row per transition of a stack or resource."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import orm

from flowstack.db import models

# Built once: a statement executed with a parameter dict hits SQLAlchemy's
# compiled cache directly, where .values(...) per call rebuilt and re-keyed it.
_INSERT = sa.insert(models.Event.__table__)


def add(
    session: orm.Session | sa.Connection,
    stack_id: str,
    action: str,
    state: str,
    reason: str = "",
    *,
    resource_name: str | None = None,
    resource_type: str | None = None,
    physical_id: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Record one transition; ``at`` when it happened earlier than now."""
    session.execute(
        _INSERT,
        {
            "stack_id": stack_id,
            "resource_name": resource_name,
            "resource_type": resource_type,
            "physical_id": physical_id,
            "action": action,
            "status": state,
            "reason": reason,
            "created_at": at or models.utcnow(),
        },
    )


def list_for_stack(
    session: orm.Session,
    stack_id: str,
    *,
    resource_name: str | None = None,
    limit: int | None = None,
    after_id: int | None = None,
) -> Sequence[models.Event]:
    """Events in the order they happened; with ``limit``, the newest ``limit`` of them.

    Ordered by time, then id: an event may be written after later ones when
    a transition is recorded together with the one that followed it.

    ``after_id`` returns only events newer than that one (to follow a stack).
    """
    query = sa.select(models.Event).where(models.Event.stack_id == stack_id)
    if after_id is not None:
        query = query.where(models.Event.id > after_id)
    if resource_name is not None:
        query = query.where(models.Event.resource_name == resource_name)
    if limit is not None:
        newest = query.order_by(models.Event.id.desc()).limit(limit).subquery()
        query = sa.select(models.Event).join(newest, models.Event.id == newest.c.id)
    return session.scalars(query.order_by(models.Event.created_at, models.Event.id)).all()
