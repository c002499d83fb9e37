"""``db sync``: flowstack's alembic migrations, then TaskFlow's, on one database."""

from __future__ import annotations

import os

from alembic import command
from alembic import config as alembic_config
from alembic.runtime import migration as alembic_migration
from alembic.script import ScriptDirectory

from flowstack import exceptions
from flowstack.db.session import Database
from flowstack.taskflow_adapter import schema as taskflow_schema

_SCRIPTS = os.path.join(os.path.dirname(__file__), "migrations")
VERSION_TABLE = "flowstack_alembic_version"


def _alembic_config() -> alembic_config.Config:
    cfg = alembic_config.Config()
    cfg.set_main_option("script_location", _SCRIPTS)
    return cfg


def sync(db: Database, revision: str = "head") -> None:
    """Bring flowstack's tables and TaskFlow's logbook tables up to date."""
    cfg = _alembic_config()
    with db.write_lock, db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    try:
        taskflow_schema.upgrade(db.url, db.engine, db.write_lock)
    except taskflow_schema.StorageFailure as exc:
        raise exceptions.DatabaseUnavailable(
            f"Upgrading TaskFlow's tables in {db.safe_url} failed: {exc}"
        ) from None


def current_version(db: Database) -> str | None:
    """The applied revision of flowstack's tables, None before the first sync."""
    with db.engine.connect() as connection:
        ctx = alembic_migration.MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        )
        return ctx.get_current_revision()


def head_version() -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def check_current(db: Database) -> None:
    """Refuse to run on a database that ``db sync`` has not brought up to date."""
    current, head = current_version(db), head_version()
    if current != head:
        state = "has no flowstack tables" if current is None else f"is at revision {current}"
        raise exceptions.ConfigError(
            f"The database {db.safe_url} {state}; this flowstack needs {head}. "
            "Run `flowstack-manage db sync`."
        )
