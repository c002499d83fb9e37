"""A TaskFlow persistence backend sharing flowstack's engine and tables.

Works around: TaskFlow's stock SQLAlchemy backend builds a new ``Connection``
for every save, and each one builds new ``Table`` objects; SQLAlchemy's
statement cache is keyed on those objects, so every save compiles its SQL
again, and on SQLite (NullPool) every save opened a database connection
too.  Measured here at ~40 ms per task.  This backend keeps one connection
object per runner with the process's tables (built once,
:mod:`flowstack.taskflow_adapter.schema`), writes an atom state change as a
single UPDATE instead of SELECT + merge + UPDATE, and inserts a flow's new
atoms in one executemany.  The schema is TaskFlow's own, so stock tools
still read it.  It reaches into ``impl_sqlalchemy.Connection``'s private
``_tables``/``_converter``/``_engine`` and its ``_Alchemist``.

Upstream patch to send: make ``SQLAlchemyBackend.get_connection()`` return
one long-lived ``Connection`` whose tables are built once per backend
(``tables.fetch`` in ``SQLAlchemyBackend.__init__``), and let
``update_atom_details`` issue a plain UPDATE (the row exists once the flow
detail is saved); that removes the need for this subclass but the fencing.

A runner gets a backend bound to its fence (anything with
``check(connection)``, :class:`flowstack.runtime.fencing.Fence`): every save
then checks, in its own transaction, that the runner still owns the flow.

TaskFlow also saves a task's progress (0.0 when it starts, 1.0 when it
ends) as separate writes next to its state changes; flowstack's tasks do
not report progress, so a save that changes nothing but the progress is
skipped.  That halves the writes per task.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import json
import threading
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from taskflow import exceptions as tf_exc
from taskflow import states as tf_states
from taskflow.persistence import models as tf_models
from taskflow.persistence.backends import impl_sqlalchemy

from flowstack.taskflow_adapter.schema import TABLES

# SET columns come from the execution parameters: one statement object,
# compiled once, instead of .values(...) building a new one per save.
_UPDATE_ATOM = sa.update(TABLES.atomdetails).where(
    TABLES.atomdetails.c.uuid == sa.bindparam("where_uuid")
)
PROGRESS = "progress"
# Timings kept in an atom's meta (see _stamp).
STARTED_AT = "started_at"
ENDED_AT = "ended_at"
REVERT_STARTED_AT = "revert_started_at"
REVERTED_AT = "reverted_at"
_ENDED = frozenset(
    {tf_states.SUCCESS, tf_states.FAILURE, tf_states.REVERTED, tf_states.REVERT_FAILURE}
)
_REMEMBERED_ATOMS = 100_000


class Database(Protocol):
    """What the backend needs of :class:`flowstack.db.session.Database`."""

    url: str
    engine: sa.Engine
    write_lock: contextlib.AbstractContextManager[Any]


class WriteGuard(Protocol):
    """Raises inside a write transaction when the runner lost its flow (a fence)."""

    def check(self, connection: sa.Connection) -> None: ...


class Backend(impl_sqlalchemy.SQLAlchemyBackend):
    """TaskFlow backend over flowstack's database (its engine and its write lock)."""

    def __init__(self, db: Database, fence: WriteGuard | None = None) -> None:
        super().__init__({"connection": db.url}, engine=db.engine)
        self.db = db
        self.fence = fence
        self._connection = Connection(self)

    def get_connection(self) -> Connection:
        return self._connection

    def close(self) -> None:
        """The engine belongs to the Database; nothing to release here."""


