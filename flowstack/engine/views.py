"""JSON-safe views of rows, shaped like Heat's API so its users feel at home."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flowstack import status, template
from flowstack.db import models

HIDDEN_VALUE = "******"


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def stack_summary(row: models.Stack) -> dict[str, Any]:
    return {
        "id": row.id,
        "stack_name": row.name,
        "stack_status": status.combined(row.action, row.status),
        "stack_status_reason": row.status_reason,
        "creation_time": _time(row.created_at),
        "updated_time": _time(row.updated_at),
        "deletion_time": _time(row.deleted_at),
        "project": row.project_id,
    }


def stack_detail(row: models.Stack, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    parameters = dict(row.parameters or {})
    if row.secret_parameters:
        declared = template.from_mapping(row.template).parameters
        parameters.update({name: HIDDEN_VALUE for name, p in declared.items() if p.hidden})
    parameters.update(
        {"OS::stack_name": row.name, "OS::stack_id": row.id, "OS::project_id": row.project_id}
    )
    return {
        **stack_summary(row),
        "description": (row.template or {}).get("description", ""),
        "parameters": parameters,
        "outputs": outputs,
        "disable_rollback": row.disable_rollback,
        "timeout_mins": row.timeout_mins,
    }


def resource(row: models.Resource, *, detail: bool = False) -> dict[str, Any]:
    view = {
        "resource_name": row.name,
        "physical_resource_id": row.physical_id or "",
        "resource_type": row.type,
        "resource_status": status.combined(row.action, row.status),
        "resource_status_reason": row.status_reason,
        "updated_time": _time(row.updated_at or row.created_at),
    }
    if detail:
        view["attributes"] = row.attributes or {}
    return view


def event(row: models.Event, stack_name: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "resource_name": row.resource_name or stack_name,
        "resource_type": row.resource_type or "OS::Heat::Stack",
        "physical_resource_id": row.physical_id
        or (row.stack_id if row.resource_name is None else ""),
        "resource_status": status.combined(row.action, row.status),
        "resource_status_reason": row.reason,
        "event_time": _time(row.created_at),
    }


def parameter(schema: template.ParameterSchema) -> dict[str, Any]:
    """A declared parameter as Heat's template-validate shows it."""
    view: dict[str, Any] = {
        "Type": schema.type,
        "Description": schema.description,
        "Label": schema.label or schema.name,
        "NoEcho": "true" if schema.hidden else "false",
    }
    if schema.default is not None:
        view["Default"] = HIDDEN_VALUE if schema.hidden else schema.default
    return view


def validation(tmpl: template.Template, validated: template.ValidatedTemplate) -> dict[str, Any]:
    return {
        "Description": tmpl.description,
        "Parameters": {name: parameter(schema) for name, schema in tmpl.parameters.items()},
        "Resources": sorted(tmpl.resources),
        "Warnings": list(validated.warnings),
    }
