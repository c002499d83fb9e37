"""The `flowstack` command as a user runs it: real processes, embedded default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowstack.db import migration
from tests.unit.cli.conftest import Cli

GOOD = """
heat_template_version: 2018-08-31
parameters:
  greeting: {type: string, default: hello}
resources:
  one:
    type: OS::Heat::TestResource
    properties: {value: {get_param: greeting}}
  two:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [one, output]}}
outputs:
  said: {value: {get_attr: [two, output]}, description: what two stored}
"""
FAILING = """
heat_template_version: 2018-08-31
resources:
  fine: {type: OS::Heat::TestResource}
  broken:
    type: OS::Heat::TestResource
    properties: {fail: true}
    depends_on: fine
"""
INVALID = """
heat_template_version: 2018-08-31
resources:
  web:
    type: OS::Heat::TestResource
    properties: {value: 1, colour: blue}
  db:
    type: OS::Heat::TestResouce
"""


def test_stack_lifecycle_through_the_cli(cli: Cli) -> None:
    template = cli.file("good.yaml", GOOD)
    created = cli(
        "stack",
        "create",
        "app",
        "-t",
        template,
        "--parameter",
        "greeting=hi there",
        "--wait",
        "-f",
        "json",
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["stack_status"] == "CREATE_COMPLETE"
    assert "2/2 created" in created.stderr  # live progress went to stderr
    assert "CREATE_COMPLETE" in created.stderr

    # a later command (another process) sees the stack
    assert cli.json("stack", "list", "-c", "stack_name", "-c", "stack_status") == [
        {"stack_name": "app", "stack_status": "CREATE_COMPLETE"}
    ]
    resources = cli.json("stack", "resource", "list", "app")
    assert {r["resource_name"]: r["resource_status"] for r in resources} == {
        "one": "CREATE_COMPLETE",
        "two": "CREATE_COMPLETE",
    }
    outputs = cli.json("stack", "output", "show", "app", "--all")
    assert outputs == [
        {
            "output_key": "said",
            "output_value": "hi there",
            "description": "what two stored",
            "output_error": None,
        }
    ]
    events = cli.json("stack", "event", "list", "app")
    assert events[0]["resource_status"] == "CREATE_IN_PROGRESS"
    assert events[-1]["resource_status"] == "CREATE_COMPLETE"

    deleted = cli("stack", "delete", "app", "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert "DELETE_COMPLETE" in deleted.stdout
    assert cli.json("stack", "list") == []


def test_failed_create_with_wait_exits_non_zero_and_says_why(cli: Cli) -> None:
    result = cli("stack", "create", "bad", "-t", cli.file("f.yaml", FAILING), "--wait")
    assert result.returncode == 1
    assert "ROLLBACK_COMPLETE" in result.stderr
    assert "resources.broken: Test Resource failed broken" in result.stderr
    assert "Traceback" not in result.stderr
    show = cli.json("stack", "show", "bad", "-c", "stack_status")
    assert show == {"stack_status": "ROLLBACK_COMPLETE"}


def test_invalid_template_gets_every_error_by_place_and_no_traceback(cli: Cli) -> None:
    result = cli("template", "validate", "-t", cli.file("bad.yaml", INVALID))
    assert result.returncode == 1
    assert "resources.web.properties.colour" in result.stderr
    assert "resources.db.type" in result.stderr
    assert "OS::Heat::TestResource" in result.stderr  # the supported types are listed
    assert "Traceback" not in result.stderr
    assert cli.json("stack", "list") == []


def test_validate_describes_parameters(cli: Cli) -> None:
    result = cli.json("template", "validate", "-t", cli.file("good.yaml", GOOD))
    assert result["Parameters"]["greeting"]["Default"] == "hello"
    assert result["Warnings"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("stack", "show", "nothing-here"), "Stack not found: nothing-here"),
        (("stack", "create", "x", "-t", "/does/not/exist.yaml"), "cannot read template"),
        (("stack", "output", "show", "nothing-here", "--all"), "Stack not found"),
    ],
)
def test_errors_are_one_clear_line(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_parameter_argument(cli: Cli) -> None:
    result = cli(
        "stack", "create", "x", "-t", cli.file("good.yaml", GOOD), "--parameter", "novalue"
    )
    assert result.returncode == 1
    assert "--parameter 'novalue': expected KEY=VALUE" in result.stderr


def test_resource_types_are_listed(cli: Cli) -> None:
    types = {row["resource_type"] for row in cli.json("resource", "type", "list")}
    assert {"OS::Heat::None", "OS::Heat::TestResource", "OS::Heat::RandomString"} <= types


GROUP_OF_SERVERS = """
heat_template_version: 2018-08-31
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 2
      max_size: 3
      resource:
        type: OS::Nova::Server
        properties: {image: cirros, flavor: m1.tiny}
