"""Flows persisted by an older release resume and finish under this one.

``flows_written_by_0_1_0.json`` is the whole database of flowstack 0.1.0
(commit 8cc8425, before the packages were reorganised), dumped right after
its process was killed with three flows in flight:

* a scaling group's convergence creating two slow members,
* a stack create waiting (polls checkpointed) on its slow resource,
* a stack delete waiting on a slow delete.

Loaded into an empty database of each kind, those flows are rebuilt from the
factories and arguments 0.1.0 recorded, claimed by this release's runner and
finished from their last persisted step: nothing done before the crash is
done again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from flowstack import context
from flowstack.db import flow_records, models
from flowstack.db.session import Database
from flowstack.execution import runner
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.runtime.container import Runtime
from flowstack.taskflow_adapter.schema import TABLES
from tests.engines import local_client

DUMP = Path(__file__).with_name("flows_written_by_0_1_0.json")
CTX = context.RequestContext(project_id="legacy", user_id="old")


def _value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__datetime__"}:
        return dt.datetime.fromisoformat(value["__datetime__"])
    return value


def _load(db: Database, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Insert the dump's rows in foreign-key order (integer keys renumbered by the server)."""
    ordered = [*models.Base.metadata.sorted_tables, TABLES.logbooks, TABLES.flowdetails]
    ordered.append(TABLES.atomdetails)
    with db.write_connection() as connection:
        for table in ordered:
            rows = [{k: _value(v) for k, v in row.items()} for row in tables[table.name]]
            serial = [c.name for c in table.primary_key.columns if c.autoincrement is True]
            for row in sorted(rows, key=lambda r: [r.get(name) or 0 for name in serial]):
                connection.execute(
                    table.insert(), {k: v for k, v in row.items() if k not in serial}
                )


@pytest.fixture
def legacy(conf: cfg.ConfigOpts, synced_db: Database, tmp_path: Path) -> Iterator[Runtime]:
    dump = json.loads(DUMP.read_text())
    _load(synced_db, dump["tables"])
    key = tmp_path / "secret.key"
    key.write_text(dump["secret_key_for_this_test_only"])
    conf.set_override("connection", synced_db.url, group="database")
    conf.set_override("encryption_key_file", str(key))
    rt = Runtime.from_conf(conf)
    rt.dispatcher = InProcessDispatcher(rt)
    yield rt
    rt.dispatcher.wait_all()
    rt.close()


def _events(engine: Any, stack: str) -> list[tuple[str, str]]:
    return [(e["resource_name"], e["resource_status"]) for e in engine.list_events(CTX, stack)]


def test_flows_left_in_flight_by_0_1_0_finish_under_this_release(legacy: Runtime) -> None:
    with legacy.db.read_connection() as connection:
        in_flight = {
            row.operation: row.id
            for row in connection.execute(
                sa.select(models.Flow.__table__).where(
                    models.Flow.__table__.c.state == flow_records.RUNNING
                )
            )
        }
    assert set(in_flight) == {"create", "delete", "converge"}
    engine = local_client(legacy, legacy.dispatcher)
    before = {name: _events(engine, name) for name in ("chain", "grp")}
    doomed = engine.show_stack(CTX, "doomed")["id"]  # a deleted stack is found by id

    for operation in ("create", "delete", "converge"):
        assert runner.run(legacy, in_flight[operation]) == "SUCCESS", operation

    chain = engine.show_stack(CTX, "chain")
    assert chain["stack_status"] == "CREATE_COMPLETE"
    assert {o["output_key"]: o["output_value"] for o in chain["outputs"]} == {"result": "two"}
    events = _events(engine, "chain")
    # `first` completed before the crash and `slow` had started: neither starts again.
    assert events.count(("first", "CREATE_COMPLETE")) == 1
    assert events.count(("slow", "CREATE_IN_PROGRESS")) == 1
    assert events[: len(before["chain"])] == before["chain"]

    assert engine.show_stack(CTX, doomed)["stack_status"] == "DELETE_COMPLETE"

    group = engine.show_group(CTX, "grp/asg")
    assert (group["current_size"], group["desired_capacity"]) == (3, 3)
    [scale_event] = engine.list_scale_events(CTX, group="grp/asg")
    assert scale_event["status"] == "COMPLETE"
