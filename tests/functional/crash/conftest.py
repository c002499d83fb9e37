"""Fixtures of the crash tests: a deployment of real processes per test.

Each test gets a fresh database (PostgreSQL, or MariaDB with
``FLOWSTACK_CRASH_DB=mysql``; ~0.3 s to create and migrate), its own Nova
simulator and jobboard namespace.  A database per test rather than per
module: a flow a failed test leaves unfinished would otherwise be re-posted
by the next test's reapers and run against the next test's simulator.

When a test fails, the tail of every log of the processes it started is
added to its report.  Takeover times measured by the tests are printed at
the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from flowstack.db import migration
from flowstack.db.session import Database
from tests import services
from tests.conftest import scratch_database
from tests.functional.crash.harness import Deployment

#: (test, seconds from SIGKILL/SIGSTOP of the owner to another worker owning the flow)
TAKEOVERS: list[tuple[str, float]] = []


@pytest.fixture
def crash_db_url(tmp_path: Path) -> Iterator[str]:
    services.need("redis")
    kind = os.environ.get("FLOWSTACK_CRASH_DB", "postgresql")
    with scratch_database(kind, tmp_path) as url:
        db = Database(url)
        try:
            migration.sync(db)
        finally:
            db.close()
        yield url


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one encryption key every process of the deployment shares."""
    path = tmp_path_factory.mktemp("crash-key") / "secret.key"
    path.write_bytes(Fernet.generate_key())
    path.chmod(0o600)
    return path


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest, crash_db_url: str, key_file: Path, tmp_path: Path
) -> Iterator[Deployment]:
    built = Deployment(tmp_path, crash_db_url, key_file)
    request.node.crash_deployment = built
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def takeover(request: pytest.FixtureRequest):
    """Record a measured takeover time for the end-of-run summary."""

    def record(seconds: float, what: str = "") -> None:
        TAKEOVERS.append((f"{request.node.name}{f' ({what})' if what else ''}", seconds))

    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    built = getattr(item, "crash_deployment", None)
    if report.failed and built is not None:
        for label, text in built.logs():
            report.sections.append((f"log of {label}", text))
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    if not TAKEOVERS:
        return
    terminalreporter.section("crash tests: takeover times")
    for name, seconds in TAKEOVERS:
        terminalreporter.write_line(f"{seconds:6.2f} s  {name}")
