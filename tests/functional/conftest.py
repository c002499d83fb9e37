"""Fixtures of the functional tests: the real jobboard servers of every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.jobboard_servers import JobboardServers


@pytest.fixture(scope="session")
def jobboard_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobboardServers]:
    """Redis, Redis Sentinel, etcd and ZooKeeper, each started when a test first needs it."""
    servers = JobboardServers(tmp_path_factory.mktemp("jobboard-servers"))
    yield servers
    servers.close()


@pytest.fixture
def jobboard_kind(request: pytest.FixtureRequest) -> str:
    """The jobboard backend of a test: Redis, unless parametrized (``every_jobboard``)."""
    return getattr(request, "param", "redis")
