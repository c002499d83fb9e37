"""The operator's repair verbs on real flows (embedded engine, SQLite)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.db import flow_records as flows
from tests import plugins
from tests.unit.conftest import Engine

ONE_BROKEN = """
heat_template_version: 2018-08-31
resources:
  first: {type: Test::Switchable}
  second: {type: Test::Switchable}
  broken: {type: Test::Switchable, depends_on: [first, second]}
  after: {type: Test::Switchable, depends_on: broken}
"""
SLOW = """
heat_template_version: 2018-08-31
resources:
""" + "".join(
    f"  r{n}:\n    type: OS::Heat::TestResource\n"
    "    properties: {action_wait_secs: {create: 30}}\n"
    for n in range(5)
)


@pytest.fixture(autouse=True)
def _switches() -> Iterator[None]:
    plugins.Switchable.BROKEN.clear()
    plugins.Switchable.CREATED.clear()
    yield
    plugins.Switchable.BROKEN.clear()


def _flow_of(engine: Engine, stack: str) -> flows.models.Flow:
    stack_id = engine.service.show_stack(engine.ctx, stack)["id"]
    with engine.rt.db.reader() as session:
        return flows.for_stack(session, stack_id)[-1]


def _wait_settled(engine: Engine, stack: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        shown = engine.service.show_stack(engine.ctx, stack)
        if not shown["stack_status"].endswith("IN_PROGRESS"):
            engine.dispatcher.wait_all()
            return shown
        assert time.monotonic() < deadline, shown["stack_status"]
        time.sleep(0.05)


def test_retry_after_the_fault_is_lifted_redoes_only_what_failed(engine: Engine) -> None:
    plugins.Switchable.BROKEN.add("broken")
    stack = engine.create("fixable", ONE_BROKEN, disable_rollback=True)
    assert stack["stack_status"] == "CREATE_FAILED"
    assert sorted(plugins.Switchable.CREATED) == ["first", "second"]
    flow = _flow_of(engine, "fixable")

    plugins.Switchable.BROKEN.clear()  # the operator fixed the cloud
    retried = engine.service.retry_flow(engine.ctx, flow.id)
    assert retried["state"] in ("PENDING", "RUNNING", "SUCCESS")
    assert _wait_settled(engine, "fixable")["stack_status"] == "CREATE_COMPLETE"
    # first and second were not created again
    assert sorted(plugins.Switchable.CREATED) == ["after", "broken", "first", "second"]
    reasons = [reason for _, _, reason in engine.events("fixable")]
    assert f"flow {flow.id} retried by alice" in reasons


def test_revert_removes_what_a_failed_create_with_rollback_disabled_left(engine: Engine) -> None:
    plugins.Switchable.BROKEN.add("broken")
    engine.create("leftovers", ONE_BROKEN, disable_rollback=True)
    flow = _flow_of(engine, "leftovers")
    engine.service.revert_flow(engine.ctx, flow.id)
    stack = _wait_settled(engine, "leftovers")
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    statuses = engine.statuses("leftovers")
    assert statuses["first"] == statuses["second"] == "DELETE_COMPLETE"
    assert statuses["after"] == "INIT_COMPLETE"  # never created, nothing to remove
    with pytest.raises(exceptions.IllegalFlowTransition, match="already ROLLBACK_COMPLETE"):
        engine.service.revert_flow(engine.ctx, flow.id)


def test_cancel_stops_a_running_create_and_rolls_it_back(engine: Engine) -> None:
    created = engine.service.create_stack(engine.ctx, "long", SLOW)
    deadline = time.monotonic() + 10
    while set(engine.statuses("long").values()) != {"CREATE_IN_PROGRESS"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    engine.service.cancel_flow(engine.ctx, created["flow_id"])
    stack = _wait_settled(engine, "long")
    assert time.monotonic() - started < 10  # not the 30 s the resources would take
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "cancelled by alice" in stack["stack_status_reason"]
    assert set(engine.statuses("long").values()) == {"DELETE_COMPLETE"}
    with pytest.raises(exceptions.IllegalFlowTransition, match="not running"):
        engine.service.cancel_flow(engine.ctx, created["flow_id"])


def test_resume_a_flow_whose_owner_died(engine: Engine) -> None:
    class Keep:
        def dispatch(self, flow_id: str) -> None:
            self.flow_id = flow_id

    keep = Keep()
    engine.route.target = keep
    engine.service.create_stack(engine.ctx, "stuck", ONE_BROKEN)
    with engine.rt.db.writer() as session:  # a runner on a machine that is gone
        flows.claim(session, keep.flow_id, "gone-host:12345")
    engine.route.target = engine.dispatcher
    engine.service.resume_flow(engine.ctx, keep.flow_id)
    assert _wait_settled(engine, "stuck")["stack_status"] == "CREATE_COMPLETE"
    with engine.rt.db.reader() as session:
        history = [entry["owner"] for entry in flows.get(session, keep.flow_id).errors]
    assert "operator" in history


def test_skip_a_step_the_operator_did_by_hand_then_retry(engine: Engine) -> None:
    plugins.Switchable.BROKEN.add("broken")
    engine.create("manual", ONE_BROKEN, disable_rollback=True)
    flow = _flow_of(engine, "manual")
    engine.service.skip_step(engine.ctx, flow.id, "create:broken", {"id": "made-by-hand"})
    engine.service.retry_flow(engine.ctx, flow.id)  # the fault is still there
    assert _wait_settled(engine, "manual")["stack_status"] == "CREATE_COMPLETE"
    resources = {r["resource_name"]: r for r in engine.service.list_resources(engine.ctx, "manual")}
    assert resources["broken"]["physical_resource_id"] == "made-by-hand"
    assert "broken" not in plugins.Switchable.CREATED


def test_illegal_requests_change_nothing(engine: Engine) -> None:
    stack = engine.create("done", ONE_BROKEN)
    flow = _flow_of(engine, "done")
    before = (flow.state, flow.epoch)
    with pytest.raises(exceptions.IllegalFlowTransition, match="completed successfully"):
        engine.service.retry_flow(engine.ctx, flow.id)
    with pytest.raises(exceptions.IllegalFlowTransition, match="not running"):
        engine.service.cancel_flow(engine.ctx, flow.id)
    with pytest.raises(exceptions.IllegalFlowTransition, match="use `flow retry`"):
        engine.service.resume_flow(engine.ctx, flow.id)
    with pytest.raises(exceptions.FlowNotFound):
        engine.service.resume_flow(engine.ctx, "no-such-flow")
    other = RequestContext(project_id="project-b", user_id="bob")
    with pytest.raises(exceptions.FlowNotFound):
        engine.service.cancel_flow(other, flow.id)
    after = _flow_of(engine, "done")
    assert (after.state, after.epoch) == before
    assert engine.service.show_stack(engine.ctx, stack["id"])["stack_status"] == "CREATE_COMPLETE"


def test_no_verb_acts_behind_a_live_owner(engine: Engine) -> None:
    plugins.Switchable.BROKEN.add("broken")
    engine.create("busy", ONE_BROKEN, disable_rollback=True)
    flow = _flow_of(engine, "busy")
    with engine.rt.db.write_connection() as connection:  # this very process runs it, alive
        connection.execute(
            sa.update(flows.TABLE)
            .where(flows.TABLE.c.id == flow.id)
            .values(state=flows.RUNNING, owner=f"{socket.gethostname()}:{os.getpid()}")
        )
    for verb in (engine.service.resume_flow, engine.service.revert_flow):
        with pytest.raises(exceptions.IllegalFlowTransition, match="is running on"):
            verb(engine.ctx, flow.id)
    with pytest.raises(exceptions.IllegalFlowTransition, match="is running on"):
        engine.service.skip_step(engine.ctx, flow.id, "broken", None)


def test_skip_names_the_steps_when_the_step_is_unknown(engine: Engine) -> None:
    plugins.Switchable.BROKEN.add("broken")
    engine.create("typo", ONE_BROKEN, disable_rollback=True)
    flow = _flow_of(engine, "typo")
    with pytest.raises(exceptions.IllegalFlowTransition, match="no step 'create:brokn'"):
        engine.service.skip_step(engine.ctx, flow.id, "create:brokn", None)
