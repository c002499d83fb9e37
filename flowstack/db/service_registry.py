"""The services table: engines and workers, and when each was last seen alive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import orm

from flowstack.db import models

_TABLE = models.Service.__table__


def beat(connection: sa.Connection, name: str, kind: str, host: str, pid: int) -> None:
    """Record that a service is alive (registering it on its first beat)."""
    now = models.utcnow()
    updated = connection.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.name == name)
        .values(last_seen=now, kind=kind, host=host, pid=pid)
    )
    if updated.rowcount == 0:
        connection.execute(
            sa.insert(_TABLE).values(
                name=name, kind=kind, host=host, pid=pid, started_at=now, last_seen=now
            )
        )


def remove(connection: sa.Connection, name: str) -> None:
    """A service that stops cleanly says so, so nobody waits for it to look dead."""
    connection.execute(sa.delete(_TABLE).where(_TABLE.c.name == name))


def alive(connection: sa.Connection, dead_after: float) -> set[str]:
    """Names of the services seen within ``dead_after`` seconds."""
    since = models.utcnow() - dt.timedelta(seconds=dead_after)
    return set(connection.scalars(sa.select(_TABLE.c.name).where(_TABLE.c.last_seen >= since)))


def list_all(session: orm.Session) -> Sequence[models.Service]:
    return session.scalars(sa.select(models.Service).order_by(models.Service.name)).all()
