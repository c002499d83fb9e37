"""Scaling groups, their policies and their members (rows of the group's nested stack).

Every function takes a Session or a Connection and uses Core statements, so
that the engine (ORM sessions) and tasks (fenced connections) share them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from flowstack import exceptions, status
from flowstack.db import models

Db = orm.Session | sa.Connection
GROUPS = models.ScalingGroup.__table__
POLICIES = models.ScalingPolicy.__table__
STACKS = models.Stack.__table__
RESOURCES = models.Resource.__table__

# Group statuses (the group itself; its members have resource statuses).
CREATING = "CREATING"
ACTIVE = "ACTIVE"
DELETING = "DELETING"
DELETED = "DELETED"
FAILED = "FAILED"

MEMBER_PREFIX = "member-"
_MEMBER_RE = re.compile(r"^member-(\d+)$")
_NAMESPACE = uuid.UUID("8a6f1c1e-3c1b-4d89-9a57-5f2f3f0c6b11")


def nested_stack_id(stack_id: str, resource_name: str) -> str:
    """The group's id (and its nested stack's): the same on every re-execution."""
    return str(uuid.uuid5(_NAMESPACE, f"group:{stack_id}:{resource_name}"))


def policy_id(stack_id: str, resource_name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"policy:{stack_id}:{resource_name}"))


def member_name(index: int) -> str:
    return f"{MEMBER_PREFIX}{index}"


def member_index(name: str) -> int:
    """Creation order of a member (names are never reused)."""
    found = _MEMBER_RE.match(name)
    return int(found.group(1)) if found else 0


def get(db: Db, group_id: str, *, lock: bool = False) -> sa.Row:
    if lock:
        row = db.execute(_LOCK, {"group_id": group_id}).first()
    else:
        row = db.execute(sa.select(GROUPS).where(GROUPS.c.id == group_id)).first()
    if row is None:
        raise exceptions.GroupNotFound(group=group_id)
    return row


def find(db: Db, project_id: str, reference: str) -> sa.Row:
    """A live group of the project by id, ``STACK/RESOURCE``, or unique resource name.

    Another project's group is reported exactly like a missing one.
    """
    live = sa.and_(GROUPS.c.project_id == project_id, GROUPS.c.status != DELETED)
    row = db.execute(sa.select(GROUPS).where(live, GROUPS.c.id == reference)).first()
    if row is not None:
        return row
    stack_ref, _, resource = reference.rpartition("/")
    query = sa.select(GROUPS).join(STACKS, STACKS.c.id == GROUPS.c.stack_id).where(live)
    if stack_ref:
        query = query.where(
            GROUPS.c.resource_name == resource,
            sa.or_(
                STACKS.c.id == stack_ref,
                sa.and_(STACKS.c.name == stack_ref, STACKS.c.deleted_id == ""),
            ),
        )
    else:
        query = query.where(GROUPS.c.resource_name == resource)
    rows = db.execute(query.limit(2)).all()
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise exceptions.InvalidRequest(
            f"several scaling groups are named {reference!r}; use STACK/{reference} or the id",
            field="group",
        )
    raise exceptions.GroupNotFound(group=reference)


def list_live(db: Db, project_id: str, stack_id: str | None = None) -> Sequence[sa.Row]:
    query = sa.select(GROUPS).where(GROUPS.c.project_id == project_id, GROUPS.c.status != DELETED)
    if stack_id is not None:
        query = query.where(GROUPS.c.stack_id == stack_id)
    return db.execute(query.order_by(GROUPS.c.created_at, GROUPS.c.resource_name)).all()


def for_stack(db: Db, stack_id: str, *, lock: bool = False) -> Sequence[sa.Row]:
    query = sa.select(GROUPS).where(GROUPS.c.stack_id == stack_id, GROUPS.c.status != DELETED)
    if lock:
        query = query.with_for_update()
    return db.execute(query.order_by(GROUPS.c.id)).all()


def due_for_check(db: Db, cutoff: Any) -> list[str]:
    """Active, idle, unpaused groups whose members were last checked before ``cutoff``."""
    rows = db.execute(
        sa.select(GROUPS.c.id).where(
            GROUPS.c.status == ACTIVE,
            GROUPS.c.paused.is_(False),
            GROUPS.c.active_flow_id.is_(None),
            sa.or_(GROUPS.c.last_checked_at.is_(None), GROUPS.c.last_checked_at < cutoff),
        )
    ).all()
    return [row.id for row in rows]


def insert(db: Db, **values: Any) -> None:
    db.execute(sa.insert(GROUPS).values(created_at=models.utcnow(), **values))


def update(db: Db, group_id: str, *, only_if_flow: Any = ..., **values: Any) -> bool:
    """Change a group; with ``only_if_flow``, only while that flow is its active one."""
    query = sa.update(GROUPS).where(GROUPS.c.id == group_id)
    if only_if_flow is not ...:
        query = query.where(GROUPS.c.active_flow_id == only_if_flow)
    result = db.execute(query.values(updated_at=models.utcnow(), **values))
    return result.rowcount == 1


# -- members ------------------------------------------------------------------------


def members(db: Db, group_id: str) -> list[sa.Row]:
    """Member rows of the group's nested stack, oldest first; removed ones left out."""
    rows = db.execute(
        sa.select(
            RESOURCES.c.name,
            RESOURCES.c.type,
            RESOURCES.c.action,
            RESOURCES.c.status,
            RESOURCES.c.status_reason,
            RESOURCES.c.physical_id,
            RESOURCES.c.attributes,
            RESOURCES.c.created_at,
        ).where(RESOURCES.c.stack_id == group_id)
    ).all()
    live = [r for r in rows if (r.action, r.status) != (status.DELETE, status.COMPLETE)]
    return sorted(live, key=lambda r: member_index(r.name))


