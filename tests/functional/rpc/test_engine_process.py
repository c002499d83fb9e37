"""``flowstack-engine`` as a process, and the ``flowstack`` CLI speaking RPC to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowstack import exceptions
from flowstack.conf import loading
from flowstack.context import RequestContext
from flowstack.db import migration
from flowstack.db.session import Database
from flowstack.rpc.client import EngineClient, get_transport
from tests import services
from tests.functional.rpc.conftest import TRANSPORT_URL

TEMPLATE = """
heat_template_version: 2018-08-31
resources:
  one: {type: OS::Heat::TestResource, properties: {value: hi}}
  two:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [one, output]}}
outputs:
  said: {value: {get_attr: [two, output]}}
"""


class EngineProcess:
    def __init__(self, tmp_path: Path) -> None:
        unique = uuid.uuid4().hex[:12]
        self.dir = tmp_path
        self.config = tmp_path / "flowstack.conf"
        self.config.write_text(
            f"[DEFAULT]\n"
            f"transport_url = {TRANSPORT_URL}\n"
            f"state_path = {tmp_path / 'state'}\n"
            f"[rpc]\n"
            f"exchange = flowstack-test-{unique}\n"
            f"topic = flowstack-engine-{unique}\n"
            f"host = engine-{unique}\n"
            f"call_timeout = 30\n"
            f"[engine]\n"
            f"poll_interval = 0.05\n"
            f"[worker]\n"
            f"service_heartbeat = 0.5\n"
            f"orphan_grace = 1\n"
            f"[oslo_messaging_rabbit]\n"
            f"amqp_auto_delete = true\n"
        )
        self.log = tmp_path / "engine.log"
        self.conf = loading.load([], config_files=[str(self.config)])
        os.makedirs(self.conf.state_path, exist_ok=True)
        db = Database.from_conf(self.conf)
        migration.sync(db)
        db.close()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flowstack.cmd.engine", "--config-file", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_serving(self, timeout: float = 60) -> None:
        transport = get_transport(self.conf)
        client = EngineClient(
            transport, topic=self.conf.rpc.topic, exchange=self.conf.rpc.exchange, timeout=2
        )
        ctx = RequestContext(project_id="probe")
        deadline = time.monotonic() + timeout
        try:
            while True:
                assert self.process is not None and self.process.poll() is None, self.log_text()
                try:
                    client.list_stacks(ctx)  # lost while no engine's queue is bound yet
                    return
                except exceptions.EngineUnavailable:
                    if time.monotonic() > deadline:
                        raise
        finally:
            transport.cleanup()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowstack.cli.app", "--config-file", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, **env},
        )

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def engine_process(tmp_path: Path) -> Iterator[EngineProcess]:
    services.need("rabbitmq")
    engine = EngineProcess(tmp_path)
    engine.start()
    try:
        engine.wait_until_serving()
        yield engine
    finally:
        if engine.process is not None and engine.process.poll() is None:
            engine.process.kill()
            engine.process.wait()


def test_the_cli_speaks_rpc_to_a_running_engine(engine_process: EngineProcess) -> None:
    template = engine_process.dir / "stack.yaml"
    template.write_text(TEMPLATE)
    created = engine_process.cli(
        "stack", "create", "web", "-t", str(template), "--wait", "-f", "json"
    )
    assert created.returncode == 0, created.stderr + engine_process.log_text()
    stack = json.loads(created.stdout)
    assert stack["stack_status"] == "CREATE_COMPLETE"
    assert stack["project"] == "embedded"  # neither --os-project-id nor OS_PROJECT_ID
    assert "CREATE_COMPLETE" in created.stderr  # the --wait progress, polled over RPC

    listed = engine_process.cli("stack", "list", "-f", "json")
    assert [s["stack_name"] for s in json.loads(listed.stdout)] == ["web"]
    output = engine_process.cli("stack", "output", "show", "web", "said", "-f", "json")
    assert json.loads(output.stdout)[0]["output_value"] == "hi"

    # Another project sees nothing, whether named by option or environment.
    other = engine_process.cli("--os-project-id", "other", "stack", "list", "-f", "json")
    assert json.loads(other.stdout) == []
    shown = engine_process.cli("stack", "show", "web", OS_PROJECT_ID="other")
    assert shown.returncode == 1
    assert "Stack not found: web" in shown.stderr
    assert "Traceback" not in shown.stderr

    deleted = engine_process.cli("stack", "delete", "web", "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert "DELETE_COMPLETE" in deleted.stdout


def test_sigterm_stops_the_engine_cleanly(engine_process: EngineProcess) -> None:
    started = time.monotonic()
    assert engine_process.stop() == 0
    assert time.monotonic() - started < 15
    log = engine_process.log_text()
    assert "SIGTERM received: stopping" in log
    assert "stopped" in log
    assert "Traceback" not in log


def test_the_engine_refuses_a_database_that_was_not_synced(tmp_path: Path) -> None:
    services.need("rabbitmq")
    engine = EngineProcess(tmp_path)
    os.remove(engine.conf.database.connection.removeprefix("sqlite:///"))
    engine.start()
    assert engine.process is not None
    assert engine.process.wait(timeout=60) == 1
    assert "Run `flowstack-manage db sync`" in engine.log_text()


SLOW = """
heat_template_version: 2018-08-31
resources:
  first: {type: OS::Heat::TestResource, properties: {value: one}}
  slow:
    type: OS::Heat::TestResource
    properties: {value: two, action_wait_secs: {create: 3}}
    depends_on: first
"""


def test_an_engine_without_jobboard_resumes_what_a_killed_one_left(
    engine_process: EngineProcess,
) -> None:
    """No jobboard: the engine runs flows itself, so its successor must resume them."""
    template = engine_process.dir / "slow.yaml"
    template.write_text(SLOW)
    started = engine_process.cli("stack", "create", "kept", "-t", str(template), "-f", "json")
    assert started.returncode == 0, started.stderr + engine_process.log_text()
    stack_id = json.loads(started.stdout)["id"]

    def resource(name: str) -> str:
        listed = engine_process.cli("stack", "resource", "list", stack_id, "-f", "json")
        rows = {r["resource_name"]: r["resource_status"] for r in json.loads(listed.stdout)}
        return rows.get(name, "")

    deadline = time.monotonic() + 60
    while resource("slow") != "CREATE_IN_PROGRESS":
        assert time.monotonic() < deadline, engine_process.log_text()
        time.sleep(0.2)
    assert engine_process.process is not None
    engine_process.process.kill()  # the runner of the flow, with it
    engine_process.process.wait()

    engine_process.start()
    engine_process.wait_until_serving()
    deadline = time.monotonic() + 60
    while True:
        shown = json.loads(engine_process.cli("stack", "show", stack_id, "-f", "json").stdout)
        if shown["stack_status"] != "CREATE_IN_PROGRESS":
            break
        assert time.monotonic() < deadline, engine_process.log_text()
        time.sleep(0.2)
    assert shown["stack_status"] == "CREATE_COMPLETE", shown["stack_status_reason"]
    events = json.loads(engine_process.cli("stack", "event", "list", stack_id, "-f", "json").stdout)
    first = [e for e in events if e["resource_name"] == "first"]
    assert [e["resource_status"] for e in first] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    assert "Resuming flow" in engine_process.log_text()
