"""What the scaling resource types record in flowstack's own database.

A group and a policy have nothing remote to create: their "physical"
objects are rows here (the group, its nested stack, its policies).  Each
change is a fenced write on behalf of the stack's running flow, and each is
idempotent, because a task re-executed after a crash runs it again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from flowstack import exceptions, status
from flowstack.autoscaling import member_stack as nested
from flowstack.db import events, groups, models, resources, stacks
from flowstack.resources.base import Resource
from flowstack.resources.host import ResourceHost


def create_group(plugin: Resource, properties: dict[str, Any]) -> str:
    """Record the group, its nested stack and its first members (not created yet)."""
    host = plugin.host
    group_id = groups.nested_stack_id(plugin.stack.id, plugin.name)
    member = properties["resource"]
    member_type = member["type"]
    member_properties = dict(member.get("properties") or {})
    size = _initial_size(properties)
    names = [groups.member_name(i) for i in range(1, size + 1)]
    rolling = properties.get("rolling_updates") or {}
    with host.write(plugin.stack.id) as connection:
        existing = connection.execute(
            sa.select(groups.GROUPS.c.id).where(groups.GROUPS.c.id == group_id)
        ).first()
        if existing is not None:
            return group_id  # re-executed after a crash: recorded already
        reason = f"Creating {size} member(s)"
        stacks.insert_nested(
            connection,
            stack_id=group_id,
            parent=plugin.stack,
            resource_name=plugin.name,
            template=nested.member_template(member_type, member_properties, names),
            secret_parameters=(
                host.secrets.encrypt(member_properties) if member_properties else None
            ),
            reason=reason,
            files=_member_files(host, plugin.stack.id, member_type),
        )
        events.add(connection, group_id, status.CREATE, status.IN_PROGRESS, reason)
        groups.insert(
            connection,
            id=group_id,
            stack_id=plugin.stack.id,
            resource_name=plugin.name,
            project_id=plugin.stack.project_id,
            status=groups.CREATING,
            paused=False,
            min_size=properties["min_size"],
            max_size=properties["max_size"],
            desired_capacity=size,
            cooldown=properties.get("cooldown") or 0,
            generation=1,
            converged_generation=0,
            next_index=size + 1,
            member_type=member_type,
            removal_policy=properties.get("removal_policy") or "oldest_first",
            keep_partial_progress=bool(properties.get("keep_partial_progress")),
            rolling_updates=dict(rolling),
        )
        resources.create_all(connection, group_id, ((name, member_type) for name in names))
    return group_id


def complete_group(host: ResourceHost, stack_id: str, group_id: str) -> None:
    """The first members exist: the group is ACTIVE and policies may act on it."""
    reason = "Stack CREATE completed successfully"
    with host.write(stack_id) as connection:
        group = groups.get(connection, group_id)
        if group.status != groups.CREATING:
            return
        groups.update(
            connection,
            group_id,
            status=groups.ACTIVE,
            converged_generation=group.generation,
            # Its members were just built and checked: the first periodic
            # health check comes one interval from now.
            last_checked_at=models.utcnow(),
        )
        stacks.set_status(connection, group_id, status.CREATE, status.COMPLETE, reason)
        events.add(connection, group_id, status.CREATE, status.COMPLETE, reason)


def delete_group(plugin: Resource) -> None:
    """Forget a group whose members are all gone; refuse while one remains."""
    host = plugin.host
    group_id = plugin.physical_id or groups.nested_stack_id(plugin.stack.id, plugin.name)
    with host.write(plugin.stack.id) as connection:
        try:
            group = groups.get(connection, group_id, lock=True)
        except exceptions.GroupNotFound:
            return
        if group.status == groups.DELETED:
            return
        left = groups.members(connection, group_id)
        if left:
            listing = ", ".join(
                f"{r.name} ({status.combined(r.action, r.status)})" for r in left[:5]
            )
            raise exceptions.ResourceFailure(
                resource=plugin.name,
                action=status.DELETE,
                reason=f"{len(left)} member(s) still exist: {listing}",
            )
        groups.forget_removed(connection, group_id)
        groups.update(connection, group_id, status=groups.DELETED, active_flow_id=None)
        connection.execute(
            sa.update(groups.POLICIES)
            .where(groups.POLICIES.c.group_id == group_id)
            .values(enabled=False)
        )
        stacks.mark_deleted(connection, group_id, "Group deleted")
        events.add(connection, group_id, status.DELETE, status.COMPLETE, "Group deleted")


def healthy_members(host: ResourceHost, group_id: str) -> list[Any]:
    with host.db.read_connection() as connection:
        return [r for r in groups.members(connection, group_id) if groups.is_healthy(r)]


def _member_files(host: ResourceHost, stack_id: str, member_type: str) -> dict[str, str] | None:
    """A member that is a template file takes that file along into the nested stack."""
    files = host.stack_files(stack_id)
    return {member_type: files[member_type]} if member_type in files else None


def _initial_size(properties: dict[str, Any]) -> int:
    desired = properties.get("desired_capacity")
    return int(properties["min_size"] if desired is None else desired)
