"""db sync on SQLite, PostgreSQL and MariaDB; models and migrations agree."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from flowstack.db import migration, models
from flowstack.db.session import Database

FLOWSTACK_TABLES = {
    "stacks",
    "resources",
    "events",
    "flows",
    "services",
    "scaling_groups",
    "scaling_policies",
    "scale_events",
}
TASKFLOW_TABLES = {"logbooks", "flowdetails", "atomdetails"}


def test_sync_creates_flowstack_and_taskflow_tables(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert migration.current_version(db) is None
        migration.sync(db)
        tables = set(sa.inspect(db.engine).get_table_names())
        assert tables >= FLOWSTACK_TABLES | TASKFLOW_TABLES
        assert migration.current_version(db) == migration.head_version()
        migration.check_current(db)
        migration.sync(db)  # a second sync is a no-op, not an error
        assert migration.current_version(db) == migration.head_version()
    finally:
        db.close()


def test_models_and_migrations_agree(synced_db: Database) -> None:
    with synced_db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, parent: (
                    kind != "table" or name in FLOWSTACK_TABLES
                ),
            },
        )
        differences = compare_metadata(context, models.Base.metadata)
    assert differences == []


def test_check_current_names_the_fix_on_an_empty_database(db_url: str) -> None:
    db = Database(db_url)
    try:
        try:
            migration.check_current(db)
        except Exception as exc:
            message = str(exc)
        else:
            raise AssertionError("an empty database must be refused")
        assert "flowstack-manage db sync" in message
        assert "has no flowstack tables" in message
    finally:
        db.close()
