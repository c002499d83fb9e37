"""The CLI's client: who it asks as, and how it waits for a flow over RPC."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from flowstack import context, exceptions
from flowstack.cli import client as cli_client
from flowstack.cli.client import CommandClient
from flowstack.rpc.client import EngineClient


class FakeEngine:
    """An EngineClient whose stack stays IN_PROGRESS for a number of looks."""

    def __init__(self, looks_in_progress: int) -> None:
        self.looks = looks_in_progress
        self.contexts: list[Any] = []

    def create_stack(self, ctx: Any, name: str, template: str, *args: Any, **kw: Any) -> dict:
        self.contexts.append(ctx)
        return {"id": "s-1", "flow_id": "f-1", "stack_status": "CREATE_IN_PROGRESS"}

    def show_stack(self, ctx: Any, stack: str) -> dict:
        self.contexts.append(ctx)
        self.looks -= 1
        state = "CREATE_IN_PROGRESS" if self.looks >= 0 else "CREATE_COMPLETE"
        return {"id": stack, "stack_status": state, "timeout_mins": None}


def test_wait_flow_polls_the_stack_until_it_settles() -> None:
    engine = FakeEngine(looks_in_progress=3)
    client = CommandClient(engine, context.RequestContext(project_id="p"), poll_interval=0.01)  # type: ignore[arg-type]
    started = client.create_stack("web", "template")
    assert client.wait_flow(started["flow_id"]) == "CREATE_COMPLETE"
    assert {ctx.project_id for ctx in engine.contexts} == {"p"}


def test_wait_flow_gives_up_at_its_timeout_and_leaves_the_flow_running() -> None:
    engine = FakeEngine(looks_in_progress=10**6)
    client = CommandClient(engine, context.RequestContext(project_id="p"), poll_interval=0.01)  # type: ignore[arg-type]
    started = client.create_stack("web", "template")
    assert client.wait_flow(started["flow_id"], timeout=0.05) is None


def test_wait_flow_knows_only_the_flows_it_started() -> None:
    client = CommandClient(FakeEngine(0), context.RequestContext(project_id="p"))  # type: ignore[arg-type]
    with pytest.raises(exceptions.FlowNotFound):
        client.wait_flow("f-unknown")
    assert client.embedded_simulator() is None


def test_who_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OS_PROJECT_ID", raising=False)
    monkeypatch.delenv("OS_USER_ID", raising=False)
    ctx = cli_client.request_context()
    assert (ctx.project_id, ctx.user_id) == (context.EMBEDDED_PROJECT, context.EMBEDDED_USER)
    monkeypatch.setenv("OS_PROJECT_ID", "env-project")
    monkeypatch.setenv("OS_USER_ID", "env-user")
    ctx = cli_client.request_context()
    assert (ctx.project_id, ctx.user_id) == ("env-project", "env-user")
    ctx = cli_client.request_context("option-project", "option-user")
    assert (ctx.project_id, ctx.user_id) == ("option-project", "option-user")


class RecordingEngine:
    """An EngineClient that records each call, checked against EngineClient's signature."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            bound = inspect.signature(getattr(EngineClient, name)).bind(None, *args, **kwargs)
            bound.apply_defaults()
            self.calls.append((name, dict(list(bound.arguments.items())[1:])))
            return {"called": name}

        return call


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "sent"),
    [
        ("list_groups", (), {}, {"stack": None}),
        ("list_groups", (), {"stack": "web"}, {"stack": "web"}),
        ("show_group", ("web/asg",), {}, {"group": "web/asg"}),
        (
            "resize_group",
            ("asg", 3),
            {"idempotency_key": "k"},
            {"group": "asg", "capacity": 3, "idempotency_key": "k"},
        ),
        ("pause_group", ("asg",), {}, {"group": "asg"}),
        ("resume_group", ("asg",), {}, {"group": "asg"}),
        ("explain_group", ("asg",), {"limit": 5}, {"group": "asg", "limit": 5}),
        (
            "execute_policy",
            ("web", "scale_up"),
            {},
            {"stack": "web", "policy": "scale_up", "idempotency_key": None},
        ),
        ("list_webhooks", (), {}, {"stack": None}),
        ("show_webhook", ("w-1",), {}, {"webhook": "w-1"}),
        ("list_scale_events", (), {"group": "asg"}, {"group": "asg", "limit": 50}),
        ("show_scale_event", ("r-1",), {}, {"receipt": "r-1"}),
        (
            "signal_webhook",
            ("ab" * 32, None, "webhook", {"alarm": "cpu"}),
            {},
            {
                "token_hash": "ab" * 32,
                "idempotency_key": None,
                "source": "webhook",
                "details": {"alarm": "cpu"},
            },
        ),
    ],
)
def test_scaling_calls_go_to_the_engine_with_the_context(
    method: str, args: tuple[Any, ...], kwargs: dict[str, Any], sent: dict[str, Any]
) -> None:
    engine = RecordingEngine()
    ctx = context.RequestContext(project_id="p")
    client = CommandClient(engine, ctx)  # type: ignore[arg-type]
    assert getattr(client, method)(*args, **kwargs) == {"called": method}
    assert engine.calls == [(method, {"ctx": ctx, **sent})]
