"""Flow factories for stacks: pure composition, no I/O.

A stack's ``plan`` is a JSON-safe list, one entry per resource::

    {"name": "web", "type": "OS::Nova::Server", "needs": ["db"],
     "create_polls": true, "delete_polls": true}

``needs`` are the resources it references or ``depends_on``.  Edges of the
graph come from what tasks require and provide (``flows.keys``), so one
``add`` builds the whole graph in linear time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from taskflow import flow as tf_flow
from taskflow.patterns import graph_flow, linear_flow

from flows.tasks import resource_tasks, stack_tasks
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
    name = item["name"]
    create = resource_tasks.CreateResource(
        stack_id, name, list(item["needs"]), deadline, polls=item["create_polls"]
    )
    if not item["create_polls"]:
        return create
    wait = linear_flow.Flow(f"wait-create-{name}", retry=PollUntilReady(f"poll-create:{name}"))
    wait.add(resource_tasks.WaitForCreate(stack_id, name, deadline))
    return linear_flow.Flow(f"resource-create-{name}").add(create, wait)


def _delete_resource(
    stack_id: str, item: Mapping[str, Any], dependents: list[str], deadline: float
) -> tf_flow.Flow:
    name = item["name"]
    delete = resource_tasks.DeleteResource(
        stack_id, name, dependents, deadline, polls=item["delete_polls"]
    )
    if not item["delete_polls"]:
        return delete
    wait = linear_flow.Flow(f"wait-delete-{name}", retry=PollUntilReady(f"poll-delete:{name}"))
    wait.add(resource_tasks.WaitForDelete(stack_id, name, deadline))
    return linear_flow.Flow(f"resource-delete-{name}").add(delete, wait)


def _dependents(plan: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    plan = list(plan)
    result: dict[str, list[str]] = {item["name"]: [] for item in plan}
    for item in plan:
        for needed in item["needs"]:
            result[needed].append(item["name"])
    return result
