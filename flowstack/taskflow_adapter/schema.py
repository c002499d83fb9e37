"""TaskFlow's own logbook tables, in flowstack's database.

TaskFlow defines its SQL schema in ``taskflow.persistence.backends.sqlalchemy.tables``
and migrates it with its own alembic scripts through the SQLAlchemy backend's
``upgrade()``; flowstack keeps both as they are, so TaskFlow's own tools can
read the logbooks, and runs the upgrade from ``flowstack-manage db sync``.
"""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from taskflow import exceptions as tf_exc
from taskflow.persistence.backends import impl_sqlalchemy
from taskflow.persistence.backends.sqlalchemy import tables

#: The logbook, flow detail and atom detail tables, built once per process.
TABLES = tables.fetch(sa.MetaData())

#: What an upgrade raises when the database cannot be reached or changed.
StorageFailure = tf_exc.StorageFailure


def upgrade(url: str, engine: sa.Engine, lock: contextlib.AbstractContextManager[Any]) -> None:
    """Create or upgrade TaskFlow's tables (its alembic history) on ``engine``.

    :raises StorageFailure: the database refused or went away.
    """
    backend = impl_sqlalchemy.SQLAlchemyBackend({"connection": url}, engine=engine)
    with lock, contextlib.closing(backend.get_connection()) as connection:
        connection.upgrade()
