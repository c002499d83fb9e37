"""Stacks end to end in one process: create, delete, rollback, events, outputs."""

from __future__ import annotations

import pytest

from flowstack import exceptions
from flowstack.context import RequestContext
from tests.unit.conftest import Engine

THREE_TIERS = """
heat_template_version: 2018-08-31
parameters:
  db_address: {type: string, default: 10.0.0.10}
resources:
  db:
    type: OS::Heat::TestResource
    properties: {value: {get_param: db_address}}
  app:
    type: OS::Heat::TestResource
    properties:
      value:
        str_replace:
          template: app uses $DB
          params: {$DB: {get_attr: [db, output]}}
  web:
    type: OS::Heat::None
    depends_on: app
outputs:
  app_value: {value: {get_attr: [app, output]}}
  db_ref: {value: {get_resource: db}}
"""


def test_create_then_delete(engine: Engine) -> None:
    stack = engine.create("tiers", THREE_TIERS)
    assert stack["stack_status"] == "CREATE_COMPLETE"
    assert engine.statuses("tiers") == dict.fromkeys(("db", "app", "web"), "CREATE_COMPLETE")
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert outputs["app_value"] == "app uses 10.0.0.10"  # the attribute flowed along the edge
    assert outputs["db_ref"].startswith("tiers-db-")  # get_resource gives the physical id

    deleted = engine.delete("tiers")
    assert deleted["stack_status"] == "DELETE_COMPLETE"
    assert set(engine.statuses(stack["id"]).values()) == {"DELETE_COMPLETE"}
    assert engine.service.list_stacks(engine.ctx) == []
    # The name is free again once the stack is deleted.
    assert engine.create("tiers", THREE_TIERS)["stack_status"] == "CREATE_COMPLETE"


def test_resources_start_only_after_what_they_need(engine: Engine) -> None:
    engine.create("tiers", THREE_TIERS)
    order = [(r, s) for r, s, _ in engine.events("tiers") if r != "tiers"]
    position = {event: i for i, event in enumerate(order)}
    assert position[("db", "CREATE_COMPLETE")] < position[("app", "CREATE_IN_PROGRESS")]
    assert position[("app", "CREATE_COMPLETE")] < position[("web", "CREATE_IN_PROGRESS")]


def test_delete_goes_in_reverse_dependency_order(engine: Engine) -> None:
    stack = engine.create("tiers", THREE_TIERS)
    engine.delete("tiers")
    done = [r for r, s, _ in engine.events(stack["id"]) if s == "DELETE_COMPLETE" and r != "tiers"]
    assert done == ["web", "app", "db"]


PARALLEL = """
heat_template_version: 2018-08-31
resources:
  left:
    type: OS::Heat::TestResource
    properties: {action_wait_secs: {create: 0.4}}
  right:
    type: OS::Heat::TestResource
    properties: {action_wait_secs: {create: 0.4}}
  join:
    type: OS::Heat::None
    depends_on: [left, right]
"""


def test_independent_resources_build_at_the_same_time(engine: Engine) -> None:
    """Both branches start before either finishes: they ran concurrently."""
    engine.create("par", PARALLEL)
    order = [(r, s) for r, s, _ in engine.events("par")]
    starts = [order.index((n, "CREATE_IN_PROGRESS")) for n in ("left", "right")]
    ends = [order.index((n, "CREATE_COMPLETE")) for n in ("left", "right")]
    assert max(starts) < min(ends)
    assert order.index(("join", "CREATE_IN_PROGRESS")) > max(ends)


