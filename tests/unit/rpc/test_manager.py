"""The manager checks each payload, then hands the call to the service with its context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import oslo_messaging
import pytest

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.rpc.manager import EngineManager

TOKEN_HASH = "ab" * 32


class RecordingService:
    """A part of the engine that records each call and answers with what it was asked."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.failure = failure

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if self.failure is not None:
                raise self.failure
            return {"called": name}

        return call


class RecordingEngine:
    """An Engine whose parts record their calls in one list."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.stacks = self.scaling = self.repair = RecordingService(failure)
        self.rt = None

    @property
    def calls(self) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        return self.scaling.calls


def _sent_back(call: Callable[[], Any]) -> BaseException | None:
    """The error the caller gets: the dispatcher unwraps what the endpoint marks expected."""
    with pytest.raises(oslo_messaging.ExpectedException) as caught:
        call()
    return caught.value.exc_info[1]


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(project_id="project-a", user_id="alice")


@pytest.mark.parametrize(
    ("method", "sent", "args", "kwargs"),
    [
        ("list_groups", {}, (), {"stack": None}),
        ("list_groups", {"stack": "web"}, (), {"stack": "web"}),
        ("show_group", {"group": "web/asg"}, ("web/asg",), {}),
        (
            "resize_group",
            {"group": "asg", "capacity": 3, "idempotency_key": "k1"},
            ("asg", 3),
            {"idempotency_key": "k1"},
        ),
        ("resize_group", {"group": "asg", "capacity": 0}, ("asg", 0), {"idempotency_key": None}),
        ("pause_group", {"group": "asg"}, ("asg",), {}),
        ("resume_group", {"group": "asg"}, ("asg",), {}),
        ("explain_group", {"group": "asg"}, ("asg",), {"limit": 20}),
        ("explain_group", {"group": "asg", "limit": 5}, ("asg",), {"limit": 5}),
        (
            "execute_policy",
            {"stack": "web", "policy": "scale_up"},
            ("web", "scale_up"),
            {"idempotency_key": None},
        ),
        ("list_webhooks", {"stack": "web"}, (), {"stack": "web"}),
        ("show_webhook", {"webhook": "w-1"}, ("w-1",), {}),
        ("list_scale_events", {}, (), {"group": None, "limit": 50}),
        ("list_scale_events", {"group": "asg", "limit": 7}, (), {"group": "asg", "limit": 7}),
        ("show_scale_event", {"receipt": "r-1"}, ("r-1",), {}),
        (
            "signal_webhook",
            {"token_hash": TOKEN_HASH, "source": "webhook", "details": {"alarm": "cpu"}},
            (TOKEN_HASH, None, "webhook", {"alarm": "cpu"}),
            {},
        ),
    ],
)
def test_scaling_calls_reach_the_service_with_the_context(
    ctx: RequestContext,
    method: str,
    sent: dict[str, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    engine = RecordingEngine()
    answer = getattr(EngineManager(engine), method)(ctx, **sent)  # type: ignore[arg-type]
    assert answer == {"called": method}
    # signal_webhook is the one call served without the context: the token is
    # the capability, whoever the caller says it is.
    scoped = args if method == "signal_webhook" else (ctx, *args)
    assert engine.calls == [(method, scoped, kwargs)]


def test_a_refused_payload_never_reaches_the_service(ctx: RequestContext) -> None:
    service = RecordingEngine()
    manager = EngineManager(service)  # type: ignore[arg-type]
    refusals = [
        _sent_back(lambda: manager.resize_group(ctx, group="asg", capacity=-1)),
        _sent_back(
            lambda: manager.signal_webhook(
                ctx, token_hash="not-a-hash", source="webhook", details={}
            )
        ),
        _sent_back(lambda: manager.explain_group(ctx, group="asg", limit=1001)),
    ]
    assert [type(r) for r in refusals] == [exceptions.InvalidRequest] * 3
    assert [r.kwargs["field"] for r in refusals] == ["capacity", "token_hash", "limit"]  # type: ignore[union-attr]
    assert "'capacity' must be at least 0" in str(refusals[0])
    assert service.calls == []


def test_domain_errors_go_back_as_they_are_and_bugs_are_hidden(ctx: RequestContext) -> None:
    manager = EngineManager(RecordingEngine(exceptions.GroupNotFound(group="asg")))  # type: ignore[arg-type]
    missing = _sent_back(lambda: manager.show_group(ctx, group="asg"))
    assert isinstance(missing, exceptions.GroupNotFound)
    assert str(missing) == "Scaling group not found: asg"

    manager = EngineManager(RecordingEngine(KeyError("desired_capacity")))  # type: ignore[arg-type]
    hidden = _sent_back(lambda: manager.pause_group(ctx, group="asg"))
    assert isinstance(hidden, exceptions.EngineInternalError)
    assert "desired_capacity" not in str(hidden)
    assert ctx.request_id in str(hidden)
