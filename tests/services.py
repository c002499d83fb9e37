"""Which real services the tests can use on this machine.

A test that needs PostgreSQL, MariaDB, RabbitMQ or Redis uses the real
server when it answers and is skipped, with the reason, when it does not.
With FLOWSTACK_REQUIRE_SERVICES=1 (as CI sets it) a missing service fails
the test instead, so a run can never pass by skipping what it should test.
"""

from __future__ import annotations

import os
import socket

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
