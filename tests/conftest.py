"""Fixtures shared by every test: configuration, databases, an engine runtime."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from flowstack import threads_only

# flowstack's processes run on threads; the tests run its code in this one.
threads_only.enforce()

from flowstack.conf import loading  # noqa: E402
from flowstack.db import migration  # noqa: E402
from flowstack.db.session import Database  # noqa: E402
from tests import services  # noqa: E402

DB_KINDS = ("sqlite", "postgresql", "mysql")


@pytest.fixture
def conf(tmp_path: Path) -> cfg.ConfigOpts:
    """A configuration like the embedded default's, inside the test's directory."""
    conf = loading.load([], config_files=[], state_path=str(tmp_path / "state"))
    conf.set_override("poll_interval", 0.02, group="engine")
    conf.set_override("poll_checkpoint_secs", 0.5, group="engine")
    conf.set_override("max_workers", 16, group="engine")
    return conf


@contextlib.contextmanager
def scratch_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of ``kind``, dropped afterwards; yields its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    services.need(kind)
    name = f"flowstack_test_{uuid.uuid4().hex[:12]}"
    server_url = services.POSTGRESQL_URL if kind == "postgresql" else services.MYSQL_URL
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
        yield (
            sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            if kind == "postgresql":
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture(params=DB_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each supported server (SQLite, PostgreSQL, MariaDB)."""
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def synced_db(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    migration.sync(db)
    yield db
    db.close()
