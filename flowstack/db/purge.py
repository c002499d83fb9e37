"""Purge what nobody needs any more: deleted stacks and finished flows past an age.

A deleted stack keeps its row, resources, events, flows and TaskFlow logbook
(whose uuid is the stack's id) so that its history can be read; a purge
removes all of them.  Finished flows (SUCCESS, REVERTED, FAILURE) of live
stacks go with their TaskFlow flow details; a quarantined flow waits for an
operator and is never purged.

Rows are deleted explicitly, children first, rather than through foreign-key
cascades, which not every database enforces on TaskFlow's tables.  Each
stack (and each batch of flows) is its own short transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Sequence

import sqlalchemy as sa

from flowstack.db import flow_records as flows
from flowstack.db import models
from flowstack.db.session import Database
from flowstack.taskflow_adapter import schema as taskflow_schema

FLOW_BATCH = 200
_STACKS = models.Stack.__table__
_RESOURCES = models.Resource.__table__
_EVENTS = models.Event.__table__
_FLOWS = models.Flow.__table__
TABLES = taskflow_schema.TABLES


@dataclasses.dataclass
class Purged:
    """How many rows of each kind were (or, in a dry run, would be) removed."""

    stacks: int = 0
    resources: int = 0
    events: int = 0
    flows: int = 0  # of deleted stacks
    finished_flows: int = 0  # of live stacks
    logbooks: int = 0
    flow_details: int = 0
    atom_details: int = 0


def purge(db: Database, older_than: dt.timedelta, *, dry_run: bool = False) -> Purged:
    """Remove deleted stacks and finished flows older than ``older_than``."""
    cutoff = models.utcnow() - older_than
    counts = Purged()
    with db.read_connection() as connection:
        stack_ids = connection.scalars(
            sa.select(_STACKS.c.id).where(_STACKS.c.deleted_id != "", _STACKS.c.deleted_at < cutoff)
        ).all()
    for stack_id in stack_ids:
        _purge_stack(db, stack_id, counts, dry_run)
    with db.read_connection() as connection:
        flow_ids = connection.scalars(
            sa.select(_FLOWS.c.id)
            .join(_STACKS, _STACKS.c.id == _FLOWS.c.stack_id)
            .where(
                _STACKS.c.deleted_id == "",
                _FLOWS.c.state.in_(sorted(flows.TERMINAL)),
                _FLOWS.c.finished_at < cutoff,
            )
        ).all()
    for start in range(0, len(flow_ids), FLOW_BATCH):
        _purge_flows(db, flow_ids[start : start + FLOW_BATCH], counts, dry_run)
    return counts


def _purge_stack(db: Database, stack_id: str, counts: Purged, dry_run: bool) -> None:
    atoms, details, books = TABLES.atomdetails, TABLES.flowdetails, TABLES.logbooks
    with db.write_connection() as connection:
        remove = functools.partial(_remove, connection, dry_run)
        detail_ids = connection.scalars(
            sa.select(details.c.uuid).where(details.c.parent_uuid == stack_id)
        ).all()
        counts.atom_details += remove(atoms, atoms.c.parent_uuid.in_(detail_ids))
        counts.flow_details += remove(details, details.c.parent_uuid == stack_id)
        counts.logbooks += remove(books, books.c.uuid == stack_id)
        counts.events += remove(_EVENTS, _EVENTS.c.stack_id == stack_id)
        counts.resources += remove(_RESOURCES, _RESOURCES.c.stack_id == stack_id)
        counts.flows += remove(_FLOWS, _FLOWS.c.stack_id == stack_id)
        counts.stacks += remove(_STACKS, _STACKS.c.id == stack_id)


def _purge_flows(db: Database, flow_ids: Sequence[str], counts: Purged, dry_run: bool) -> None:
    atoms, details = TABLES.atomdetails, TABLES.flowdetails
    with db.write_connection() as connection:
        remove = functools.partial(_remove, connection, dry_run)
        counts.atom_details += remove(atoms, atoms.c.parent_uuid.in_(flow_ids))
        counts.flow_details += remove(details, details.c.uuid.in_(flow_ids))
        counts.finished_flows += remove(_FLOWS, _FLOWS.c.id.in_(flow_ids))


def _remove(
    connection: sa.Connection, dry_run: bool, table: sa.Table, where: sa.ColumnElement[bool]
) -> int:
    """Delete the matching rows (count them in a dry run); how many."""
    if dry_run:
        return int(
            connection.scalar(sa.select(sa.func.count()).select_from(table).where(where)) or 0
        )
    return int(connection.execute(sa.delete(table).where(where)).rowcount)
