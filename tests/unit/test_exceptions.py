"""The exception tree: messages, values, and the round trip through oslo.messaging."""

from __future__ import annotations

import copy
import inspect
import json
import pickle
import sys

import pytest
from oslo_messaging._drivers import common as rpc_common

from flowstack import exceptions
from flowstack.exceptions import TemplateError
from flowstack.rpc import client as rpc_client

TWO_ERRORS = [
    TemplateError("resources.web.type", "unknown resource type 'X'", 4),
    TemplateError("parameters", "must be a mapping"),
]

# One instance of every class of the tree, and the message users have always seen.
EXAMPLES = [
    (exceptions.FlowstackError(), "An unexpected flowstack error occurred."),
    (exceptions.InvalidInput("give either an OUTPUT name or --all"), None),
    (
        exceptions.TemplateInvalid(errors=TWO_ERRORS[:1]),
        "Invalid template: resources.web.type (line 4): unknown resource type 'X'",
    ),
    (
        exceptions.TemplateInvalid(errors=TWO_ERRORS),
        "Invalid template (2 errors):\n"
        "  - resources.web.type (line 4): unknown resource type 'X'\n"
        "  - parameters: must be a mapping",
    ),
    (exceptions.InvalidParameterArgument("--parameter 'x': expected KEY=VALUE"), None),
    (exceptions.InvalidRequest("create_stack: field 'name' is required", field="name"), None),
    (exceptions.NotFound("gone"), None),
    (exceptions.StackNotFound(name_or_id="web"), "Stack not found: web"),
    (
        exceptions.IllegalFlowTransition(verb="retry", flow_id="f1", why="it completed"),
        "Cannot retry flow f1: it completed",
    ),
    (exceptions.FlowCancelled(flow_id="f1", by="alice"), "Flow f1 cancelled by alice"),
    (
        exceptions.ResourceNotFound(stack="s-1", resource="db"),
        "Resource 'db' not found in stack s-1",
    ),
    (
        exceptions.OutputNotFound(stack="web", output="url", available=["ip", "dns"]),
        "Output 'url' not found in stack web (outputs: dns, ip)",
    ),
    (
        exceptions.OutputNotFound(stack="web", output="url", available=[]),
        "Output 'url' not found in stack web (outputs: none)",
    ),
    (exceptions.FlowNotFound(flow_id="f-1"), "Flow not found: f-1"),
    (exceptions.GroupNotFound(group="web/asg"), "Scaling group not found: web/asg"),
    (
        exceptions.PolicyNotFound(stack="web", policy="up"),
        "Scaling policy 'up' not found in stack web",
    ),
    (exceptions.WebhookNotFound(), "Webhook not found"),
    (exceptions.ScaleEventNotFound(receipt="r-1"), "Scale event not found: r-1"),
    (
        exceptions.GroupBusy(group="asg", state="scaling", why="wait"),
        "Scaling group 'asg' is scaling: wait",
    ),
    (exceptions.Conflict("Flow f-1 was claimed by another runner"), None),
    (
        exceptions.StackExists(name="web"),
        "A stack named 'web' already exists in this project",
    ),
    (
        exceptions.StackBusy(name="web", status="CREATE_IN_PROGRESS"),
        "Stack 'web' is CREATE_IN_PROGRESS; wait for the running operation to finish",
    ),
    (exceptions.DatabaseUnavailable("Cannot reach sqlite:///x"), None),
    (
        exceptions.ResourceFailure(resource="db", action="CREATE", reason="no valid host"),
        "CREATE of resource 'db' failed: no valid host",
    ),
    (exceptions.ConfigError("[nova] auth_url is not set"), None),
    (exceptions.EngineError("no answer"), None),
    (
        exceptions.EngineUnavailable(method="show_stack", timeout=60),
        "No flowstack-engine answered show_stack within 60 s "
        "(is one running, and is [rpc] call_timeout long enough?)",
    ),
    (exceptions.EngineVersionUnsupported(method="m", version="1.1", where="x"), None),
    (exceptions.EngineInternalError(method="m", error="KeyError", request_id="req-1"), None),
    (
        exceptions.ResolutionError(path="outputs.ip.value", reason="get_attr: no attribute 'x'"),
        "outputs.ip.value: get_attr: no attribute 'x'",
    ),
    (exceptions.FencedOut("flow f-1 was taken over (epoch 3, this runner holds 2)"), None),
    (
        exceptions.TaskFlowIncompatible(version="9.0", supported=">=5.9,<6.6", changed="x (y)"),
        "TaskFlow 9.0 changed internals flowstack relies on: x (y). "
        "Install a supported release (taskflow>=5.9,<6.6)",
    ),
    (exceptions.NovaError("Nova answered HTTP 500: boom"), None),
    (exceptions.NovaTransientError("timed out"), None),
    (exceptions.NovaUnreachable("connection refused"), None),
    (exceptions.NovaRequestError("Invalid flavorRef"), None),
    (exceptions.NovaNotFound("Flavor m1.huge could not be found."), None),
    (exceptions.OctaviaError("Octavia answered HTTP 500: boom"), None),
    (exceptions.OctaviaTransientError("timed out"), None),
    (exceptions.OctaviaRequestError("Invalid input"), None),
    (exceptions.OctaviaNotFound("Pool p-1 could not be found."), None),
    (exceptions.OctaviaConflict("Load Balancer lb-1 is immutable"), None),
]
IDS = [f"{type(e).__name__}-{i}" for i, (e, _) in enumerate(EXAMPLES)]


