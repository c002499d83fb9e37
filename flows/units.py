"""Sub-flows that create or delete one resource: a plain one, or a template resource.

A plain resource is one task (and a poll until ready or gone when its type
polls).  A template resource (``type: lb_server.yaml``; its plan entry has
``parts``, the plan of the file's own resources) is a nested stack whose
resources are tasks of the same flow::

    create:  create:web            record the nested stack
             web/server, web/member ...   its resources, in dependency order
             wait-create:web       complete: its outputs become attributes

    delete:  web/member, web/server ...   its resources, dependents first
             delete:web            forget the nested stack

so a pool member is created only once its server is ACTIVE and deleted
(drained first) before its server, and a reverted create removes them one
by one in reverse order.  Inside the flow the parts are labelled
``LABEL/NAME``; tasks map those labels back to their nested stack's names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from taskflow import flow as tf_flow
from taskflow.patterns import graph_flow, linear_flow

from flows import keys
from flows.tasks import part_tasks, resource_tasks
from flows.tasks.retries import PollUntilReady
from flowstack.resources.types.template_resource import nested_stack_id

Parts = list[Mapping[str, Any]] | None


def create_resource(
    stack_id: str,
    name: str,
    needs: list[str],
    deadline: float,
    *,
    polls: bool,
    label: str | None = None,
    after: list[str] | None = None,
    scope: str | None = None,
    partial: bool = False,
) -> tf_flow.Flow:
    """Create one resource (start, then poll until ready when its type polls).

    ``partial``: a part of a member whose group keeps partial progress, whose
    failure is handed on instead of raised (``flows.tasks.part_tasks``).
    """
    label = label or name
    create_class = part_tasks.PartCreate if partial else resource_tasks.CreateResource
    create = create_class(
        stack_id, name, needs, deadline, polls=polls, label=label, after=after, scope=scope
    )
    if not polls:
        return create
    wait_class = part_tasks.PartWait if partial else resource_tasks.WaitForCreate
    wait = wait_class(stack_id, name, deadline, label=label)
    return linear_flow.Flow(f"resource-create-{label}").add(create, _polled("create", label, wait))


def delete_resource(
    stack_id: str,
    name: str,
    dependents: list[str],
    deadline: float,
    *,
    polls: bool,
    label: str | None = None,
    after: list[str] | None = None,
    scope: str | None = None,
) -> tf_flow.Flow:
    """Delete one resource (start, then poll until gone when its type polls)."""
    label = label or name
    delete = resource_tasks.DeleteResource(
        stack_id, name, dependents, deadline, polls=polls, label=label, after=after, scope=scope
    )
    if not polls:
        return delete
    wait = resource_tasks.WaitForDelete(
        stack_id, name, deadline, label=label, nested=scope is not None
    )
    return linear_flow.Flow(f"resource-delete-{label}").add(delete, _polled("delete", label, wait))


def create_unit(
    stack_id: str,
    name: str,
    needs: list[str],
    deadline: float,
    *,
    polls: bool,
    parts: Parts,
    label: str | None = None,
    after: list[str] | None = None,
    keep_partial: bool = False,
) -> tf_flow.Flow:
    """Create a resource; a template resource with its own resources in between.

    ``keep_partial`` (a group member whose group keeps partial progress): a
    failed part gives the member up instead of failing the flow (see
    ``flows.tasks.part_tasks``).
    """
    if not parts:
        return create_resource(
            stack_id, name, needs, deadline, polls=polls, label=label, after=after
        )
    label = label or name
    nested = nested_stack_id(stack_id, name)
    inner = graph_flow.Flow(f"parts-create-{label}")
    inner.add(
        *(
            create_resource(
                nested,
                part["name"],
                list(part["needs"]),
                deadline,
                polls=part["create_polls"],
                label=f"{label}/{part['name']}",
                scope=label,
                partial=keep_partial,
            )
            for part in parts
        )
    )
    if keep_partial:
        complete: resource_tasks.WaitForCreate = part_tasks.CompletePartialMember(
            stack_id,
            name,
            deadline,
            [f"{label}/{part['name']}" for part in parts],
            [part["name"] for part in parts],
            nested,
        )
    else:
        complete = resource_tasks.WaitForCreate(stack_id, name, deadline, label=label)
    return linear_flow.Flow(f"unit-create-{label}").add(
        resource_tasks.CreateResource(
            stack_id, name, needs, deadline, polls=True, label=label, after=after
        ),
        inner,
        _polled("create", label, complete),
    )


def delete_unit(
    stack_id: str,
    name: str,
    dependents: list[str],
    deadline: float,
    *,
    polls: bool,
    parts: Parts,
    label: str | None = None,
) -> tf_flow.Flow:
    """Delete a resource; a template resource's own resources first, dependents first."""
    if not parts:
        return delete_resource(stack_id, name, dependents, deadline, polls=polls, label=label)
    label = label or name
    nested = nested_stack_id(stack_id, name)
    # The resources that depend on the template resource go before any of its parts.
    outer = [keys.deleted(d) for d in dependents]
    inner = graph_flow.Flow(f"parts-delete-{label}")
    inner.add(
        *(
            delete_resource(
                nested,
                part["name"],
                part_dependents[part["name"]],
                deadline,
                polls=part["delete_polls"],
                label=f"{label}/{part['name']}",
                after=outer,
                scope=label,
            )
            for part_dependents in [dependents_of(parts)]
            for part in parts
        )
    )
    return linear_flow.Flow(f"unit-delete-{label}").add(
        inner,
        resource_tasks.DeleteResource(
            stack_id, name, dependents, deadline, polls=False, label=label
        ),
    )


def dependents_of(plan: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Resource -> the resources of the plan that need it (they are deleted first)."""
    plan = list(plan)
    result: dict[str, list[str]] = {item["name"]: [] for item in plan}
    for item in plan:
        for needed in item["needs"]:
            result[needed].append(item["name"])
    return result


def _polled(action: str, label: str, task: Any) -> tf_flow.Flow:
    """``task`` polled (it raises ResourceNotReady) until done, each poll checkpointed."""
    retry = PollUntilReady(f"poll-{action}:{label}")
    return linear_flow.Flow(f"wait-{action}-{label}", retry=retry).add(task)
