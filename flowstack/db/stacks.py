"""Queries and updates of the stacks table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from oslo_db import exception as db_exc
from sqlalchemy import orm

from flowstack import exceptions, status
from flowstack.db import models


def create(session: orm.Session, **values: Any) -> models.Stack:
    """Insert a stack; its name must be free among the project's live stacks."""
    stack = models.Stack(**values)
    session.add(stack)
    try:
        session.flush()
    except db_exc.DBDuplicateEntry:
        raise exceptions.StackExists(name=values["name"]) from None
    return stack


def get(session: orm.Session, project_id: str, name_or_id: str) -> models.Stack:
    """A stack of the project by id (even deleted) or by name (live only).

    Another project's stack is reported exactly like a missing one.
    """
    query = sa.select(models.Stack).where(models.Stack.project_id == project_id)
    stack = session.scalars(query.where(models.Stack.id == name_or_id)).first()
    if stack is None:
        stack = session.scalars(
            query.where(models.Stack.name == name_or_id, models.Stack.deleted_id == "")
        ).first()
    if stack is None:
        raise exceptions.StackNotFound(name_or_id=name_or_id)
    return stack


def get_by_id(session: orm.Session, stack_id: str) -> models.Stack:
    """A stack by id, for the engine's own use (no project scope)."""
    stack = session.get(models.Stack, stack_id)
    if stack is None:
        raise exceptions.StackNotFound(name_or_id=stack_id)
    return stack


def status_of(connection: sa.Connection | orm.Session, stack_id: str) -> sa.Row | None:
    """(action, status) of a stack, or None if it is gone."""
    table = models.Stack.__table__
    return connection.execute(
        sa.select(table.c.action, table.c.status).where(table.c.id == stack_id)
    ).first()


def insert_nested(
    connection: sa.Connection,
    *,
    stack_id: str,
    parent: Any,
    resource_name: str,
    template: Any,
    secret_parameters: str | None,
    reason: str,
    files: dict[str, str] | None = None,
) -> None:
    """The CREATE_IN_PROGRESS row of a resource's nested stack (a group's, a template's).

    ``parent``: the owning stack's id, name and project_id.  Its parameters
    are all kept encrypted: they are property values, which may be secrets.
    """
    connection.execute(
        sa.insert(models.Stack.__table__).values(
            id=stack_id,
            name=f"{parent.name}-{resource_name}-{stack_id[:8]}"[:255],
            project_id=parent.project_id,
            action=status.CREATE,
            status=status.IN_PROGRESS,
            status_reason=reason,
            template=template,
            parameters={},
            secret_parameters=secret_parameters,
            disable_rollback=False,
            parent_id=parent.id,
            parent_resource=resource_name,
            files=files,
        )
    )


def get_by_id_row(connection: sa.Connection | orm.Session, stack_id: str) -> sa.Row:
    """A stack's columns by id, without an ORM session (tasks use connections)."""
    table = models.Stack.__table__
    row = connection.execute(sa.select(table).where(table.c.id == stack_id)).first()
    if row is None:
        raise exceptions.StackNotFound(name_or_id=stack_id)
    return row


def update_template(connection: sa.Connection | orm.Session, stack_id: str, data: Any) -> None:
    """A scaling group's nested stack gains or loses members."""
    table = models.Stack.__table__
    connection.execute(
        sa.update(table)
        .where(table.c.id == stack_id)
        .values(template=data, updated_at=models.utcnow())
    )


def update_outputs(
    connection: sa.Connection | orm.Session, stack_id: str, listing: Any, secret_values: str
) -> None:
    """Outputs change when a scaling group of the stack changes size."""
    table = models.Stack.__table__
    connection.execute(
        sa.update(table)
        .where(table.c.id == stack_id)
        .values(outputs=listing, secret_outputs=secret_values)
    )


def list_live(session: orm.Session, project_id: str) -> Sequence[models.Stack]:
    """Top-level live stacks (a scaling group's nested stack is shown with its group)."""
    query = (
        sa.select(models.Stack)
        .where(
            models.Stack.project_id == project_id,
            models.Stack.deleted_id == "",
            models.Stack.parent_id.is_(None),
        )
        .order_by(models.Stack.created_at, models.Stack.name)
    )
    return session.scalars(query).all()


def set_status(
    session: orm.Session,
    stack_id: str,
    action: str,
    state: str,
    reason: str,
    *,
    only_if: tuple[str, str] | None = None,
    **values: Any,
) -> bool:
    """Move a stack to ``action``/``state``; False if ``only_if`` did not match.

    ``only_if`` (action, status) makes the change a compare-and-set, so that
    concurrent tasks reporting the same failure keep the first reason.
    """
    query = sa.update(models.Stack).where(models.Stack.id == stack_id)
    if only_if is not None:
        query = query.where(models.Stack.action == only_if[0], models.Stack.status == only_if[1])
    result = session.execute(
        query.values(
            action=action,
            status=state,
            status_reason=reason,
            updated_at=models.utcnow(),
            **values,
        ),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount == 1


def mark_deleted(session: orm.Session, stack_id: str, reason: str) -> None:
    """DELETE_COMPLETE: the row stays (for its events) but frees its name."""
    now = models.utcnow()
    session.execute(
        sa.update(models.Stack)
        .where(models.Stack.id == stack_id)
        .values(
            action=status.DELETE,
            status=status.COMPLETE,
            status_reason=reason,
            deleted_at=now,
            updated_at=now,
            deleted_id=stack_id,
        ),
        execution_options={"synchronize_session": False},
    )
