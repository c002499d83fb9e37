"""Every command answers --version, and a service that cannot start says why in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import flowstack

SERVICES = ["flowstack.cmd.engine", "flowstack.cmd.worker", "flowstack.cmd.api"]
COMMANDS = [*SERVICES, "flowstack.cmd.manage", "flowstack.cli.app", "flowstack.nova_sim.cli"]


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("module", COMMANDS)
def test_every_command_has_a_version(module: str) -> None:
    result = _run(module, "--version")
    assert result.returncode == 0, result.stderr
    assert flowstack.__version__ in result.stdout + result.stderr


def _one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize("module", [*SERVICES, "flowstack.cmd.manage"])
def test_a_missing_config_file_is_one_line(module: str, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.conf")
    args = ["--config-file", missing] + (["db", "version"] if module.endswith("manage") else [])
    _one_clear_line(_run(module, *args), "configuration file not found", missing)


@pytest.mark.parametrize("module", [*SERVICES, "flowstack.cmd.manage"])
def test_a_malformed_database_url_is_one_line_without_its_password(
    module: str, tmp_path: Path
) -> None:
    config = tmp_path / "flowstack.conf"
    config.write_text("[database]\nconnection = postgress://admin:hunter2@db/flowstack\n")
    args = ["--config-file", str(config)] + (["db", "sync"] if module.endswith("manage") else [])
    result = _run(module, *args)
    _one_clear_line(result, "[database] connection", "postgress://admin:***@db/flowstack")
    assert "hunter2" not in result.stderr


def test_manage_help_is_plain_text() -> None:
    result = _run("flowstack.cmd.manage", "--help")
    assert result.returncode == 0
    assert "flowstack-manage db sync|version" in result.stdout
    assert "``" not in result.stdout and "::" not in result.stdout