def _remote(exc: Exception) -> Exception:
    """``exc`` raised in an engine, as an RPC caller receives it."""
    try:
        raise exc
    except Exception:
        data = rpc_common.serialize_remote_exception(sys.exc_info())
    return rpc_common.deserialize_remote_exception(data, rpc_client.ALLOWED_REMOTE_EXMODS)


def test_every_class_has_an_example() -> None:
    classes = {
        cls
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, exceptions.FlowstackError)
    }
    assert classes == {type(e) for e, _ in EXAMPLES}


@pytest.mark.parametrize(("exc", "message"), EXAMPLES, ids=IDS)
def test_messages(exc: exceptions.FlowstackError, message: str | None) -> None:
    if message is not None:
        assert str(exc) == message
    assert exc.args == (str(exc),)
    assert exc.message == str(exc)


@pytest.mark.parametrize(("exc", "message"), EXAMPLES, ids=IDS)
def test_values_are_json_safe(exc: exceptions.FlowstackError, message: str | None) -> None:
    assert json.loads(json.dumps(exc.kwargs)) == exc.kwargs


@pytest.mark.parametrize(("exc", "message"), EXAMPLES, ids=IDS)
def test_round_trip_through_oslo_messaging(
    exc: exceptions.FlowstackError, message: str | None
) -> None:
    received = _remote(exc)
    assert isinstance(received, type(exc))
    assert received.message == str(exc)  # str() also carries the remote traceback
    assert received.kwargs == exc.kwargs
    clean = rpc_client._local(received)
    assert type(clean) is type(exc)
    assert str(clean) == str(exc)
    assert clean.kwargs == exc.kwargs


@pytest.mark.parametrize(("exc", "message"), EXAMPLES, ids=IDS)
def test_copy_and_pickle(exc: exceptions.FlowstackError, message: str | None) -> None:
    for twin in (copy.deepcopy(exc), pickle.loads(pickle.dumps(exc))):  # noqa: S301 - our own bytes
        assert type(twin) is type(exc)
        assert str(twin) == str(exc)
        assert twin.kwargs == exc.kwargs


def test_template_invalid_carries_its_errors_as_values_and_as_dicts() -> None:
    exc = exceptions.TemplateInvalid(errors=TWO_ERRORS)
    assert exc.errors == TWO_ERRORS
    assert exc.kwargs["errors"] == [
        {"path": "resources.web.type", "message": "unknown resource type 'X'", "line": 4},
        {"path": "parameters", "message": "must be a mapping", "line": None},
    ]
    clean = rpc_client._local(_remote(exc))
    assert isinstance(clean, exceptions.TemplateInvalid)
    assert clean.errors == TWO_ERRORS


def test_template_invalid_takes_one_error_or_dicts() -> None:
    assert exceptions.TemplateInvalid(errors=TWO_ERRORS[0]).errors == TWO_ERRORS[:1]
    as_dicts = [e.to_dict() for e in TWO_ERRORS]
    assert exceptions.TemplateInvalid(errors=as_dicts).errors == TWO_ERRORS
    with pytest.raises(ValueError, match="at least one error"):
        exceptions.TemplateInvalid(errors=[])


def test_resource_failure_exposes_its_values() -> None:
    exc = exceptions.ResourceFailure(resource="db", action="DELETE", reason="refused")
    assert (exc.resource, exc.action, exc.reason) == ("db", "DELETE", "refused")


def test_a_missing_value_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="StackNotFound needs the keyword argument 'name_or_id'"):
        exceptions.StackNotFound()


def test_a_message_given_wins_and_values_are_kept() -> None:
    exc = exceptions.StackNotFound("no stack here", name_or_id="web")
    assert str(exc) == "no stack here"
    assert exc.kwargs == {"name_or_id": "web"}
