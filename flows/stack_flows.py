"""Flow factories for stacks: pure composition, no I/O.

A stack's ``plan`` is a JSON-safe list, one entry per resource::

    {"name": "web", "type": "OS::Nova::Server", "needs": ["db"],
     "create_polls": true, "delete_polls": true}

``needs`` are the resources it references or ``depends_on``.  Edges of the
graph come from what tasks require and provide (``flows.keys``), so one
``add`` builds the whole graph in linear time.

A scaling group's entry also has ``"group": {"id", "members", "create_polls",
"delete_polls"}``: its members (resources of the group's nested stack) are
created after the group is recorded and before it counts as created, and
deleted before it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from taskflow import flow as tf_flow
from taskflow.patterns import graph_flow, linear_flow

from flows import keys
from flows.tasks import group_tasks, resource_tasks, stack_tasks
from flows.tasks.retries import PollUntilReady

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
    dependents = _dependents(plan)
    graph = graph_flow.Flow("delete-resources")
    return graph.add(
        *(_delete_resource(stack_id, item, dependents[item["name"]], deadline) for item in plan)
    )


def _create_resource(stack_id: str, item: Mapping[str, Any], deadline: float) -> tf_flow.Flow:
    if "group" in item:
        return _create_group(stack_id, item, deadline)
    return create_resource(
        stack_id, item["name"], list(item["needs"]), deadline, polls=item["create_polls"]
    )


def create_resource(
    stack_id: str,
    name: str,
    needs: list[str],
    deadline: float,
    *,
    polls: bool,
    label: str | None = None,
    after: list[str] | None = None,
) -> tf_flow.Flow:
    """Create one resource (start, then poll until ready when its type polls)."""
    label = label or name
    create = resource_tasks.CreateResource(
        stack_id, name, needs, deadline, polls=polls, label=label, after=after
    )
    if not polls:
        return create
    wait = linear_flow.Flow(f"wait-create-{label}", retry=PollUntilReady(f"poll-create:{label}"))
    wait.add(resource_tasks.WaitForCreate(stack_id, name, deadline, label=label))
    return linear_flow.Flow(f"resource-create-{label}").add(create, wait)


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
                create_resource(
                    group["id"],
                    member,
                    [],
                    deadline,
                    polls=group["create_polls"],
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


def delete_resource(
    stack_id: str,
    name: str,
    dependents: list[str],
    deadline: float,
    *,
    polls: bool,
    label: str | None = None,
) -> tf_flow.Flow:
    """Delete one resource (start, then poll until gone when its type polls)."""
    label = label or name
    delete = resource_tasks.DeleteResource(
        stack_id, name, dependents, deadline, polls=polls, label=label
    )
    if not polls:
        return delete
    wait = linear_flow.Flow(f"wait-delete-{label}", retry=PollUntilReady(f"poll-delete:{label}"))
    wait.add(resource_tasks.WaitForDelete(stack_id, name, deadline, label=label))
    return linear_flow.Flow(f"resource-delete-{label}").add(delete, wait)


def _delete_resource(
    stack_id: str, item: Mapping[str, Any], dependents: list[str], deadline: float
) -> tf_flow.Flow:
    name = item["name"]
    if "group" not in item:
        return delete_resource(stack_id, name, dependents, deadline, polls=item["delete_polls"])
    group = item["group"]
    flow = linear_flow.Flow(f"resource-delete-{name}")
    if group["members"]:
        members = graph_flow.Flow(f"delete-members-{name}")
        members.add(
            *(
                delete_resource(
                    group["id"],
                    member,
                    dependents,
                    deadline,
                    polls=group["delete_polls"],
                    label=keys.member_label(name, member),
                )
                for member in group["members"]
            )
        )
        flow.add(members)
    return flow.add(
        resource_tasks.DeleteResource(stack_id, name, dependents, deadline, polls=False)
    )


def _dependents(plan: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    plan = list(plan)
    result: dict[str, list[str]] = {item["name"]: [] for item in plan}
    for item in plan:
        for needed in item["needs"]:
            result[needed].append(item["name"])
    return result
