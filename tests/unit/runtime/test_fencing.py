"""A runner whose flow was taken over stops writing; a flow failing every attempt is quarantined."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from flowstack import exceptions
from flowstack.db import events
from flowstack.db import flow_records as flows
from flowstack.execution import runner
from flowstack.taskflow_adapter import schema as taskflow_schema
from tests.unit.conftest import Engine

SLOW = """
heat_template_version: 2018-08-31
resources:
  first: {type: OS::Heat::TestResource}
  slow:
    type: OS::Heat::TestResource
    properties: {action_wait_secs: {create: 1.0}}
    depends_on: first
  last: {type: OS::Heat::TestResource, depends_on: slow}
"""


class Recorder:
    """A dispatcher that only remembers the flow, so the test runs it itself."""

    flow_id: str = ""

    def dispatch(self, flow_id: str) -> None:
        self.flow_id = flow_id


def _event_count(engine: Engine, stack_id: str) -> int:
    with engine.rt.db.reader() as session:
        return len(events.list_for_stack(session, stack_id))


def test_a_runner_taken_over_writes_nothing_more(engine: Engine) -> None:
    recorder = Recorder()
    engine.route.target = recorder
    created = engine.service.create_stack(engine.ctx, "fenced", SLOW)
    outcome: list[str] = []
    stale = threading.Thread(
        target=lambda: outcome.append(runner.run(engine.rt, recorder.flow_id, owner="stale"))
    )
    stale.start()
    deadline = time.monotonic() + 20
    while engine.statuses("fenced")["slow"] != "CREATE_IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.02)

    with engine.rt.db.writer() as session:  # another worker takes the flow over
        taken = flows.claim(session, recorder.flow_id, "new-owner")
    written_at_takeover = _event_count(engine, created["id"])
    stale.join(timeout=30)

    assert outcome == [runner.FENCED]
    assert _event_count(engine, created["id"]) == written_at_takeover
    with engine.rt.db.reader() as session:
        flow = flows.get(session, recorder.flow_id)
        assert (flow.owner, flow.epoch, flow.state) == ("new-owner", taken.epoch, "RUNNING")
    assert engine.service.show_stack(engine.ctx, "fenced")["stack_status"] == "CREATE_IN_PROGRESS"

    # The flow is intact: the next runner finishes it.
    assert runner.run(engine.rt, recorder.flow_id, owner="third") == "SUCCESS"
    assert engine.service.show_stack(engine.ctx, "fenced")["stack_status"] == "CREATE_COMPLETE"
    creates = [(r, s) for r, s, _ in engine.events("fenced") if s == "CREATE_COMPLETE"]
    assert creates.count(("first", "CREATE_COMPLETE")) == 1  # not created twice


LIMITS = runner.QuarantineLimits(failed_runs=2, stalled_takeovers=2)


def test_runners_dying_in_a_row_with_no_progress_is_a_crash_loop(engine: Engine) -> None:
    recorder = Recorder()
    engine.route.target = recorder
    engine.service.create_stack(engine.ctx, "poison", SLOW)
    with engine.rt.db.writer() as session:  # two workers claimed it and died, doing nothing
        flows.claim(session, recorder.flow_id, "worker-1")
        flows.claim(session, recorder.flow_id, "worker-2")

    assert runner.run(engine.rt, recorder.flow_id, owner="worker-3", limits=LIMITS) == (
        runner.QUARANTINED
    )
    stack = engine.service.show_stack(engine.ctx, "poison")
    assert stack["stack_status"] == "CREATE_FAILED"
    assert (
        "died 2 times in a row without finishing a step (a crash loop)"
        in (stack["stack_status_reason"])
    )
    with engine.rt.db.reader() as session:
        flow = flows.get(session, recorder.flow_id)
    assert (flow.state, flow.failed_runs, flow.stalled_takeovers) == ("QUARANTINED", 0, 2)
    owners = [entry["owner"] for entry in flow.errors]
    assert owners[:2] == ["worker-1", "worker-2"]
    assert all(entry["error"] for entry in flow.errors)
    # nothing was started for it
    assert set(engine.statuses("poison").values()) == {"INIT_COMPLETE"}


def test_runners_killed_while_the_flow_progresses_never_quarantine_it(engine: Engine) -> None:
    """Each worker finishes a step before it dies: a restart pattern, not the flow's fault."""
    recorder = Recorder()
    engine.route.target = recorder
    engine.service.create_stack(engine.ctx, "busy", SLOW)
    atoms = taskflow_schema.TABLES.atomdetails
    for n in range(1, 6):  # more takeovers than any limit
        with engine.rt.db.writer() as session:
            flows.claim(session, recorder.flow_id, f"worker-{n}")
        with engine.rt.db.write_connection() as connection:  # this worker finished a step
            connection.execute(
                sa.insert(atoms).values(
                    uuid=str(uuid.uuid4()),
                    parent_uuid=recorder.flow_id,
                    name=f"step-{n}",
                    atom_type="TASK_DETAIL",
                    state="SUCCESS",
                )
            )
    with engine.rt.db.writer() as session:
        claim = flows.claim(session, recorder.flow_id, "worker-6")
    assert (claim.failed_runs, claim.stalled_takeovers) == (0, 0)
    assert claim.attempts == 6


def test_runs_that_keep_raising_are_quarantined_after_the_limit(engine: Engine) -> None:
    recorder = Recorder()
    engine.route.target = recorder
    engine.service.create_stack(engine.ctx, "raising", SLOW)
    for n in (1, 2):
        with engine.rt.db.writer() as session:
            claim = flows.claim(session, recorder.flow_id, f"worker-{n}")
        with engine.rt.db.write_connection() as connection:
            assert flows.give_back(
                connection, recorder.flow_id, claim.epoch, f"worker-{n}", "DatabaseUnavailable: x"
            )
    assert runner.run(engine.rt, recorder.flow_id, owner="worker-3", limits=LIMITS) == (
        runner.QUARANTINED
    )
    reason = engine.service.show_stack(engine.ctx, "raising")["stack_status_reason"]
    assert "quarantined: failed in 2 run(s) (last: DatabaseUnavailable: x)" in reason


FAILS = """
heat_template_version: 2018-08-31
resources:
  broken: {type: OS::Heat::TestResource, properties: {fail: true}}
"""


def test_a_flow_that_ends_in_failure_never_leaves_its_stack_in_progress(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The revert itself fails (the database went away at that instant).

    Losing the database exactly while the lifecycle task records the
    rollback cannot be produced with the real server on cue, so that one
    write is made to fail; everything else is real.
    """
    from flows.tasks import stack_tasks

    def database_gone(*args: object, **kwargs: object) -> None:
        raise exceptions.DatabaseUnavailable("Lost the database sqlite:///...: disk I/O error")

    monkeypatch.setattr(stack_tasks, "_set_stack", database_gone)
    recorder = Recorder()
    engine.route.target = recorder
    engine.service.create_stack(engine.ctx, "unsettled", FAILS)
    assert runner.run(engine.rt, recorder.flow_id) == "FAILURE"
    stack = engine.service.show_stack(engine.ctx, "unsettled")
    assert stack["stack_status"] == "ROLLBACK_FAILED"
    assert "did not finish" in stack["stack_status_reason"]
    assert "disk I/O error" in stack["stack_status_reason"]
