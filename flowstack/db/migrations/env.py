"""Alembic environment for flowstack's own tables.

The version lives in ``flowstack_alembic_version`` because TaskFlow's
migrations, run by the same ``db sync`` on the same database, already use
alembic's default ``alembic_version`` table.
"""

from alembic import context

from flowstack.db import models

VERSION_TABLE = "flowstack_alembic_version"


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=models.Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
