"""The architecture as executable checks: layers, cycles, TaskFlow's internals, types, tests.

The layer order and the other import contracts are written once, in
``pyproject.toml`` (``[tool.importlinter]``); the README's "Where things
live" explains them.
"""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("flowstack", "flows")
ADAPTER = ROOT / "flowstack" / "taskflow_adapter"
#: TaskFlow modules that are implementation, not API: only the adapter may use them.
TASKFLOW_INTERNALS = re.compile(
    r"^taskflow\.(engines\.action_engine|persistence\.backends|conductors\.backends|utils)\b"
)
#: Test folders that test the whole system rather than one package, and why.
SYSTEM_SUITES = {
    "crash": "real processes killed, paused and restarted (workers, Redis, the simulator)",
}


def _sources(*roots: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if ".venv" not in p.parts)


def test_the_import_contracts_hold() -> None:
    """Nothing imports upward, the RPC client stays light, the simulator apart, no cycles."""
    # The command developers run (lint-imports), from this interpreter.
    probe = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    result = subprocess.run(
        [sys.executable, "-c", probe, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_taskflow_internals_are_used_by_the_adapter_only() -> None:
    found = []
    for path in _sources(*(ROOT / p for p in PACKAGES)):
        if ADAPTER in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            found.extend(
                f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                for name in names
                if TASKFLOW_INTERNALS.match(name)
            )
    assert found == [], "use flowstack.taskflow_adapter instead:\n" + "\n".join(found)


def test_the_pure_packages_type_check() -> None:
    from mypy import api

    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml")])
    assert status == 0, out + err


def _package_names() -> set[str]:
    names = set(PACKAGES)
    for package in PACKAGES:
        for path in (ROOT / package).iterdir():
            if path.suffix == ".py" or (path / "__init__.py").exists():
                names.add(path.stem)
    return names


@pytest.mark.parametrize("kind", ["unit", "functional"])
def test_tests_mirror_the_package_layout(kind: str) -> None:
    """tests/<kind>/<package>/ tests that package; a test module at the top names a module."""
    known = _package_names()
    strays = []
    for path in sorted((ROOT / "tests" / kind).iterdir()):
        if path.name.startswith(("_", ".")) or path.name == "conftest.py":
            continue
        name = path.name if path.is_dir() else path.stem.removeprefix("test_")
        if path.is_file() and not path.name.startswith("test_"):
            continue  # helpers
        if name not in known and name not in SYSTEM_SUITES:
            strays.append(str(path.relative_to(ROOT)))
    assert strays == [], (
        "each test folder is named after the package it tests "
        f"(or is one of {sorted(SYSTEM_SUITES)}): {strays}"
    )
