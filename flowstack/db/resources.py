"""Queries and updates of the resources table, and resource transitions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from flowstack import exceptions, status
from flowstack.db import events, models

_TABLE = models.Resource.__table__
# The SET clause comes from the parameters given at execution; the statement
# object stays the same, so SQLAlchemy's compiled cache serves every call.
_UPDATE = sa.update(_TABLE).where(
    _TABLE.c.stack_id == sa.bindparam("where_stack_id"),
    _TABLE.c.name == sa.bindparam("where_name"),
)


def create_all(session: orm.Session, stack_id: str, types: Iterable[tuple[str, str]]) -> None:
    """One INIT_COMPLETE row per (name, type) of a new stack."""
    now = models.utcnow()
    rows = [
        {
            "stack_id": stack_id,
            "name": name,
            "type": type_name,
            "action": status.INIT,
            "status": status.COMPLETE,
            "status_reason": "",
            "created_at": now,
        }
        for name, type_name in types
    ]
    if rows:
        session.execute(sa.insert(models.Resource), rows)


def get(session: orm.Session, stack_id: str, name: str) -> models.Resource:
    row = session.scalars(
        sa.select(models.Resource).where(
            models.Resource.stack_id == stack_id, models.Resource.name == name
        )
    ).first()
    if row is None:
        raise exceptions.ResourceNotFound(stack=stack_id, resource=name)
    return row


def get_state(connection: sa.Connection, stack_id: str, name: str) -> sa.Row:
    """The columns a task needs to act on a resource, without an ORM session."""
    table = models.Resource.__table__
    row = connection.execute(
        sa.select(
            table.c.type,
            table.c.action,
            table.c.status,
            table.c.status_reason,
            table.c.physical_id,
            table.c.attributes,
            table.c.secret_data,
        ).where(table.c.stack_id == stack_id, table.c.name == name)
    ).first()
    if row is None:
        raise exceptions.ResourceNotFound(stack=stack_id, resource=name)
    return row


def list_for_stack(session: orm.Session, stack_id: str) -> Sequence[models.Resource]:
    return session.scalars(
        sa.select(models.Resource)
        .where(models.Resource.stack_id == stack_id)
        .order_by(models.Resource.id)
    ).all()


def transition(
    session: orm.Session | sa.Connection,
    stack_id: str,
    name: str,
    type_name: str,
    action: str,
    state: str,
    reason: str = "",
    *,
    at: dt.datetime | None = None,
    **values: Any,
) -> None:
    """Move a resource to ``action``/``state`` and record the event.

    ``values`` may set ``physical_id``, ``attributes`` and ``secret_data``;
    ``at`` dates the event when the transition happened before now.
    """
    update(session, stack_id, name, action=action, status=state, status_reason=reason, **values)
    events.add(
        session,
        stack_id,
        action,
        state,
        reason,
        resource_name=name,
        resource_type=type_name,
        physical_id=values.get("physical_id"),
        at=at,
    )


def update(session: orm.Session | sa.Connection, stack_id: str, name: str, **values: Any) -> None:
    """Change columns of a resource without a status transition (no event)."""
    session.execute(
        _UPDATE,
        {"where_stack_id": stack_id, "where_name": name, "updated_at": models.utcnow(), **values},
    )
