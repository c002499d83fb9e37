"""Payload checks: every malformed field is refused with its name, before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from flowstack import exceptions
from flowstack.rpc import payload
from flowstack.rpc.manager import EngineManager

CREATE = EngineManager.create_stack.rpc_fields
EVENTS = EngineManager.list_events.rpc_fields


def _refused(fields: Any, values: dict[str, Any]) -> exceptions.InvalidRequest:
    with pytest.raises(exceptions.InvalidRequest) as caught:
        payload.check("m", values, fields)
    return caught.value


def test_defaults_fill_what_was_left_out() -> None:
    assert payload.check("create_stack", {"name": "web", "template": "t"}, CREATE) == {
        "name": "web",
        "template": "t",
        "parameters": None,
        "disable_rollback": False,
        "timeout_mins": None,
    }


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"template": "t"}, "name", "m: field 'name' is required"),
        ({"name": "web"}, "template", "m: field 'template' is required"),
        ({"name": "web", "template": 5}, "template", "must be a string, not an integer"),
        ({"name": "web", "template": None}, "template", "must be a string, not null"),
        ({"name": ["web"], "template": "t"}, "name", "must be a string, not an array"),
        ({"name": "x" * 256, "template": "t"}, "name", "is longer than 255 characters"),
        (
            {"name": "web", "template": "t", "parameters": "a=b"},
            "parameters",
            "must be an object, not a string",
        ),
        (
            {"name": "web", "template": "t", "disable_rollback": "yes"},
            "disable_rollback",
            "must be a boolean",
        ),
        (
            {"name": "web", "template": "t", "timeout_mins": True},
            "timeout_mins",
            "must be an integer, not a boolean",
        ),
        (
            {"name": "web", "template": "t", "timeout_mins": 0},
            "timeout_mins",
            "must be at least 1",
        ),
        (
            {"name": "web", "template": "t", "colour": "blue"},
            "colour",
            "m: unexpected field 'colour'",
        ),
    ],
)
def test_create_stack_payloads_refused(values: dict[str, Any], field: str, message: str) -> None:
    refused = _refused(CREATE, values)
    assert refused.kwargs["field"] == field
    assert message in str(refused)
    assert f"'{field}'" in str(refused)


def test_event_filters() -> None:
    assert payload.check("m", {"stack": "s", "after_id": 0}, EVENTS)["after_id"] == 0
    assert "at least 0" in str(_refused(EVENTS, {"stack": "s", "after_id": -1}))
    assert "at least 1" in str(_refused(EVENTS, {"stack": "s", "limit": 0}))