FOURTH_OF_SIX_FAILS = """
heat_template_version: 2018-08-31
resources:
  first: {type: OS::Heat::TestResource}
  second: {type: OS::Heat::TestResource}
  third: {type: OS::Heat::TestResource}
  fourth:
    type: OS::Heat::TestResource
    properties: {fail: true, action_wait_secs: {create: 0.2}}
    depends_on: [first, second, third]
  fifth:
    type: OS::Heat::TestResource
    properties: {action_wait_secs: {create: 0.8}}
    depends_on: first
  sixth:
    type: OS::Heat::TestResource
    properties: {action_wait_secs: {create: 0.8}}
    depends_on: second
"""
OTHERS = ("first", "second", "third", "fifth", "sixth")


def test_fourth_of_six_fails_and_everything_rolls_back(engine: Engine) -> None:
    stack = engine.create("six", FOURTH_OF_SIX_FAILS)
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "resources.fourth" in stack["stack_status_reason"]
    assert "Test Resource failed fourth" in stack["stack_status_reason"]
    assert set(engine.statuses("six").values()) == {"DELETE_COMPLETE"}

    events = engine.events("six")
    for name in OTHERS:
        mine = [s for r, s, _ in events if r == name]
        # each of the five others was really started, then deleted by the rollback
        # (fifth and sixth were still building: their wait was cut short)
        assert mine[0] == "CREATE_IN_PROGRESS", name
        assert mine[-2:] == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"], name
    for name in ("first", "second", "third"):
        assert [s for r, s, _ in events if r == name][:2] == [
            "CREATE_IN_PROGRESS",
            "CREATE_COMPLETE",
        ]
    failed = [reason for r, s, reason in events if (r, s) == ("fourth", "CREATE_FAILED")]
    assert failed == ["Test Resource failed fourth"]
    stack_events = [(s, reason) for r, s, reason in events if r == "six"]
    assert [s for s, _ in stack_events] == [
        "CREATE_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_COMPLETE",
    ]
    assert all("resources.fourth" in reason for _, reason in stack_events[1:])
    # the rollback removed dependents before what they depend on
    deleted = [r for r, s, _ in events if s == "DELETE_COMPLETE"]
    assert deleted.index("fourth") < min(deleted.index(n) for n in ("first", "second", "third"))
    assert deleted.index("fifth") < deleted.index("first")
    assert deleted.index("sixth") < deleted.index("second")


def test_rollback_disabled_keeps_what_was_created(engine: Engine) -> None:
    stack = engine.create("kept", FOURTH_OF_SIX_FAILS, disable_rollback=True)
    assert stack["stack_status"] == "CREATE_FAILED"
    assert "resources.fourth" in stack["stack_status_reason"]
    statuses = engine.statuses("kept")
    assert statuses.pop("fourth") == "CREATE_FAILED"
    assert {statuses[n] for n in ("first", "second", "third")} == {"CREATE_COMPLETE"}
    # still building when fourth failed: cut short, and said so (not left in progress)
    for name in ("fifth", "sixth"):
        assert statuses[name] in ("CREATE_COMPLETE", "CREATE_FAILED")
    reasons = {r: reason for r, s, reason in engine.events("kept") if s == "CREATE_FAILED"}
    for name in set(reasons) - {"fourth", "kept"}:
        assert "rollback is disabled" in reasons[name]
    # the kept resources are removed by a later delete
    assert engine.delete("kept")["stack_status"] == "DELETE_COMPLETE"
    assert set(engine.statuses(stack["id"]).values()) == {"DELETE_COMPLETE"}


STUCK_ON_ROLLBACK = """
heat_template_version: 2018-08-31
resources:
  stuck: {type: Test::Undeletable}
  other: {type: OS::Heat::TestResource}
  broken:
    type: Test::Undeletable
    properties: {fail_create: true}
    depends_on: [stuck, other]
"""


def test_rollback_that_cannot_remove_a_resource_says_which_and_why(engine: Engine) -> None:
    stack = engine.create("stuck", STUCK_ON_ROLLBACK)
    assert stack["stack_status"] == "ROLLBACK_FAILED"
    reason = stack["stack_status_reason"]
    assert "stuck: the cloud refused to delete it" in reason
    assert "broken: the cloud refused to delete it" in reason
    statuses = engine.statuses("stuck")
    # the revert did not stop at the first undeletable resource
    assert statuses["other"] == "DELETE_COMPLETE"
    assert statuses["stuck"] == statuses["broken"] == "DELETE_FAILED"


