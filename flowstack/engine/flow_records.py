"""Building and saving the TaskFlow flow details that runners execute."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import taskflow.engines
from taskflow.persistence import models as tf_models

from flowstack import template
from flowstack.engine.runtime import Runtime


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


def plan(
    rt: Runtime, tmpl: template.Template, dependencies: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The JSON-safe resource plan the flow factories compose from."""
    if dependencies is None:
        dependencies = template.dependencies(tmpl)
    steps = []
    for name in template.dependency_order(dependencies):
        plugin = rt.registry.get(tmpl.resources[name].type)
        steps.append(
            {
                "name": name,
                "type": plugin.type_name,
                "needs": sorted(dependencies.get(name, ())),
                "create_polls": plugin.create_polls,
                "delete_polls": plugin.delete_polls,
            }
        )
    return steps
