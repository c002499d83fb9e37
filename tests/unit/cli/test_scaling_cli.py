"""`flowstack group|policy|webhook|scale-event`: arguments, how results print, --wait.

The engine's side of these commands is tested end to end with the service;
here: what each command accepts, how a result becomes a table or JSON, and
the wait on a scale event, which polls the same way embedded and over RPC.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from cliff import command

from flowstack import context
from flowstack.cli import groups, policies, scale_events, webhooks
from flowstack.cli.client import CommandClient
from tests.unit.cli.conftest import Cli

GROUP = {
    "id": "g-1",
    "stack_id": "s-1",
    "stack_name": "web",
    "resource_name": "asg",
    "status": "COMPLETE",
    "paused": False,
    "min_size": 1,
    "max_size": 10,
    "desired_capacity": 2,
    "current_size": 2,
    "generation": 4,
    "cooldown": 60,
    "active_flow_id": None,
    "members": [
        {
            "name": "asg-1",
            "physical_id": "3f0c",
            "status": "CREATE_COMPLETE",
            "status_reason": "",
            "created_at": "2025-01-01T00:00:00",
        },
        {
            "name": "asg-10",
            "physical_id": None,
            "status": "CREATE_IN_PROGRESS",
            "status_reason": "building",
            "created_at": "2025-01-01T00:01:00",
        },
    ],
    "policies": [
        {
            "id": "p-1",
            "name": "scale_up",
            "adjustment_type": "change_in_capacity",
            "scaling_adjustment": 1,
            "min_adjustment_step": None,
            "cooldown": 60,
            "last_executed_at": None,
        },
        {
            "id": "p-2",
            "name": "scale_down",
            "adjustment_type": "percent_change_in_capacity",
            "scaling_adjustment": -50,
            "min_adjustment_step": 1,
            "cooldown": None,
            "last_executed_at": "2025-01-01T00:02:00",
        },
    ],
    "removal_policy": "oldest_first",
    "keep_partial_progress": False,
    "rolling_updates": {"max_batch_size": 1, "pause_time": 0},
    "last_scaled_at": None,
    "member_type": "OS::Nova::Server",
}
EVENT = {
    "receipt_id": "r-1",
    "group_id": "g-1",
    "group": "web/asg",
    "policy": "scale_up",
    "source": "webhook",
    "status": "COMPLETE",
    "received_at": "2025-01-01T00:02:00",
    "desired_before": 2,
    "desired_after": 3,
    "flow_id": "f-1",
    "reason": "",
    "decision": "received -> +1 -> 3",
    "steps": ["received", "adjusted by +1 to 3"],
    "details": {"alarm": "cpu_high", "state": "alarm"},
    "idempotency_key": None,
    "finished_at": "2025-01-01T00:03:00",
}


# -- arguments -------------------------------------------------------------------------


def _parse(cls: type[command.Command], name: str, *argv: str) -> Any:
    return cls(None, None).get_parser(f"flowstack {name}").parse_args(list(argv))


def test_each_command_reads_its_arguments() -> None:
    listed = _parse(groups.ListGroups, "group list", "--stack", "web")
    assert listed.stack == "web"
    assert _parse(groups.ListGroups, "group list").stack is None
    assert _parse(groups.ShowGroup, "group show", "web/asg").group == "web/asg"
    assert _parse(groups.PauseGroup, "group pause", "asg").group == "asg"
    assert _parse(groups.ResumeGroup, "group resume", "asg").group == "asg"

    resize = _parse(groups.ResizeGroup, "group resize", "web/asg", "0")
    assert (resize.group, resize.capacity, resize.idempotency_key, resize.wait) == (
        "web/asg",
        0,
        None,
        False,
    )
    resize = _parse(
        groups.ResizeGroup, "group resize", "asg", "3", "--idempotency-key", "k1", "--wait"
    )
    assert (resize.capacity, resize.idempotency_key, resize.wait) == (3, "k1", True)

    assert _parse(groups.ExplainGroup, "group explain", "asg").limit == 20
    assert _parse(groups.ExplainGroup, "group explain", "asg", "--limit", "1000").limit == 1000

    execute = _parse(policies.ExecutePolicy, "policy execute", "web", "scale_up", "--wait")
    assert (execute.stack, execute.policy, execute.idempotency_key, execute.wait) == (
        "web",
        "scale_up",
        None,
        True,
    )

    assert _parse(webhooks.ListWebhooks, "webhook list", "--stack", "web").stack == "web"
    assert _parse(webhooks.ShowWebhook, "webhook show", "w-1").webhook == "w-1"

    events = _parse(scale_events.ListScaleEvents, "scale-event list")
    assert (events.group, events.limit) == (None, 50)
    events = _parse(
        scale_events.ListScaleEvents, "scale-event list", "--group", "g", "--limit", "5"
    )
    assert (events.group, events.limit) == ("g", 5)
    assert _parse(scale_events.ShowScaleEvent, "scale-event show", "r-1").receipt == "r-1"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("group", "resize", "asg", "-1"), "argument CAPACITY: -1 is out of range (0 or more)"),
        (("group", "resize", "asg", "two"), "argument CAPACITY: 'two' is not a whole number"),
        (
            ("scale-event", "list", "--limit", "0"),
            "argument --limit: 0 is out of range (from 1 to 1000)",
        ),
    ],
)
def test_bad_numbers_are_refused_before_the_engine_is_asked(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not cli.state.exists()  # no engine was started, no database made


def test_the_commands_are_installed(cli: Cli) -> None:
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    for name in (
        "group list",
        "group show",
        "group resize",
        "group pause",
        "group resume",
        "group explain",
        "policy execute",
        "webhook list",
        "webhook show",
        "scale-event list",
        "scale-event show",
    ):
        assert f"  {name} " in result.stdout, name


# -- how results print -----------------------------------------------------------------


def test_group_show_as_a_table_is_compact() -> None:
    columns, values = groups.group_record(GROUP, "table")
    shown = dict(zip(columns, values, strict=True))
    assert columns[: len(groups.LIST_COLUMNS)] == groups.LIST_COLUMNS
    assert set(columns) == set(GROUP)
    assert shown["members"] == (
        "asg-1   3f0c  CREATE_COMPLETE\nasg-10  -     CREATE_IN_PROGRESS  building"
    )
    assert shown["policies"] == (
        "scale_up    change_in_capacity          +1               cooldown=60s  never run\n"
        "scale_down  percent_change_in_capacity  -50  min_step=1                "
        "last=2025-01-01T00:02:00"
    )
    assert shown["rolling_updates"] == "max_batch_size: 1\npause_time: 0"
    assert shown["paused"] is False


def test_group_show_for_machines_keeps_the_structures() -> None:
    columns, values = groups.group_record(GROUP, "json")
    assert dict(zip(columns, values, strict=True)) == GROUP


def test_a_summary_without_members_shows_as_it_is() -> None:
    summary = dict(list(GROUP.items())[: list(GROUP).index("active_flow_id") + 1])
    columns, values = groups.group_record(summary, "table")
    assert dict(zip(columns, values, strict=True)) == summary
    assert groups.members_text([]) == ""


def test_scale_event_as_a_table_has_one_step_a_line() -> None:
    columns, values = scale_events.event_record(EVENT, "table")
    shown = dict(zip(columns, values, strict=True))
    assert shown["steps"] == "received\nadjusted by +1 to 3"
    assert shown["details"] == "alarm: cpu_high\nstate: alarm"
    assert shown["decision"] == EVENT["decision"]
    columns, values = scale_events.event_record(EVENT, "yaml")
    assert dict(zip(columns, values, strict=True)) == EVENT


def test_a_receipt_shows_every_field() -> None:
    receipt = {
        "receipt_id": "r-1",
        "group_id": "g-1",
        "status": "PENDING",
        "decision": "received -> coalesced",
        "desired_before": 2,
        "desired_after": 3,
        "flow_id": None,
        "duplicate": True,
    }
    assert scale_events.record(receipt, "table") == (tuple(receipt), tuple(receipt.values()))


# -- --wait ----------------------------------------------------------------------------


class FakeEngine:
    """An EngineClient whose scale event goes through ``statuses``, one per look."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.looks: list[tuple[str | None, str]] = []

    def show_scale_event(self, ctx: Any, receipt: str) -> dict:
        self.looks.append((ctx.project_id, receipt))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {**EVENT, "receipt_id": receipt, "status": status}