def test_delete_that_fails_names_the_resource(engine: Engine) -> None:
    template = "heat_template_version: 2018-08-31\nresources:\n  stuck: {type: Test::Undeletable}\n"
    engine.create("doomed", template)
    stack = engine.delete("doomed")
    assert stack["stack_status"] == "DELETE_FAILED"
    assert stack["stack_status_reason"] == (
        "Resource DELETE failed: resources.stuck: the cloud refused to delete it"
    )


def test_polled_delete_waits_until_done(engine: Engine) -> None:
    template = "heat_template_version: 2018-08-31\nresources:\n  f: {type: Test::Flaky}\n"
    engine.create("flaky", template)
    assert engine.delete("flaky")["stack_status"] == "DELETE_COMPLETE"


def test_names_are_unique_per_project_and_projects_are_isolated(engine: Engine) -> None:
    template = "heat_template_version: 2018-08-31\nresources:\n  n: {type: OS::Heat::None}\n"
    engine.create("shared", template)
    with pytest.raises(exceptions.StackExists):
        engine.service.create_stack(engine.ctx, "shared", template)
    other = RequestContext(project_id="project-b", user_id="bob")
    created = engine.service.create_stack(other, "shared", template)
    engine.dispatcher.wait(created["flow_id"])
    assert [s["stack_name"] for s in engine.service.list_stacks(other)] == ["shared"]
    with pytest.raises(exceptions.StackNotFound):
        engine.service.show_stack(other, engine.service.list_stacks(engine.ctx)[0]["id"])
    with pytest.raises(exceptions.StackNotFound):
        engine.service.delete_stack(other, engine.service.list_stacks(engine.ctx)[0]["id"])


def test_invalid_template_changes_nothing(engine: Engine) -> None:
    bad = "heat_template_version: 2018-08-31\nresources:\n  x: {type: OS::Nope::Thing}\n"
    with pytest.raises(exceptions.TemplateInvalid, match=r"resources\.x"):
        engine.service.create_stack(engine.ctx, "bad", bad)
    assert engine.service.list_stacks(engine.ctx) == []
    logbooks = list(engine.rt.backend.get_connection().get_logbooks())
    assert logbooks == []


@pytest.mark.parametrize("name", ["1starts-with-digit", "has space", "", "x" * 256])
def test_bad_stack_names_are_refused(engine: Engine, name: str) -> None:
    template = "heat_template_version: 2018-08-31\nresources: {}\n"
    with pytest.raises(exceptions.InvalidRequest, match="name"):
        engine.service.create_stack(engine.ctx, name, template)


def test_a_stack_being_created_cannot_be_deleted(engine: Engine) -> None:
    template = """
heat_template_version: 2018-08-31
resources:
  slow:
    type: OS::Heat::TestResource
    properties: {action_wait_secs: {create: 0.5}}
"""
    created = engine.service.create_stack(engine.ctx, "busy", template)
    with pytest.raises(exceptions.StackBusy, match="CREATE_IN_PROGRESS"):
        engine.service.delete_stack(engine.ctx, "busy")
    engine.dispatcher.wait(created["flow_id"])
    assert engine.delete("busy")["stack_status"] == "DELETE_COMPLETE"


def test_outputs_and_unknown_output(engine: Engine) -> None:
    engine.create("tiers", THREE_TIERS)
    [one] = engine.service.show_output(engine.ctx, "tiers", "app_value")
    assert one["output_value"] == "app uses 10.0.0.10"
    with pytest.raises(exceptions.OutputNotFound, match="app_value, db_ref"):
        engine.service.show_output(engine.ctx, "tiers", "nope")
