"""`flowstack flow list|show|graph` as an operator runs them: real processes, embedded default."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Cli
from tests.unit.cli.test_cli import FAILING


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def failed_flow(cli: Cli) -> str:
    """The id of the flow of a create that failed and rolled back."""
    result = cli("stack", "create", "bad", "-t", cli.file("f.yaml", FAILING), "--wait")
    assert result.returncode == 1, result.stderr
    (flow,) = cli.json("flow", "list", "--stack", "bad")
    return str(flow["id"])


def test_list_and_show_a_failed_flow(cli: Cli, failed_flow: str) -> None:
    listed = cli.json("flow", "list", "--project", "embedded")
    assert [(f["id"], f["stack_name"], f["operation"], f["state"]) for f in listed] == [
        (failed_flow, "bad", "create", "REVERTED")
    ]
    assert cli.json("flow", "list", "--older-than", "3600") == []

    shown = cli.json("flow", "show", failed_flow)
    assert shown["state"] == "REVERTED"
    assert shown["failed_steps"] == ["wait-create:broken"]
    steps = {s["name"]: s for s in shown["steps"]}  # raw structures for machines
    assert steps["wait-create:broken"]["failure"]["type"] == "flowstack.exceptions.ResourceFailure"
    assert "Traceback" not in steps["wait-create:broken"]["failure"]["message"]
    assert steps["create:fine"]["reverted"] is True

    table = cli("flow", "show", failed_flow)
    assert table.returncode == 0, table.stderr
    assert "- name: stack-create-lifecycle" in table.stdout  # nested values as YAML text
    assert "type: flowstack.exceptions.ResourceFailure" in table.stdout
    assert "revert_failure" not in table.stdout  # empty fields are left out of the table


def test_graph_to_stdout_and_files(cli: Cli, failed_flow: str, tmp_path: Path) -> None:
    dot = cli("flow", "graph", failed_flow)
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout.startswith(f'digraph "flow-{failed_flow}"')
    assert '"wait-create:broken" [' in dot.stdout and 'fillcolor="red"' in dot.stdout

    written = cli("flow", "graph", failed_flow, "--output", str(tmp_path / "g.dot"))
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "g.dot").read_text() == dot.stdout

    wrong = cli("flow", "graph", failed_flow, "--output", str(tmp_path / "g.jpeg"))
    assert wrong.returncode == 1
    assert "unsupported format .jpeg; use .dot, .svg or .png" in wrong.stderr


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_graph_as_svg_with_graphviz(cli: Cli, failed_flow: str, tmp_path: Path) -> None:
    svg = tmp_path / "flow.svg"
    result = cli("flow", "graph", failed_flow, "--output", str(svg))
    assert result.returncode == 0, result.stderr
    assert f"Wrote {svg}" in result.stdout
    assert "<svg" in svg.read_text()


def test_graph_as_png_without_graphviz_writes_the_dot(
    cli: Cli, failed_flow: str, tmp_path: Path
) -> None:
    bare = tmp_path / "bin"  # a PATH without Graphviz
    bare.mkdir()
    result = subprocess.run(
        [
            *(sys.executable, "-m", "flowstack.cli.app", "--state-dir", str(cli.state)),
            *("flow", "graph", failed_flow, "--output", str(tmp_path / "flow.png")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PATH": str(bare)},
    )
    assert result.returncode == 1
    assert "Graphviz is not installed" in result.stderr
    assert f"the DOT source is in {tmp_path / 'flow.dot'}" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "flow.dot").read_text().startswith("digraph")
    assert not (tmp_path / "flow.png").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("flow", "show", "nothing-here"), "Flow not found: nothing-here"),
        (("flow", "graph", "nothing-here"), "Flow not found: nothing-here"),
        (("flow", "list", "--stack", "nothing-here"), "Stack not found: nothing-here"),
    ],
)
def test_bad_input_is_one_clear_line(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_list_by_state(
    cli: Cli, failed_flow: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # were --state read as --state-dir, it would land here
    listed = cli.json("flow", "list", "--state", "reverted")
    assert [f["id"] for f in listed] == [failed_flow]
    assert cli.json("flow", "list", "--state", "SUCCESS") == []
    bogus = cli("flow", "list", "--state", "bogus")
    assert bogus.returncode == 1 and "unknown flow state 'bogus'" in bogus.stderr
