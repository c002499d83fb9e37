"""Building and saving the TaskFlow flow details that runners execute.

Two ways to record a flow: :func:`save_flow` writes its TaskFlow flow detail
first (stack create), and :func:`record_flow` writes only a row with the
flow's *spec* (factory and arguments) inside the caller's transaction, for
flows that must exist if and only if that transaction commits (a scale
decision, a delete that locked its groups).  The detail of such a flow is
materialised from its spec by :func:`materialise`, called by whoever runs
it first; it is deterministic, so two callers write the same thing.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
import taskflow.engines
from taskflow import exceptions as tf_exc
from taskflow.persistence import models as tf_models

from flowstack import exceptions, template
from flowstack.db import flow_records as flows
from flowstack.db import groups, models
from flowstack.runtime.container import Runtime

_FLOWS = models.Flow.__table__


def save_flow(
    rt: Runtime, stack_id: str, operation: str, factory: Callable[..., Any], *args: Any
) -> tf_models.FlowDetail:
    """Persist a flow detail whose factory (and its JSON-safe args) any runner can call."""
    book = tf_models.LogBook(f"stack-{stack_id}", uuid=stack_id)
    flow_detail = tf_models.FlowDetail(f"{operation}-stack-{stack_id}", str(uuid.uuid4()))
    flow_detail.meta["operation"] = operation
    taskflow.engines.save_factory_details(flow_detail, factory, list(args), {})
    book.add(flow_detail)
    rt.backend.get_connection().save_logbook(book)
    return flow_detail


def record_flow(
    db: Any,
    stack_id: str,
    project_id: str,
    operation: str,
    factory: Callable[..., Any],
    *args: Any,
) -> str:
    """Insert a PENDING flow with its spec, in the caller's transaction; its id."""
    flow_id = str(uuid.uuid4())
    db.execute(
        sa.insert(_FLOWS).values(
            id=flow_id,
            logbook_id=stack_id,
            stack_id=stack_id,
            project_id=project_id,
            operation=operation,
            state=flows.PENDING,
            epoch=0,
            attempts=0,
            spec={
                "factory": f"{factory.__module__}.{factory.__name__}",
                "args": list(args),
                "name": f"{operation}-stack-{stack_id}",
            },
            created_at=models.utcnow(),
        )
    )
    return flow_id


def materialise(rt: Runtime, flow_id: str) -> None:
    """Write the TaskFlow flow detail of a flow recorded with a spec, if missing."""
    connection = rt.backend.get_connection()
    try:
        connection.get_flow_details(flow_id)
        return
    except tf_exc.NotFound:
        pass
    with rt.db.read_connection() as db:
        row = db.execute(
            sa.select(_FLOWS.c.stack_id, _FLOWS.c.operation, _FLOWS.c.spec).where(
                _FLOWS.c.id == flow_id
            )
        ).first()
    if row is None or not row.spec:
        raise exceptions.FlowNotFound(flow_id=flow_id)
    module, _, name = row.spec["factory"].rpartition(".")
    factory = getattr(importlib.import_module(module), name)
    book = tf_models.LogBook(f"stack-{row.stack_id}", uuid=row.stack_id)
    flow_detail = tf_models.FlowDetail(row.spec["name"], flow_id)
    flow_detail.meta["operation"] = row.operation
    taskflow.engines.save_factory_details(flow_detail, factory, list(row.spec["args"]), {})
    book.add(flow_detail)
    connection.save_logbook(book)


GroupMembers = Mapping[str, Mapping[str, Any]]
"""Per scaling group resource: {"members": [names], "member_type": type}."""


