"""The `flowstack` command run as a user runs it: a real process, on the embedded default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.state = tmp_path / "state"
        self.dir = tmp_path

    def file(self, name: str, text: str) -> str:
        path = self.dir / name
        path.write_text(text)
        return str(path)

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flowstack.cli.app", "--state-dir", str(self.state), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def json(self, *args: str) -> object:
        result = self(*args, "-f", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)
