"""The Database wrapper: transactions, errors naming the database, SQLite tuning."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowstack import exceptions
from flowstack.db.session import Database, safe_url


def test_writer_commits_and_rolls_back(synced_db: Database) -> None:
    with synced_db.writer() as session:
        session.execute(
            sa.text(
                "INSERT INTO stacks (id, name, project_id, action, status, status_reason, "
                "template, parameters, disable_rollback, created_at, deleted_id) VALUES "
                "('s1', 'kept', 'p', 'CREATE', 'COMPLETE', '', '{}', '{}', false, "
                "CURRENT_TIMESTAMP, '')"
            )
        )
    with pytest.raises(RuntimeError), synced_db.writer() as session:
        session.execute(sa.text("UPDATE stacks SET name = 'lost' WHERE id = 's1'"))
        raise RuntimeError("abort the transaction")
    with synced_db.reader() as session:
        names = session.execute(sa.text("SELECT name FROM stacks")).scalars().all()
    assert names == ["kept"]


def test_unreachable_database_is_named_without_its_password() -> None:
    db = Database(
        "postgresql+psycopg2://flowstack:s3cr3t-pw@127.0.0.1:1/flowstack",
        max_retries=1,
        retry_interval=0,
    )
    with pytest.raises(exceptions.DatabaseUnavailable) as caught, db.reader():
        pass
    message = str(caught.value)
    assert "127.0.0.1:1/flowstack" in message
    assert "s3cr3t-pw" not in message
    assert "***" in message


def test_safe_url_masks_password() -> None:
    assert "pw" not in safe_url("mysql+pymysql://root:pw@db/flowstack")


def test_sqlite_connections_are_pooled_and_shared_across_threads(tmp_path: Path) -> None:
    """oslo.db's NullPool is replaced: connections are reused, from any thread."""
    db = Database(f"sqlite:///{tmp_path / 'pool.sqlite'}")
    try:
        opened: list[int] = []
        sa.event.listen(db.engine, "connect", lambda dbapi, record: opened.append(1))

        def work() -> None:
            for _ in range(20):
                with db.writer() as session:
                    session.execute(sa.text("SELECT 1"))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert isinstance(db.engine.pool, sa.pool.QueuePool)
        assert len(opened) <= 4  # 80 transactions: at most one new connection per thread
        assert db.engine.pool.checkedin() >= 1  # and they went back to the pool
        with db.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        assert mode == "wal"
        assert foreign_keys == 1  # oslo.db's own connect listener survived the swap
    finally:
        db.close()


def test_in_memory_sqlite_is_refused_with_the_reason() -> None:
    with pytest.raises(exceptions.ConfigError, match="in-memory SQLite"):
        Database("sqlite://").engine  # noqa: B018


def test_every_server_connection_ends_frozen_transactions(db_url: str) -> None:
    """Including the first one, which oslo.db opens before flowstack's hooks run."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server-side transaction timeout (and no row locks)")
    db = Database(db_url, idle_transaction_timeout=7)
    try:
        query = (
            "SHOW idle_in_transaction_session_timeout"
            if db_url.startswith("postgresql")
            else "SELECT @@SESSION.idle_transaction_timeout"
        )
        with db.engine.connect() as first, db.engine.connect() as second:
            values = {str(c.exec_driver_sql(query).scalar()) for c in (first, second)}
        assert values in ({"7s"}, {"7"})
    finally:
        db.close()
