"""flowstack-manage jobboard list, service list and purge on real jobboards and databases."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from oslo_config import cfg

from flowstack import context, exceptions
from flowstack.cmd import manage
from flowstack.db import migration, models
from flowstack.db import service_registry as services
from flowstack.db.session import Database
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.jobboard import board as jobboard
from flowstack.runtime.container import Runtime
from flowstack.taskflow_adapter.persistence import TABLES
from tests.engines import local_client
from tests.jobboard_servers import JobboardServers, every_jobboard

TEMPLATE = """
heat_template_version: 2018-08-31
parameters:
  fail: {type: boolean, default: false}
resources:
  one: {type: OS::Heat::TestResource}
  two:
    type: OS::Heat::TestResource
    properties: {fail: {get_param: fail}}
    depends_on: one
"""


def run(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str, str]:
    code = manage.main(["--config-file", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_config(path: Path, **groups: dict[str, Any]) -> Path:
    path.write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in options.items())
            for group, options in groups.items()
        )
    )
    return path


@pytest.fixture
def namespace(jobboard_servers: JobboardServers, jobboard_kind: str) -> Iterator[str]:
    name = f"flowstack-test-{uuid.uuid4().hex[:8]}"
    yield name
    jobboard_servers.forget(jobboard_kind, name)


#: What `jobboard list` says of a live claim's deadline, per backend.
CLAIM_DEADLINE = {"zookeeper": "session"}


@every_jobboard
def test_jobboard_list_shows_owners_and_claim_expiry(
    conf: cfg.ConfigOpts,
    namespace: str,
    jobboard_servers: JobboardServers,
    jobboard_kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = jobboard_servers.url(jobboard_kind)
    conf.set_override("url", url, group="jobboard")
    conf.set_override("namespace", namespace, group="jobboard")
    conf.set_override("claim_expiry", 30, group="jobboard")
    config = write_config(
        tmp_path / "manage.conf",
        database={"connection": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        jobboard={"url": url, "namespace": namespace},
    )
    # Open while listing: a ZooKeeper claim lives as long as its owner's session.
    board = jobboard.open_board(conf, "test-poster")
    try:
        claimed = jobboard.post_flow(board, "flow-claimed")
        jobboard.post_flow(board, "flow-waiting")
        board.claim(claimed, "worker:host:42")
        code, out, err = run(capsys, config, "jobboard", "list", "--format", "json")
        assert code == 0, err
        code, table, _ = run(capsys, config, "jobboard", "list")
    finally:
        board.close()

    jobs = {job["flow_id"]: job for job in json.loads(out)}
    assert set(jobs) == {"flow-claimed", "flow-waiting"}
    mine = jobs["flow-claimed"]
    assert (mine["name"], mine["state"], mine["owner"]) == (
        "flow-flow-claimed",
        "CLAIMED",
        "worker:host:42",
    )
    deadline = CLAIM_DEADLINE.get(jobboard_kind)
    if deadline is None:
        assert 0 < mine["claim_expires_in_s"] <= 30
    else:
        assert mine["claim_expires_in_s"] == deadline
    waiting = jobs["flow-waiting"]
    assert (waiting["state"], waiting["owner"], waiting["claim_expires_in_s"]) == (
        "UNCLAIMED",
        None,
        None,
    )

    header, *lines = table.splitlines()
    assert header.split() == list(manage.JOB_COLUMNS)
    assert len(lines) == 2 and any("worker:host:42" in line for line in lines)


def test_jobboard_list_without_a_jobboard_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "manage.conf", database={"connection": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    )
    code, _, err = run(capsys, config, "jobboard", "list")
    assert code == 1
    assert err.strip() == "ERROR: [jobboard] url is not set: there is no jobboard"


def test_service_list_tells_alive_from_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    db = Database(url)
    migration.sync(db)
    with db.write_connection() as connection:
        services.beat(connection, "worker:a:1", "worker", "a", 1)
        services.beat(connection, "worker:b:2", "worker", "b", 2)
        connection.execute(
            sa.update(models.Service.__table__)
            .where(models.Service.__table__.c.name == "worker:b:2")
            .values(last_seen=models.utcnow() - dt.timedelta(minutes=5))
        )
    db.close()
    config = write_config(
        tmp_path / "manage.conf", database={"connection": url}, worker={"dead_after": 60}
    )
    code, out, err = run(capsys, config, "service", "list", "--format", "json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["worker:a:1"]["state"] == "alive" and rows["worker:a:1"]["seen_ago_s"] < 60
    assert rows["worker:b:2"]["state"] == "gone" and rows["worker:b:2"]["seen_ago_s"] >= 300
    assert (rows["worker:b:2"]["kind"], rows["worker:b:2"]["host"], rows["worker:b:2"]["pid"]) == (
        "worker",
        "b",
        2,
    )
    code, out, _ = run(capsys, config, "service", "list")
    assert "alive" in out and "gone" in out


class Engine:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.dispatcher = InProcessDispatcher(rt)
        self.service = local_client(rt, self.dispatcher)
        self.ctx = context.RequestContext(project_id="p1", user_id="u1")

    def create(self, name: str, **parameters: str) -> dict[str, Any]:
        started = self.service.create_stack(self.ctx, name, TEMPLATE, parameters)
        assert self.dispatcher.wait(started["flow_id"], timeout=60) is not None
        return self.service.show_stack(self.ctx, started["id"])

    def delete(self, name: str) -> None:
        started = self.service.delete_stack(self.ctx, name)
        assert self.dispatcher.wait(started["flow_id"], timeout=60) is not None

    def count(self, table: sa.Table, where: Any = None) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        if where is not None:
            query = query.where(where)
        with self.rt.db.read_connection() as connection:
            return int(connection.scalar(query) or 0)


@pytest.fixture
def engine(conf: cfg.ConfigOpts, db_url: str) -> Iterator[Engine]:
    conf.set_override("connection", db_url, group="database")
    rt = Runtime.from_conf(conf)
    migration.sync(rt.db)
    yield Engine(rt)
    rt.close()


def test_purge_removes_old_deleted_stacks_and_finished_flows(
    engine: Engine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = engine.create("kept")
    failed = engine.create("failed", fail="true")
    assert failed["stack_status"] == "ROLLBACK_COMPLETE"
    gone = engine.create("gone")
    engine.delete("gone")
    stuck = engine.create("stuck")
    flows, stacks = models.Flow.__table__, models.Stack.__table__
    ten_days_ago = models.utcnow() - dt.timedelta(days=10)
    with engine.rt.db.write_connection() as connection:
        connection.execute(sa.update(flows).values(finished_at=ten_days_ago))
        connection.execute(
            sa.update(stacks).where(stacks.c.deleted_id != "").values(deleted_at=ten_days_ago)
        )
        connection.execute(
            sa.update(flows).where(flows.c.stack_id == stuck["id"]).values(state="QUARANTINED")
        )
    fresh = engine.create("fresh")  # finished just now: stays
    resources_of_gone = engine.count(
        models.Resource.__table__, models.Resource.__table__.c.stack_id == gone["id"]
    )
    events_of_gone = engine.count(
        models.Event.__table__, models.Event.__table__.c.stack_id == gone["id"]
    )
    before = {t: engine.count(t) for t in (stacks, flows, TABLES.flowdetails, TABLES.atomdetails)}
    config = write_config(tmp_path / "manage.conf", database={"connection": db_url})

    code, out, err = run(capsys, config, "purge", "--older-than", "5", "--dry-run")
    assert code == 0, err
    expected = [
        f"deleted stack(s) older than 5 day(s) ({resources_of_gone} resources, "
        f"{events_of_gone} events, 2 flows, 1 logbooks)",
        "2 finished flow(s) of live stacks",  # kept's and failed's creates
        "4 TaskFlow flow detail(s) and",
    ]
    assert out.startswith("Would purge 1 ")
    for text in expected:
        assert text in out
    assert {t: engine.count(t) for t in before} == before  # a dry run removes nothing

    code, out, err = run(capsys, config, "purge", "--older-than", "5")
    assert code == 0, err
    assert out.startswith("Purged 1 ")
    for text in expected:
        assert text in out
    assert engine.count(stacks) == before[stacks] - 1
    assert engine.count(flows) == before[flows] - 4
    assert engine.count(TABLES.flowdetails) == before[TABLES.flowdetails] - 4
    assert engine.count(TABLES.logbooks, TABLES.logbooks.c.uuid == gone["id"]) == 0
    with pytest.raises(exceptions.StackNotFound):
        engine.service.show_stack(engine.ctx, gone["id"])
    with engine.rt.db.read_connection() as connection:
        left = {
            row.stack_id: row.state
            for row in connection.execute(sa.select(flows.c.stack_id, flows.c.state))
        }
    assert left == {stuck["id"]: "QUARANTINED", fresh["id"]: "SUCCESS"}
    # The live stacks are untouched, their TaskFlow logbooks too.
    assert {s["stack_name"] for s in engine.service.list_stacks(engine.ctx)} == {
        "kept",
        "failed",
        "stuck",
        "fresh",
    }
    assert engine.count(TABLES.logbooks, TABLES.logbooks.c.uuid == kept["id"]) == 1
    orphaned_atoms = sa.select(TABLES.atomdetails.c.uuid).where(
        TABLES.atomdetails.c.parent_uuid.not_in(sa.select(TABLES.flowdetails.c.uuid))
    )
    with engine.rt.db.read_connection() as connection:
        assert connection.execute(orphaned_atoms).all() == []

    code, out, _ = run(capsys, config, "purge", "--older-than", "5")
    assert out.startswith("Purged 0 deleted stack(s)") and "Purged 0 finished flow(s)" in out


def test_purge_refuses_a_negative_age(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(
        tmp_path / "manage.conf", database={"connection": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    )
    code, _, err = run(capsys, config, "purge", "--older-than", "-1")
    assert code == 1 and "must not be negative" in err
