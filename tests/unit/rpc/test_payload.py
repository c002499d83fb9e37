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
        "files": None,
    }


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"template": "t"}, "name", "m: field 'name' is required"),
        ({"name": "web"}, "template", "m: field 'template' is required"),
        ({"name": "web", "template": 5}, "template", "must be a string, not an integer"),
        ({"name": "web", "template": "t", "files": ["a.yaml"]}, "files", "not an array"),
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


# -- 1.2: autoscaling ------------------------------------------------------------------

RESIZE = EngineManager.resize_group.rpc_fields
EXPLAIN = EngineManager.explain_group.rpc_fields
SCALE_EVENTS = EngineManager.list_scale_events.rpc_fields
SIGNAL = EngineManager.signal_webhook.rpc_fields
TOKEN_HASH = "0123456789abcdef" * 4
SIGNALLED = {"token_hash": TOKEN_HASH, "source": "webhook", "details": {"alarm": "cpu_high"}}


def test_scaling_defaults() -> None:
    assert payload.check("resize_group", {"group": "web/asg", "capacity": 0}, RESIZE) == {
        "group": "web/asg",
        "capacity": 0,
        "idempotency_key": None,
    }
    assert payload.check("explain_group", {"group": "asg"}, EXPLAIN)["limit"] == 20
    assert payload.check("list_scale_events", {}, SCALE_EVENTS) == {"group": None, "limit": 50}
    assert payload.check("list_scale_events", {"limit": 1000}, SCALE_EVENTS)["limit"] == 1000
    assert payload.check("signal_webhook", SIGNALLED, SIGNAL) == {
        **SIGNALLED,
        "idempotency_key": None,
    }


@pytest.mark.parametrize(
    ("fields", "values", "field", "message"),
    [
        (RESIZE, {"group": "g", "capacity": -1}, "capacity", "must be at least 0"),
        (RESIZE, {"group": "g", "capacity": "3"}, "capacity", "must be an integer, not a string"),
        (RESIZE, {"group": "g", "capacity": 2.5}, "capacity", "must be an integer, not a number"),
        (RESIZE, {"group": "g", "capacity": True}, "capacity", "not a boolean"),
        (RESIZE, {"group": "g", "capacity": 2**31}, "capacity", "must be at most 2147483647"),
        (RESIZE, {"group": "g"}, "capacity", "is required"),
        (RESIZE, {"group": "g" * 512, "capacity": 1}, "group", "longer than 511 characters"),
        (
            RESIZE,
            {"group": "g", "capacity": 1, "idempotency_key": "k" * 256},
            "idempotency_key",
            "longer than 255 characters",
        ),
        (EXPLAIN, {"group": "g", "limit": 0}, "limit", "must be at least 1"),
        (EXPLAIN, {"group": "g", "limit": 1001}, "limit", "must be at most 1000"),
        (SCALE_EVENTS, {"limit": "50"}, "limit", "must be an integer"),
        (SCALE_EVENTS, {"limit": 5000}, "limit", "must be at most 1000"),
        (
            SIGNAL,
            {**SIGNALLED, "token_hash": TOKEN_HASH.upper()},
            "token_hash",
            "must be 64 lowercase hexadecimal characters",
        ),
        (SIGNAL, {**SIGNALLED, "token_hash": TOKEN_HASH[:-1]}, "token_hash", "64 lowercase"),
        (SIGNAL, {**SIGNALLED, "token_hash": TOKEN_HASH + "0"}, "token_hash", "64 lowercase"),
        (SIGNAL, {**SIGNALLED, "token_hash": "g" * 64}, "token_hash", "64 lowercase"),
        (SIGNAL, {**SIGNALLED, "token_hash": TOKEN_HASH + "\n"}, "token_hash", "64 lowercase"),
        (SIGNAL, {**SIGNALLED, "token_hash": None}, "token_hash", "must be a string, not null"),
        (SIGNAL, {**SIGNALLED, "source": "s" * 33}, "source", "longer than 32 characters"),
        (SIGNAL, {**SIGNALLED, "details": ["alarm"]}, "details", "must be an object"),
        (SIGNAL, {**SIGNALLED, "details": {1: "x"}}, "details", "must have string keys"),
        (
            SIGNAL,
            {**SIGNALLED, "details": {f"k{i}": i for i in range(33)}},
            "details",
            "longer than 32",
        ),
        (
            SIGNAL,
            {**SIGNALLED, "details": {"body": "x" * 5000}},
            "details",
            "larger than 4096 characters as JSON",
        ),
        (SIGNAL, {**SIGNALLED, "token": "secret"}, "token", "unexpected field 'token'"),
    ],
)
def test_scaling_payloads_refused(
    fields: Any, values: dict[str, Any], field: str, message: str
) -> None:
    refused = _refused(fields, values)
    assert refused.kwargs["field"] == field
    assert message in str(refused)


def test_a_refused_token_hash_is_not_quoted() -> None:
    wrong = "F" * 64
    assert wrong not in str(_refused(SIGNAL, {**SIGNALLED, "token_hash": wrong}))