"""


def test_demo_runs_the_main_job(cli: Cli) -> None:
    # The user's own servers, in a scaling group (nested stacks): not orphans.
    mine = cli("stack", "create", "mine", "-t", cli.file("asg.yaml", GROUP_OF_SERVERS), "--wait")
    assert mine.returncode == 0, mine.stderr
    first = cli("demo", "--build-secs", "0.2")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "CREATE_COMPLETE" in first.stdout
    assert "ROLLBACK_COMPLETE" in first.stdout
    assert "resources left behind: 0" in first.stdout
    assert "[ok] demo-servers is CREATE_COMPLETE" in first.stdout
    assert "[ok] no orphaned server in Nova" in first.stdout
    assert "[FAILED]" not in first.stdout
    again = cli("demo", "--build-secs", "0.2")  # an earlier run's stacks do not get in the way
    assert again.returncode == 0, again.stdout + again.stderr
    assert "[FAILED]" not in again.stdout
    none = cli("orphans", "list")
    assert none.returncode == 0, none.stderr
    assert none.stdout.startswith("No orphans:")
    assert cli.json("orphans", "list") == []


def test_manage_db_sync_and_version(tmp_path: Path) -> None:
    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowstack.cmd.manage", "--state-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert manage("db", "version").stdout.startswith("none")
    synced = manage("db", "sync")
    assert synced.returncode == 0, synced.stderr
    assert manage("db", "version").stdout.strip() == migration.head_version()


def test_unreachable_database_is_named_without_its_password(cli: Cli) -> None:
    config = cli.file(
        "bad.conf",
        "[database]\nconnection = postgresql+psycopg2://flow:topsecret@127.0.0.1:1/flowstack\n"
        "max_retries = 1\nretry_interval = 0\n",
    )
    result = cli("--config-file", config, "stack", "list")
    assert result.returncode == 1
    assert "Cannot connect to the database postgresql+psycopg2://flow:***@127.0.0.1:1" in (
        result.stderr
    )
    assert "topsecret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


PAIR = """
heat_template_version: 2018-08-31
parameters:
  word: {type: string}
resources:
  first:
    type: OS::Heat::TestResource
    properties: {value: {get_param: word}}
  second:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [first, output]}}
  third:
    type: OS::Heat::TestResource
    properties: {value: {get_file: word.txt}}
outputs:
  echoed: {value: {get_attr: [second, output]}}
  read: {value: {get_attr: [third, output]}}
"""
GROUP_OF_PAIRS = """
heat_template_version: 2018-08-31
resources:
  pairs:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 3
      desired_capacity: 2
      resource:
        type: pair.yaml
        properties: {word: ping}
outputs:
  echoes: {value: {get_attr: [pairs, outputs_list, echoed]}}
  reads: {value: {get_attr: [pairs, outputs_list, read]}}
"""


def test_template_files_next_to_the_template_are_sent_with_it(cli: Cli) -> None:
    template = cli.file("group.yaml", GROUP_OF_PAIRS)
    missing = cli("stack", "create", "g", "-t", template)
    assert missing.returncode != 0
    assert "needs pair.yaml" in missing.stderr
    assert "No such file" in missing.stderr

    cli.file("pair.yaml", PAIR)
    cli.file("word.txt", "ping")
    validated = cli("template", "validate", "-t", template)
    assert validated.returncode == 0, validated.stderr
    created = cli("stack", "create", "g", "-t", template, "--wait", "-f", "json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["stack_status"] == "CREATE_COMPLETE"
    outputs = {
        o["output_key"]: o["output_value"]
        for o in cli.json("stack", "output", "show", "g", "--all")
    }
    assert outputs == {"echoes": ["ping", "ping"], "reads": ["ping", "ping"]}
    group = cli.json("group", "show", "g/pairs")
    assert group["current_size"] == 2
    deleted = cli("stack", "delete", "g", "--wait")
    assert deleted.returncode == 0, deleted.stderr


def test_failed_create_without_wait_exits_non_zero_too(cli: Cli) -> None:
    """Embedded, the command runs the flow to its end even without --wait: it saw it fail."""
    result = cli("stack", "create", "bad", "-t", cli.file("f.yaml", FAILING), "-f", "value")
    assert result.returncode == 1
    assert "ROLLBACK_COMPLETE" in result.stdout
    assert "Stack bad ROLLBACK_COMPLETE: " in result.stderr


def test_delete_wait_shows_the_delete_only_and_one_event_per_failure(cli: Cli) -> None:
    template = cli.file("f.yaml", FAILING)
    failed = cli("stack", "create", "kept", "-t", template, "--disable-rollback", "--wait")
    assert failed.returncode == 1
    events = cli.json("stack", "event", "list", "kept")
    stack_failures = [
        e
        for e in events
        if e["resource_name"] == "kept" and e["resource_status"] == "CREATE_FAILED"
    ]
    assert len(stack_failures) == 1, stack_failures
    deleted = cli("stack", "delete", "kept", "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert "CREATE_" not in deleted.stderr  # the create's events are not replayed
    assert "Stack DELETE started" in deleted.stderr
    assert "failed: broken" not in deleted.stderr  # a create failure is not a delete's
