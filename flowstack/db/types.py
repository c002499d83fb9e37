"""Column types shared by the models and the migrations.

Kept apart from the models so that a migration written today still
imports the same types after the models change.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# MySQL/MariaDB DATETIME drops fractions of a second unless told otherwise;
# events need them to show which resources really overlapped.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# MySQL TEXT is 64 KiB: templates, outputs and encrypted documents can be larger.
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


class JsonDocument(sa.types.TypeDecorator):
    """A JSON-safe value stored as text, identically on every server.

    SQLAlchemy's JSON type becomes LONGTEXT with a check on MariaDB, native
    JSON on MySQL and PostgreSQL; storing text keeps one behaviour (and one
    migration) everywhere.  flowstack never queries inside these documents.
    """

    impl = LongText
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        return None if value is None else json.loads(value)
