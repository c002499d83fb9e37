"""The one way flowstack opens database transactions.

A :class:`Database` wraps an oslo.db enginefacade transaction context, so
every module uses the same idiom::

    with db.writer() as session:
        stacks.create(session, ...)

SQLite (the embedded default) needs care that PostgreSQL and MariaDB do not:

* WAL journal and ``synchronous=NORMAL``: readers never block the writer
  and a commit does not wait for an fsync.
* oslo.db gives SQLite files a NullPool, so each transaction opens and
  closes a connection (mapping and unmapping the WAL index), and when the
  last connection to a WAL database closes SQLite checkpoints and deletes
  the WAL.  Measured: a 200-resource stack spent most of its time there.
  So the SQLite engine gets a QueuePool (SQLAlchemy's own default for
  SQLite files), and a *keeper* connection stays open for the life of the
  Database.  Swapping the pool uses the arguments SQLAlchemy's
  ``Pool.recreate()`` uses, including its private ones: this is the one
  place flowstack touches SQLAlchemy internals, and
  tests/functional/db/test_session.py fails if that stops working.
* Writers in one process take a lock: a deferred SQLite transaction that
  read before another connection committed cannot upgrade to a write
  lock and fails at once instead of waiting.  Other processes wait on
  ``busy_timeout``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
from oslo_log import log as logging
from sqlalchemy import orm

from flowstack import exceptions

LOG = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30000


def safe_url(url: str) -> str:
    """The connection URL with its password masked, fit for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable database URL>"


class Database:
    """A connection to flowstack's database (its tables and TaskFlow's)."""

    def __init__(
        self,
        connection: str,
        *,
        max_retries: int = 3,
        retry_interval: int = 1,
        max_pool_size: int | None = None,
        max_overflow: int | None = None,
        pool_timeout: int | None = None,
        connection_debug: int = 0,
        idle_transaction_timeout: float | None = None,
    ) -> None:
        """``idle_transaction_timeout``: see :func:`_end_frozen_transactions`."""
        self.url = connection
        self._checkout_retries = max_retries
        self._checkout_interval = max(retry_interval, 0.1)
        self.safe_url = safe_url(connection)
        self.is_sqlite = sa.engine.make_url(connection).get_backend_name() == "sqlite"
        self._context = enginefacade.transaction_context()
        self._context.configure(
            connection=connection,
            max_retries=max_retries,
            retry_interval=retry_interval,
            max_pool_size=max_pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            connection_debug=connection_debug,
            sqlite_fk=True,
            # oslo.db's per-checkin sleep(0) exists for eventlet; flowstack
            # runs on threads and it costs ~0.1 ms per transaction.
            thread_checkin=False,
        )
        if self.is_sqlite:
            self._context.append_on_engine_create(_tune_sqlite)
        elif idle_transaction_timeout:
            self._context.append_on_engine_create(
                lambda engine: _end_frozen_transactions(engine, idle_transaction_timeout)
            )
        self.write_lock: contextlib.AbstractContextManager = (
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        )
        self._keeper: sqlite3.Connection | None = None
        self._engine: sa.Engine | None = None
        self._engine_lock = threading.Lock()

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Database:
        db = conf.database
        jobboard = getattr(conf, "jobboard", None)
        return cls(
            db.connection,
            max_retries=db.max_retries,
            retry_interval=db.retry_interval,
            max_pool_size=db.max_pool_size,
            max_overflow=db.max_overflow,
            pool_timeout=db.pool_timeout,
            connection_debug=db.connection_debug,
            # A process frozen inside a transaction must not hold the flow's row
            # lock past the time its claim lasts, or nobody could take over.
            idle_transaction_timeout=jobboard.claim_expiry if jobboard is not None else None,
        )

    @property
    def engine(self) -> sa.Engine:
        """The engine, created (and the server reached) on first use."""
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = self._connect()
        return self._engine

    def _connect(self) -> sa.Engine:
        if self.is_sqlite:
            self._open_keeper()
        try:
            engine = self._context.writer.get_engine()
            with engine.connect():  # fail here, clearly, not in the middle of a flow
                pass
            return engine
        except (db_exc.DBError, sa.exc.DBAPIError) as exc:
            raise exceptions.DatabaseUnavailable(
                f"Cannot connect to the database {self.safe_url}: {_reason(exc)}"
            ) from None

    def _open_keeper(self) -> None:
        path = sa.engine.make_url(self.url).database
        if not path or path == ":memory:":
            raise exceptions.ConfigError(
                "[database] connection: an in-memory SQLite database cannot be shared "
                "between flowstack's threads; give a file path"
            )
        try:
            keeper = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            keeper.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            raise exceptions.DatabaseUnavailable(
                f"Cannot open the SQLite database {path}: {exc}"
            ) from None
        self._keeper = keeper

    @contextlib.contextmanager
    def writer(self) -> Iterator[orm.Session]:
        """A read-write transaction, committed when the block ends without error."""
        self.engine  # noqa: B018 - connect (or fail clearly) before taking the lock
        with self.write_lock, self._translate(), self._context.writer.using(_holder()) as session:
            yield session

    @contextlib.contextmanager
    def reader(self) -> Iterator[orm.Session]:
        """A read-only transaction."""
        self.engine  # noqa: B018 - connect (or fail clearly) first
        with self._translate(), self._context.reader.using(_holder()) as session:
            yield session

    @contextlib.contextmanager
    def write_connection(self) -> Iterator[sa.Connection]:
        """A read-write transaction on a Core connection (no ORM session).

        For hot paths that only run Core statements: a task's state change
        costs noticeably less without the Session machinery.
        """
        self.engine  # noqa: B018 - connect (or fail clearly) before taking the lock
        with self.write_lock, self._translate(), contextlib.ExitStack() as stack:
            yield self._checkout(stack, self._context.writer)

    @contextlib.contextmanager
    def read_connection(self) -> Iterator[sa.Connection]:
        """A read-only transaction on a Core connection."""
        self.engine  # noqa: B018 - connect (or fail clearly) first
        with self._translate(), contextlib.ExitStack() as stack:
            yield self._checkout(stack, self._context.reader)

    def _checkout(self, stack: contextlib.ExitStack, mode: Any) -> sa.Connection:
        """A connection for a transaction, waiting out a short outage.

        The connection is taken before the transaction's work starts, so
        trying again is safe: a server restarting or briefly out of
        connection slots delays a task instead of failing its resource.
        """
        for attempt in range(self._checkout_retries + 1):
            try:
                return stack.enter_context(mode.connection.using(_holder()))
            except (db_exc.DBConnectionError, sa.exc.OperationalError) as exc:
                if attempt == self._checkout_retries:
                    raise
                LOG.warning(
                    "Database %s unavailable (%s); retrying in %.1f s",
                    self.safe_url,
                    _reason(exc),
                    self._checkout_interval,
                )
                time.sleep(self._checkout_interval * (attempt + 1))
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (db_exc.DBConnectionError, sa.exc.OperationalError) as exc:
            raise exceptions.DatabaseUnavailable(
                f"Lost the database {self.safe_url}: {_reason(exc)}"
            ) from None

    def close(self) -> None:
        """Close every connection; the object is not used afterwards."""
        if self._engine is not None:
            self._engine.dispose()
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None