class Connection(impl_sqlalchemy.Connection):
    """One long-lived connection object; safe to share between threads."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend, backend._upgrade_lock)
        # The process's tables instead of the ones just built: SQLAlchemy's
        # statement cache is keyed on them (see the module docstring).
        self._metadata = TABLES.logbooks.metadata
        self._tables = TABLES
        self._converter = impl_sqlalchemy._Alchemist(TABLES)
        self._write_lock = backend.db.write_lock
        self._fence = backend.fence
        # atom uuid -> fingerprint of what this process last wrote for it
        self._written: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._states: dict[str, str] = {}
        self._written_lock = threading.Lock()

    def close(self) -> None:
        """Shared and long-lived: closing a use of it releases nothing."""

    @contextlib.contextmanager
    def _writing(self, what: str):
        try:
            with self._write_lock, self._engine.begin() as conn:
                if self._fence is not None:
                    self._fence.check(conn)
                yield conn
        except sa_exc.SQLAlchemyError:
            tf_exc.raise_with_cause(tf_exc.StorageFailure, f"Failed {what}")

    def update_atom_details(self, atom_detail: tf_models.AtomDetail) -> tf_models.AtomDetail:
        with self._written_lock:
            changed_state = self._states.get(atom_detail.uuid) != atom_detail.state
        if changed_state:
            _stamp(atom_detail)
        values = atom_detail.to_dict()
        fingerprint = _fingerprint(values)
        with self._written_lock:
            if self._written.get(atom_detail.uuid) == fingerprint:
                return atom_detail  # only the progress changed
        with self._writing(f"updating atom details with uuid '{atom_detail.uuid}'") as conn:
            result = conn.execute(_UPDATE_ATOM, {**values, "where_uuid": atom_detail.uuid})
        if result.rowcount == 0:
            raise tf_exc.NotFound(f"No atom details found with uuid '{atom_detail.uuid}'")
        with self._written_lock:
            self._written[atom_detail.uuid] = fingerprint
            self._states[atom_detail.uuid] = atom_detail.state
            if len(self._written) > _REMEMBERED_ATOMS:
                self._states.pop(self._written.popitem(last=False)[0], None)
        return atom_detail

    def update_flow_details(
        self, flow_detail: tf_models.FlowDetail, ignore_missing: bool = False
    ) -> tf_models.FlowDetail:
        flows = self._tables.flowdetails
        atoms = self._tables.atomdetails
        with self._writing(f"updating flow details with uuid '{flow_detail.uuid}'") as conn:
            values = flow_detail.to_dict()
            result = conn.execute(
                sa.update(flows).where(flows.c.uuid == flow_detail.uuid).values(values)
            )
            if result.rowcount == 0:
                if ignore_missing:
                    return flow_detail
                raise tf_exc.NotFound(f"No flow details found with uuid '{flow_detail.uuid}'")
            # Atom changes are written by update_atom_details; here only the
            # atoms that are new to this flow detail need inserting.
            known = set(
                conn.scalars(sa.select(atoms.c.uuid).where(atoms.c.parent_uuid == flow_detail.uuid))
            )
            new_rows = [
                _atom_row(ad, flow_detail.uuid) for ad in flow_detail if ad.uuid not in known
            ]
            if new_rows:
                conn.execute(sa.insert(atoms), new_rows)
        return flow_detail

    def save_logbook(self, book: tf_models.LogBook) -> tf_models.LogBook:
        with self._write_lock:
            return super().save_logbook(book)

    def destroy_logbook(self, book_uuid: str) -> None:
        with self._write_lock:
            super().destroy_logbook(book_uuid)

    def clear_all(self) -> None:
        with self._write_lock:
            super().clear_all()

    def upgrade(self) -> None:
        with self._write_lock:
            super().upgrade()


def _stamp(atom_detail: tf_models.AtomDetail) -> None:
    """When a step started and ended, in the atom's meta (written with its state).

    TaskFlow keeps no timings of its own unless a listener saves them, which
    would cost a write per step; the state change is being written anyway.
    """
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
    meta = atom_detail.meta
    if atom_detail.state in (tf_states.RUNNING, tf_states.REVERTING):
        meta[STARTED_AT if atom_detail.state == tf_states.RUNNING else REVERT_STARTED_AT] = now
    elif atom_detail.state in _ENDED:
        reverting = atom_detail.state in (tf_states.REVERTED, tf_states.REVERT_FAILURE)
        meta[REVERTED_AT if reverting else ENDED_AT] = now


def _fingerprint(values: dict) -> str:
    """What an atom save writes, minus the progress."""
    meta = {k: v for k, v in (values.get("meta") or {}).items() if k != PROGRESS}
    return json.dumps({**values, "meta": meta}, sort_keys=True, default=str)


def _atom_row(atom_detail: tf_models.AtomDetail, parent_uuid: str) -> dict:
    row = atom_detail.to_dict()
    row["parent_uuid"] = parent_uuid
    row["atom_type"] = tf_models.atom_detail_type(atom_detail)
    return row