def _client(engine: FakeEngine) -> CommandClient:
    return CommandClient(engine, context.RequestContext(project_id="p"))  # type: ignore[arg-type]


def test_wait_polls_the_event_until_it_settles_and_says_each_status() -> None:
    engine = FakeEngine("PENDING", "PENDING", "IN_PROGRESS", "IN_PROGRESS", "FAILED")
    out = io.StringIO()
    event, settled = scale_events.wait_for_event(_client(engine), "r-9", out, interval=0.001)
    assert settled and event["status"] == "FAILED"
    assert engine.looks == [("p", "r-9")] * 5
    assert out.getvalue() == (
        "scale event r-9: PENDING\nscale event r-9: IN_PROGRESS\nscale event r-9: FAILED\n"
    )


@pytest.mark.parametrize("status", sorted(scale_events.SETTLED))
def test_a_settled_event_is_looked_at_once(status: str) -> None:
    engine = FakeEngine(status)
    event, settled = scale_events.wait_for_event(_client(engine), "r-1", io.StringIO())
    assert settled and event["status"] == status
    assert len(engine.looks) == 1


def test_wait_gives_up_at_its_timeout() -> None:
    engine = FakeEngine("IN_PROGRESS")
    event, settled = scale_events.wait_for_event(
        _client(engine), "r-1", io.StringIO(), timeout=0.02, interval=0.001
    )
    assert not settled and event["status"] == "IN_PROGRESS"
    assert json.dumps(event)  # what is shown at the end is the last look
