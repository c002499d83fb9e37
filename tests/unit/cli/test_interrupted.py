"""A command interrupted, or killed, never leaves a stack that nothing can change.

Embedded, the flows run in the ``flowstack`` command itself.  The first
Ctrl-C stops them at their next step, saved, and says how to go on; a
command killed outright leaves its flow owned by a process that is gone.
Either way a later ``stack delete`` just works, and ``flow resume``
continues from the last saved step, with its progress shown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from tests.unit.cli.conftest import Cli

SLOW = """
heat_template_version: 2018-08-31
resources:
  first: {type: OS::Heat::TestResource, properties: {value: one}}
  slow:
    type: OS::Heat::TestResource
    properties: {value: two, action_wait_secs: {create: 6}}
    depends_on: first
"""


def _start_create(cli: Cli, name: str) -> subprocess.Popen[str]:
    template = cli.file(f"{name}.yaml", SLOW)
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "flowstack.cli.app", "--state-dir", str(cli.state)),
            *("stack", "create", name, "-t", template, "--wait"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_slow_is_building(cli: Cli, process: subprocess.Popen[str]) -> None:
    db_file = cli.state / "flowstack.sqlite"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the create never reached its slow resource"
        if db_file.exists():
            engine = sa.create_engine(f"sqlite:///{db_file}")
            try:
                with engine.connect() as connection:
                    state = connection.execute(
                        sa.text("SELECT action || '_' || status FROM resources WHERE name='slow'")
                    ).scalar()
            except sa.exc.OperationalError:
                state = None  # tables not there yet
            finally:
                engine.dispose()
            if state == "CREATE_IN_PROGRESS":
                return
        time.sleep(0.1)


def test_ctrl_c_stops_the_flow_saved_and_says_how_to_go_on(cli: Cli) -> None:
    process = _start_create(cli, "web")
    _wait_until_slow_is_building(cli, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Interrupted: stopping the running flow(s) at their next step" in err
    assert "Stopped flow " in err and "flowstack flow resume " in err
    assert "flowstack stack delete web" in err
    assert "Traceback" not in err
    [flow] = cli.json("flow", "list", "--stack", "web")
    assert (flow["state"], flow["owner"]) == ("STOPPED", None)

    # The resume continues from the saved step, with the progress of --wait.
    resumed = cli("flow", "resume", flow["id"], "-f", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert f"flow {flow['id']} resumed by" in resumed.stderr
    assert "web                      CREATE_COMPLETE" in resumed.stderr
    assert "first                    CREATE_COMPLETE" not in resumed.stderr  # not redone
    assert cli.json("stack", "show", "web", "-c", "stack_status") == {
        "stack_status": "CREATE_COMPLETE"
    }


def test_a_stack_whose_command_was_killed_can_be_deleted(cli: Cli) -> None:
    process = _start_create(cli, "db")
    _wait_until_slow_is_building(cli, process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    [flow] = cli.json("flow", "list", "--stack", "db")
    assert flow["state"] == "RUNNING"  # owned by a process that is gone

    deleted = cli("stack", "delete", "db", "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert "db: DELETE_COMPLETE" in deleted.stdout
    assert "was left unfinished (nobody runs it); deleting the stack instead" in deleted.stderr
    flows = {f["operation"]: f["state"] for f in cli.json("flow", "list", "--stack", "db")}
    assert flows == {"create": "ABANDONED", "delete": "SUCCESS"}


def test_a_stack_busy_in_another_live_command_is_not_taken_over(cli: Cli) -> None:
    process = _start_create(cli, "busy")
    try:
        _wait_until_slow_is_building(cli, process)
        refused = cli("stack", "delete", "busy")
        assert refused.returncode == 1
        assert "is CREATE_IN_PROGRESS; wait for the running operation" in refused.stderr
    finally:
        process.kill()
        process.communicate(timeout=60)
