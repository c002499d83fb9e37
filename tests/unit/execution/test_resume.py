"""A process killed in the middle of a create leaves a flow another runner resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from flowstack import context
from flowstack.conf import loading
from flowstack.db import flow_records as flows
from flowstack.engine.stack_service import StackService
from flowstack.execution import runner
from flowstack.runtime.container import Runtime

CHAIN = """
heat_template_version: 2018-08-31
resources:
  first: {type: OS::Heat::TestResource, properties: {value: one}}
  slow:
    type: OS::Heat::TestResource
    properties: {value: two, action_wait_secs: {create: 1.5}}
    depends_on: first
  last:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [slow, output]}}
"""


def _resource_status(db_file: Path, name: str) -> str | None:
    if not db_file.exists():
        return None
    engine = sa.create_engine(f"sqlite:///{db_file}")
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text("SELECT action || '_' || status FROM resources WHERE name = :n"),
                {"n": name},
            ).scalar()
    except sa.exc.OperationalError:
        return None  # tables not created yet
    finally:
        engine.dispose()


def test_killed_create_is_resumed_from_its_last_completed_step(tmp_path: Path) -> None:
    state = tmp_path / "state"
    template = tmp_path / "chain.yaml"
    template.write_text(CHAIN)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "flowstack.cli.app", "--state-dir", str(state)),
            *("stack", "create", "chain", "-t", str(template)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    db_file = state / "flowstack.sqlite"
    deadline = time.monotonic() + 30
    while _resource_status(db_file, "slow") != "CREATE_IN_PROGRESS":
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the create never reached the slow resource"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()

    conf = loading.load([], config_files=[], state_path=str(state))
    conf.set_override("poll_interval", 0.05, group="engine")
    rt = Runtime.from_conf(conf)
    try:
        service = StackService(rt, dispatcher=None)  # type: ignore[arg-type]
        ctx = context.embedded()
        assert service.show_stack(ctx, "chain")["stack_status"] == "CREATE_IN_PROGRESS"
        with rt.db.reader() as session:
            [flow] = flows.for_stack(session, service.show_stack(ctx, "chain")["id"])
            flow_id, attempts_before = flow.id, flow.attempts
        assert runner.run(rt, flow_id) == "SUCCESS"

        stack = service.show_stack(ctx, "chain")
        assert stack["stack_status"] == "CREATE_COMPLETE"
        events = [
            (e["resource_name"], e["resource_status"]) for e in service.list_events(ctx, "chain")
        ]
        # `first` was done before the kill: it is not created a second time
        assert events.count(("first", "CREATE_IN_PROGRESS")) == 1
        assert events.count(("first", "CREATE_COMPLETE")) == 1
        assert events.count(("slow", "CREATE_COMPLETE")) == 1
        outputs = {r["resource_name"]: r for r in service.list_resources(ctx, "chain")}
        assert outputs["last"]["resource_status"] == "CREATE_COMPLETE"
        with rt.db.reader() as session:
            flow = flows.get(session, flow_id)
            assert flow.state == "SUCCESS"
            assert flow.attempts == attempts_before + 1
    finally:
        rt.close()