def _holder() -> types.SimpleNamespace:
    # enginefacade attaches its transaction state to a caller-provided object;
    # a fresh one per block keeps transactions independent across threads.
    return types.SimpleNamespace()


def _reason(exc: Exception) -> str:
    inner = getattr(exc, "inner_exception", None) or exc
    text = str(getattr(inner, "orig", None) or inner).strip().splitlines()
    return text[0] if text else type(inner).__name__


def _end_frozen_transactions(engine: sa.Engine, seconds: float) -> None:
    """Have the server end a transaction left idle for ``seconds``.

    Fenced writes lock their flow's row (FOR UPDATE).  A worker frozen
    inside one (SIGSTOP, a VM paused) would hold that lock, and block the
    takeover of its flow, for as long as it stays frozen; the server now
    rolls such a transaction back and releases the lock.  flowstack's own
    transactions last milliseconds.
    """
    dialect = engine.dialect.name

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if dialect == "postgresql":
                cursor.execute(f"SET idle_in_transaction_session_timeout = {int(seconds * 1000)}")
            elif dialect in ("mysql", "mariadb"):
                cursor.execute(f"SET SESSION idle_transaction_timeout = {max(1, int(seconds))}")
        except Exception:  # MySQL proper has no such variable: keep going without
            LOG.warning(
                "%s cannot end idle transactions; a frozen worker may delay "
                "the takeover of its flow",
                dialect,
            )
        finally:
            cursor.close()
        if dialect == "postgresql":
            dbapi_connection.commit()  # psycopg2 opened a transaction for the SET

    # oslo.db made (and pooled) a first connection before this hook ran;
    # drop it so that every connection in use has the timeout.
    engine.dispose()


SQLITE_POOL_SIZE = 8
SQLITE_POOL_OVERFLOW = 64


def _tune_sqlite(engine: sa.Engine) -> None:
    old = engine.pool
    engine.pool = sa.pool.QueuePool(
        old._creator,
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=SQLITE_POOL_OVERFLOW,
        recycle=old._recycle,
        reset_on_return=old._reset_on_return,
        _dispatch=old.dispatch,  # keeps the connect listeners oslo.db registered
        dialect=old._dialect,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
