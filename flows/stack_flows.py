"""Flow factories for stacks: pure composition, no I/O.

A stack's ``plan`` is a JSON-safe list, one entry per resource::

    {"name": "web", "type": "OS::Nova::Server", "needs": ["db"],
     "create_polls": true, "delete_polls": true}

``needs`` are the resources it references or ``depends_on``.  Edges of the
graph come from what tasks require and provide (``flows.keys``), so one
``add`` builds the whole graph in linear time.

A scaling group's entry also has ``"group": {"id", "members", "create_polls",
"delete_polls", "parts"}``: its members (resources of the group's nested
stack) are created after the group is recorded and before it counts as
created, and deleted before it is.  A template resource's entry (and a
group's whose members are template resources) has ``"parts"``, the plan of
the template's own resources (see ``flows.units``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from taskflow import flow as tf_flow
from taskflow.patterns import graph_flow, linear_flow

from flows import keys, units
from flows.tasks import group_tasks, resource_tasks, stack_tasks

Plan = list[Mapping[str, Any]]


def create_stack(stack_id: str, plan: Plan, deadline: float) -> tf_flow.Flow:
    """Create every resource in dependency order, in parallel where independent.

    On failure the whole graph reverts: created resources are deleted in
    reverse dependency order (unless the stack disabled rollback).
    """
    graph = graph_flow.Flow("create-resources")
    graph.add(*(_create_resource(stack_id, item, deadline) for item in plan))
    return linear_flow.Flow(f"create-stack-{stack_id}").add(
        stack_tasks.StackCreateLifecycle(stack_id),
        graph,
        stack_tasks.CompleteStackCreate(stack_id),
    )


def delete_stack(stack_id: str, plan: Plan, deadline: float) -> tf_flow.Flow:
    """Delete every resource after the resources that depend on it."""
    return linear_flow.Flow(f"delete-stack-{stack_id}").add(
        stack_tasks.StackDeleteLifecycle(stack_id),
        _delete_graph(stack_id, plan, deadline),
        stack_tasks.CompleteStackDelete(stack_id),
    )


def rollback_stack(stack_id: str, plan: Plan, deadline: float) -> tf_flow.Flow:
    """Remove what a failed create left (an operator's ``flow revert``).

    The same graph as a delete, but the stack stays, ROLLBACK_COMPLETE.
    """
    return linear_flow.Flow(f"rollback-stack-{stack_id}").add(
        stack_tasks.StackRollbackLifecycle(stack_id),
        _delete_graph(stack_id, plan, deadline),
        stack_tasks.CompleteStackRollback(stack_id),
    )


def _delete_graph(stack_id: str, plan: Plan, deadline: float) -> graph_flow.Flow:
    dependents = units.dependents_of(plan)
    graph = graph_flow.Flow("delete-resources")
    return graph.add(
        *(_delete_resource(stack_id, item, dependents[item["name"]], deadline) for item in plan)
    )


def _create_resource(stack_id: str, item: Mapping[str, Any], deadline: float) -> tf_flow.Flow:
    if "group" in item:
        return _create_group(stack_id, item, deadline)
    return units.create_unit(
        stack_id,
        item["name"],
        list(item["needs"]),
        deadline,
        polls=item["create_polls"],
        parts=item.get("parts"),
    )


def _create_group(stack_id: str, item: Mapping[str, Any], deadline: float) -> tf_flow.Flow:
    """Record the group, create its first members in parallel, then complete it."""
    name, group = item["name"], item["group"]
    labels = [keys.member_label(name, m) for m in group["members"]]
    flow = linear_flow.Flow(f"resource-create-{name}")
    flow.add(
        resource_tasks.CreateResource(
            stack_id, name, list(item["needs"]), deadline, polls=True, provides=keys.group(name)
        )
    )
    if labels:
        members = graph_flow.Flow(f"create-members-{name}")
        members.add(
            *(
                units.create_unit(
                    group["id"],
                    member,
                    [],
                    deadline,
                    polls=group["create_polls"],
                    parts=group.get("parts"),
                    label=label,
                    after=[keys.group(name)],
                )
                for member, label in zip(group["members"], labels, strict=True)
            )
        )
        flow.add(members)
    flow.add(
        group_tasks.CompleteGroupCreate(
            stack_id, name, group["id"], [keys.resource(label) for label in labels]
        )
    )
    return flow


def _delete_resource(
    stack_id: str, item: Mapping[str, Any], dependents: list[str], deadline: float
) -> tf_flow.Flow:
    name = item["name"]
    if "group" not in item:
        return units.delete_unit(
            stack_id,
            name,
            dependents,
            deadline,
            polls=item["delete_polls"],
            parts=item.get("parts"),
        )
    group = item["group"]
    flow = linear_flow.Flow(f"resource-delete-{name}")
    if group["members"]:
        members = graph_flow.Flow(f"delete-members-{name}")
        members.add(
            *(
                units.delete_unit(
                    group["id"],
                    member,
                    dependents,
                    deadline,
                    polls=group["delete_polls"],
                    parts=group.get("parts"),
                    label=keys.member_label(name, member),
                )
                for member in group["members"]
            )
        )
        flow.add(members)
    return flow.add(
        resource_tasks.DeleteResource(stack_id, name, dependents, deadline, polls=False)
    )