def plan(
    rt: Runtime,
    tmpl: template.Template,
    dependencies: Mapping[str, Any] | None = None,
    *,
    stack_id: str | None = None,
    group_members: GroupMembers | None = None,
    types: template.ResourceTypes | None = None,
) -> list[dict[str, Any]]:
    """The JSON-safe resource plan the flow factories compose from.

    A scaling group's entry names its members (``group_members``: the first
    ones for a create, the current ones for a delete).  A template resource
    (``types`` holds the stack's files) and a group whose members are
    template resources carry the plan of that template's own resources
    (``parts``), which the flow creates and deletes one by one.
    """
    types = types or rt.registry
    if dependencies is None:
        dependencies = template.dependencies(tmpl)
    steps = []
    for name in template.dependency_order(dependencies):
        plugin = types.get(tmpl.resources[name].type)
        step: dict[str, Any] = {
            "name": name,
            "type": plugin.type_name,
            "needs": sorted(dependencies.get(name, ())),
            "create_polls": plugin.create_polls,
            "delete_polls": plugin.delete_polls,
        }
        if plugin.is_template:
            step["parts"] = parts(rt, plugin)
        if plugin.is_group and stack_id is not None:
            found = (group_members or {}).get(name) or {"members": [], "member_type": None}
            member = types.get(found["member_type"]) if found["member_type"] else None
            step["group"] = {
                "id": groups.nested_stack_id(stack_id, name),
                "members": list(found["members"]),
                **member_shape(rt, member),
            }
        steps.append(step)
    return steps


def member_shape(rt: Runtime, member: Any) -> dict[str, Any]:
    """How flows create and delete a group's member: {create_polls, delete_polls, parts}."""
    return {
        "create_polls": bool(member and member.create_polls),
        "delete_polls": bool(member and member.delete_polls),
        "parts": parts(rt, member) if member is not None and member.is_template else None,
    }


def parts(rt: Runtime, plugin: Any) -> list[dict[str, Any]]:
    """The plan of a template resource's own resources (built-in types only)."""
    return plan(rt, plugin.template)


def initial_members(
    rt: Runtime,
    tmpl: template.Template,
    parameters: Mapping[str, Any],
    pseudo_parameters: Mapping[str, str],
    types: template.ResourceTypes | None = None,
) -> dict[str, dict[str, Any]]:
    """The first members of each scaling group, from what is known before the create.

    :raises TemplateInvalid: a group's size or member type depends on another
        resource (the create flow's shape must be known when it is recorded).
    """
    found: dict[str, dict[str, Any]] = {}
    errors: list[exceptions.TemplateError] = []
    for name, resource in tmpl.resources.items():
        plugin = (types or rt.registry).get(resource.type)
        if not plugin.is_group:
            continue
        where = f"resources.{name}.properties"
        static = template.static_properties(tmpl, name, parameters, pseudo_parameters)
        size = plugin.initial_size(static)
        member = static.get("resource")
        member_type = member.get("type") if isinstance(member, dict) else None
        if size is None:
            errors.append(
                exceptions.TemplateError(
                    f"{where}.desired_capacity",
                    "desired_capacity (or min_size) must be a number or come from a "
                    "parameter: it cannot depend on another resource",
                )
            )
        if not isinstance(member_type, str):
            errors.append(
                exceptions.TemplateError(
                    f"{where}.resource.type", "the member type must be known before the create"
                )
            )
        for other in tmpl.resources:
            if other.startswith(f"{name}/"):
                errors.append(
                    exceptions.TemplateError(
                        f"resources.{other}",
                        f"names starting with {name}/ are reserved for the members of "
                        f"group {name!r}",
                    )
                )
        if size is not None and isinstance(member_type, str):
            found[name] = {
                "members": [groups.member_name(i) for i in range(1, size + 1)],
                "member_type": member_type,
            }
    if errors:
        raise exceptions.TemplateInvalid(errors=tmpl.with_lines(errors))
    return found


def current_members(db: Any, stack_id: str) -> dict[str, dict[str, Any]]:
    """The members each scaling group of a stack has now (for a delete or rollback)."""
    return {
        group.resource_name: {
            "members": [row.name for row in groups.members(db, group.id)],
            "member_type": group.member_type,
        }
        for group in groups.for_stack(db, stack_id)
    }
