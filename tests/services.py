"""Which real services the tests can use on this machine.

A test that needs PostgreSQL, MariaDB, RabbitMQ or Redis uses the real
server when it answers and is skipped, with the reason, when it does not.
The other jobboard servers (Redis Sentinel, etcd, ZooKeeper) are started
privately by the tests on free ports (``tests/jobboard_servers.py``): a test
needs their programs installed (:func:`need_program`) and the Python client
TaskFlow's board imports (:func:`need_library`).
With FLOWSTACK_REQUIRE_SERVICES=1 (as CI sets it) a missing service fails
the test instead, so a run can never pass by skipping what it should test.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from pathlib import Path

import pytest

POSTGRESQL_URL = os.environ.get(
    "FLOWSTACK_TEST_POSTGRESQL_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
MYSQL_URL = os.environ.get("FLOWSTACK_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

ADDRESSES = {
    "postgresql": ("127.0.0.1", 5432),
    "mysql": ("127.0.0.1", 3306),
    "rabbitmq": ("127.0.0.1", 5672),
    "redis": ("127.0.0.1", 6379),
}

#: Programs of the private jobboard servers: where they are, and which Debian
#: package brings them (``.ci/run`` installs them).
PROGRAMS = {
    "redis-server": ("redis-server", "redis-server"),
    "etcd": ("etcd", "etcd-server"),
    "java": ("java", "default-jre-headless"),
    "zookeeper.jar": ("/usr/share/java/zookeeper.jar", "zookeeper"),
}
#: Python clients of TaskFlow's jobboards, and the extra of setup.cfg that declares them.
LIBRARIES = {"redis": "redis", "etcd3gw": "etcd", "kazoo": "zookeeper"}


def required() -> bool:
    return os.environ.get("FLOWSTACK_REQUIRE_SERVICES", "") not in ("", "0")


def answers(service: str, timeout: float = 1.0) -> bool:
    host, port = ADDRESSES[service]
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def need(service: str) -> None:
    """Skip (or, when services are required, fail) unless ``service`` answers."""
    if answers(service):
        return
    host, port = ADDRESSES[service]
    reason = f"{service} is not answering on {host}:{port}"
    if required():
        pytest.fail(f"{reason} (FLOWSTACK_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


def _missing(reason: str) -> None:
    if required():
        pytest.fail(f"{reason} (FLOWSTACK_REQUIRE_SERVICES is set)")
    pytest.skip(reason)


def need_program(name: str) -> str:
    """The path of a server program; skip (or fail) when it is not installed."""
    program, package = PROGRAMS[name]
    found = program if Path(program).is_absolute() and Path(program).exists() else None
    found = found or shutil.which(program)
    if found is None:
        _missing(f"{program} is not installed (Debian package {package})")
    return str(found)


def need_library(module: str) -> None:
    """Skip (or fail) unless a jobboard client library is importable."""
    if importlib.util.find_spec(module) is None:
        _missing(f"the {module} library is not installed (pip install '.[{LIBRARIES[module]}]')")
