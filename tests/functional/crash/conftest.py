"""Fixtures of the crash tests: a deployment of real processes per test.

Each test gets a fresh database (PostgreSQL, or MariaDB with
``FLOWSTACK_CRASH_DB=mysql``; ~0.3 s to create and migrate), its own Nova
simulator and jobboard namespace.  A database per test rather than per
module: a flow a failed test leaves unfinished would otherwise be re-posted
by the next test's reapers and run against the next test's simulator.

The jobboard is the shared Redis unless the test is parametrized over
every backend (``tests.jobboard_servers.every_jobboard``).

When a test fails, the tail of every log of the processes it started is
added to its report.  Takeover times and worker start-up times measured by
the tests are printed at the end of the run (they are measured, not
asserted: a loaded machine is slow, not wrong).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from flowstack.db import migration
from flowstack.db.session import Database
from tests.conftest import scratch_database
from tests.functional.crash.harness import Deployment
from tests.jobboard_servers import JobboardServers

#: (test, seconds from SIGKILL/SIGSTOP of the owner to another worker owning the flow)
TAKEOVERS: list[tuple[str, float]] = []
#: Seconds from starting workers to each announcing itself, over the whole run.
STARTUPS: list[float] = []


@pytest.fixture
def crash_db_url(tmp_path: Path) -> Iterator[str]:
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
    request: pytest.FixtureRequest,
    crash_db_url: str,
    key_file: Path,
    tmp_path: Path,
    jobboard_servers: JobboardServers,
    jobboard_kind: str,
) -> Iterator[Deployment]:
    built = Deployment(tmp_path, crash_db_url, key_file, jobboard_servers, jobboard_kind)
    request.node.crash_deployment = built
    try:
        yield built
    finally:
        STARTUPS.extend(built.startups)
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
    if not TAKEOVERS and not STARTUPS:
        return
    terminalreporter.section("crash tests: takeover times")
    for name, seconds in TAKEOVERS:
        terminalreporter.write_line(f"{seconds:6.2f} s  {name}")
    if STARTUPS:
        ordered = sorted(STARTUPS)
        terminalreporter.write_line(
            f"worker start-up (start to announced, {len(ordered)} workers): "
            f"median {statistics.median(ordered):.2f} s, max {ordered[-1]:.2f} s"
        )