def member_counts(db: Db, group_id: str) -> tuple[int, int]:
    """(members in service, members that exist): what a decision needs, without the rows."""
    rows = db.execute(
        sa.select(RESOURCES.c.action, RESOURCES.c.status, sa.func.count())
        .where(RESOURCES.c.stack_id == group_id)
        .group_by(RESOURCES.c.action, RESOURCES.c.status)
    ).all()
    healthy = sum(n for action, state, n in rows if is_healthy_state(action, state))
    gone = (status.DELETE, status.COMPLETE)
    live = sum(n for action, state, n in rows if (action, state) != gone)
    return healthy, live


def is_healthy_state(action: str, state: str) -> bool:
    return (action, state) == (status.CREATE, status.COMPLETE)


def is_healthy(row: Any) -> bool:
    return (row.action, row.status) == (status.CREATE, status.COMPLETE)


def forget_removed(db: Db, group_id: str) -> list[str]:
    """Drop rows of members deleted for good; returns their names."""
    gone = [
        r.name
        for r in db.execute(
            sa.select(RESOURCES.c.name).where(
                RESOURCES.c.stack_id == group_id,
                RESOURCES.c.action == status.DELETE,
                RESOURCES.c.status == status.COMPLETE,
            )
        ).all()
    ]
    if gone:
        db.execute(
            sa.delete(RESOURCES).where(RESOURCES.c.stack_id == group_id, RESOURCES.c.name.in_(gone))
        )
    return gone


# -- policies -------------------------------------------------------------------------


def upsert_policy(db: Db, policy_id_: str, **values: Any) -> None:
    """Create the policy row, or refresh it when its create task runs again."""
    found = db.execute(sa.select(POLICIES.c.id).where(POLICIES.c.id == policy_id_)).first()
    if found is None:
        db.execute(sa.insert(POLICIES).values(id=policy_id_, created_at=models.utcnow(), **values))
    else:
        db.execute(sa.update(POLICIES).where(POLICIES.c.id == policy_id_).values(**values))


def delete_policy(db: Db, policy_id_: str) -> None:
    db.execute(sa.delete(POLICIES).where(POLICIES.c.id == policy_id_))


def get_policy(db: Db, policy_id_: str) -> sa.Row | None:
    return db.execute(sa.select(POLICIES).where(POLICIES.c.id == policy_id_)).first()


# Built once: the webhook path runs them at every call.
_BY_TOKENS = sa.select(POLICIES).where(
    POLICIES.c.token_hash.in_(sa.bindparam("hashes", expanding=True))
)
_BY_IDS = sa.select(POLICIES).where(POLICIES.c.id.in_(sa.bindparam("ids", expanding=True)))
_LOCK = sa.select(GROUPS).where(GROUPS.c.id == sa.bindparam("group_id")).with_for_update()


def policies_by_token(db: Db, hashes: list[str]) -> dict[str, sa.Row]:
    if not hashes:
        return {}
    return {r.token_hash: r for r in db.execute(_BY_TOKENS, {"hashes": sorted(set(hashes))})}


def policies_by_id(db: Db, ids: set[str]) -> dict[str, sa.Row]:
    if not ids:
        return {}
    return {r.id: r for r in db.execute(_BY_IDS, {"ids": sorted(ids)})}


def find_policy(db: Db, project_id: str, stack_id: str | None, reference: str) -> sa.Row:
    query = sa.select(POLICIES).where(POLICIES.c.project_id == project_id)
    row = db.execute(query.where(POLICIES.c.id == reference)).first()
    if row is None and stack_id is not None:
        row = db.execute(
            query.where(POLICIES.c.stack_id == stack_id, POLICIES.c.resource_name == reference)
        ).first()
    if row is None:
        raise exceptions.PolicyNotFound(stack=stack_id or "-", policy=reference)
    return row


def policies_of(db: Db, group_id: str) -> Sequence[sa.Row]:
    return db.execute(
        sa.select(POLICIES)
        .where(POLICIES.c.group_id == group_id)
        .order_by(POLICIES.c.resource_name)
    ).all()


def list_policies(db: Db, project_id: str, stack_id: str | None = None) -> Sequence[sa.Row]:
    query = sa.select(POLICIES).where(POLICIES.c.project_id == project_id)
    if stack_id is not None:
        query = query.where(POLICIES.c.stack_id == stack_id)
    return db.execute(query.order_by(POLICIES.c.created_at, POLICIES.c.resource_name)).all()


def disable_policies(db: Db, stack_id: str) -> None:
    """Webhooks of a stack being deleted stop working at once."""
    db.execute(sa.update(POLICIES).where(POLICIES.c.stack_id == stack_id).values(enabled=False))


def touch_policy(db: Db, policy_id_: str, **values: Any) -> None:
    db.execute(sa.update(POLICIES).where(POLICIES.c.id == policy_id_).values(**values))
