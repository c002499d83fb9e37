"""One flowstack deployment made of real processes, for the crash tests.

* a Nova simulator (``python -m flowstack.nova_sim.cli``) with its admin view;
* ``flowstack-worker`` processes (``python -m flowstack.cmd.worker``), each
  logging to its own file, found again by the name they claim flows under
  (``worker:<host>:<pid>``, the ``owner`` column of the flows table);
* a jobboard of the backend the test runs on (``tests/jobboard_servers.py``:
  Redis, Redis through Sentinel, etcd or ZooKeeper), or a private
  ``redis-server`` that a test may stop and restart;
* the test process itself plays the engine: its RPC API served in-process
  (``tests.engines.local_client``), posting to the same jobboard, on the
  same database and encryption key.

Every process started here is killed by :meth:`Deployment.close`, which the
fixture calls even when the test fails.  Waits poll against a deadline that
is generous for a loaded 2-core machine (a worker imports oslo, TaskFlow and
SQLAlchemy before it announces itself): a slow start is measured and
reported with the takeover times (:attr:`Deployment.startups`), not failed.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from taskflow.persistence.backends.sqlalchemy import tables as tf_tables

from flowstack import context, status
from flowstack.conf import loading
from flowstack.db import models
from flowstack.execution.dispatch import JobboardDispatcher
from flowstack.jobboard import board as jobboard
from flowstack.resources.constraints import nova_constraints
from flowstack.resources.types.nova_server import TAG_RESOURCE, TAG_STACK
from flowstack.rpc.client import EngineClient
from flowstack.runtime.container import Runtime
from tests import services
from tests.engines import local_client
from tests.jobboard_servers import JobboardServers

T = TypeVar("T")
SERVER = "OS::Nova::Server"
HOST = socket.gethostname()
#: How long a process may take to start: generous, as the machine may be loaded.
START_TIMEOUT = 120.0
LOG_TAIL_LINES = 150
_FLOWS = models.Flow.__table__
_SERVICES = models.Service.__table__
_EVENTS = models.Event.__table__
_RESOURCES = models.Resource.__table__
_STACKS = models.Stack.__table__
_TF = tf_tables.fetch(sa.MetaData())

#: Settings of every test's deployment; a test overrides what it needs.
BASE_SETTINGS: dict[str, dict[str, Any]] = {
    "jobboard": {"claim_expiry": 3.0, "heartbeat_interval": 0.5, "max_attempts": 3},
    "worker": {
        "concurrent_flows": 4,
        "service_heartbeat": 0.5,
        "dead_after": 2.0,
        "reaper_interval": 0.5,
        "orphan_grace": 2.0,
    },
    "engine": {"poll_interval": 0.1, "poll_checkpoint_secs": 0.5, "max_workers": 16},
    "nova": {"api_retries": 3, "timeout": 20},
}


def eventually(check: Callable[[], T], timeout: float, what: str, interval: float = 0.05) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout:g} s for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http://
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        payload = response.read()
    return json.loads(payload) if payload else None


class Process:
    """A child process whose output goes to a log file in the test's directory."""

    #: Log lines left out of a failure report (the simulator's polling noise).
    noise: re.Pattern[str] | None = None

    def __init__(self, label: str, argv: list[str], log_path: Path, cwd: Path) -> None:
        self.label = label
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        try:
            self.popen = subprocess.Popen(
                argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd, env=env
            )
        except BaseException:
            self._log.close()
            raise
        self.pid = self.popen.pid

    def _wait_until(self, ready: Callable[[], Any], what: str) -> Any:
        """Wait for the process to be ready; if it never is, kill it and fail."""
        try:
            return eventually(ready, START_TIMEOUT, what)
        except BaseException:
            self.close()
            raise

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.pid, signum)

    def kill(self) -> None:
        """SIGKILL (a stopped process dies too) and reap it."""
        if self.alive():
            self.popen.kill()
        self.popen.wait(timeout=30)

    def terminate(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        try:
            self.kill()
        finally:
            self._log.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int) -> str:
        kept = self.log_text().splitlines()
        if self.noise is not None:
            kept = [line for line in kept if not self.noise.search(line)]
        return "\n".join(kept[-lines:])


class NovaSim(Process):
    """``flowstack-nova-sim`` on a port of its choosing, and its admin API."""

    noise = re.compile(r'"GET [^"]*" 200 |"GET /_admin')

    def __init__(self, tmp_path: Path, build_delay: float, delete_delay: float) -> None:
        argv = [
            sys.executable,
            "-m",
            "flowstack.nova_sim.cli",
            "--port",
            "0",
            "--build-delay",
            str(build_delay),
            "--delete-delay",
            str(delete_delay),
        ]
        super().__init__("nova-sim", argv, tmp_path / "nova-sim.log", tmp_path)
        line = self._wait_until(self._endpoint_line, "the Nova simulator to listen")
        self.endpoint = line.split(": ", 1)[1].strip()
        self.url = self.endpoint.rsplit("/v2.1", 1)[0]

    def _endpoint_line(self) -> str | None:
        assert self.alive(), f"the Nova simulator exited:\n{self.log_text()}"
        for line in self.log_text().splitlines():
            if line.startswith("compute endpoint: "):
                return line
        return None

    def servers(self, stack_id: str | None = None, *, live: bool = False) -> list[dict[str, Any]]:
        """Every server ever created (deleted ones too unless ``live``), of one stack."""
        query = "?live=true" if live else ""
        records = _http("GET", f"{self.url}/_admin/servers{query}")["servers"]
        if stack_id is None:
            return list(records)
        return [r for r in records if (r.get("metadata") or {}).get(TAG_STACK) == stack_id]

    def created_per_resource(self, stack_id: str) -> collections.Counter[str]:
        """How many servers were ever created for each resource of a stack."""
        return collections.Counter(
            (r.get("metadata") or {}).get(TAG_RESOURCE) for r in self.servers(stack_id)
        )

    def live_ids(self) -> set[str]:
        return {r["id"] for r in self.servers(live=True)}

    def set_faults(self, faults: dict[str, Any]) -> dict[str, Any]:
        return _http("PUT", f"{self.url}/_admin/faults", faults)

    @property
    def lb_endpoint(self) -> str:
        return f"{self.url}/load-balancer"

    def create_loadbalancer(self, name: str) -> dict[str, Any]:
        """A load balancer (ACTIVE at once) with one pool, ``NAME-pool``."""
        return _http("POST", f"{self.url}/_admin/loadbalancers", {"name": name})["loadbalancer"]

    def pool_members(self, pool_id: str) -> list[dict[str, Any]]:
        return _http("GET", f"{self.url}/_admin/pools/{pool_id}/members")["members"]

    def fail_server(self, server_id: str, message: str) -> None:
        """The server goes to ERROR with a fault, as after a compute host failure."""
        _http("POST", f"{self.url}/_admin/servers/{server_id}/fail", {"message": message})

    def faults(self) -> dict[str, Any]:
        return _http("GET", f"{self.url}/_admin/faults")


class RedisServer(Process):
    """A private, memory-only ``redis-server`` this test may stop and restart."""

    def __init__(self, tmp_path: Path, port: int, generation: int = 0) -> None:
        self.port = port
        if shutil.which("redis-server") is None:
            reason = "the redis-server program is not installed"
            if services.required():
                pytest.fail(f"{reason} (FLOWSTACK_REQUIRE_SERVICES is set)")
            pytest.skip(reason)
        argv = [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ]
        super().__init__(
            f"redis-{generation}", argv, tmp_path / f"redis-{generation}.log", tmp_path
        )
        self._wait_until(self._answers, f"redis-server on port {port}")

    def _answers(self) -> bool:
        assert self.alive(), f"redis-server exited:\n{self.log_text()}"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class WorkerProcess(Process):
    """``flowstack-worker``: its name is the owner it writes in the flows table."""

    def __init__(self, config: Path, log_path: Path, cwd: Path) -> None:
        argv = [sys.executable, "-m", "flowstack.cmd.worker", "--config-file", str(config)]
        super().__init__(log_path.stem, argv, log_path, cwd)
        self.name = f"worker:{HOST}:{self.pid}"


class Deployment:
    """Nova simulator, workers and the in-test engine, on one database and jobboard."""

    def __init__(
        self,
        tmp_path: Path,
        db_url: str,
        key_file: Path,
        servers: JobboardServers,
        jobboard_kind: str = "redis",
    ) -> None:
        self.tmp_path = tmp_path
        self.db_url = db_url
        self.key_file = key_file
        self.namespace = f"flowstack-crash-{uuid.uuid4().hex[:8]}"
        self.jobboard_kind = jobboard_kind
        self._servers = servers
        self.jobboard_url = servers.url(jobboard_kind)
        #: Seconds each worker took from its start until it announced itself.
        self.startups: list[float] = []
        self.config_path = tmp_path / "flowstack.conf"
        self.sim: NovaSim | None = None
        self.redis: RedisServer | None = None
        self.workers: list[WorkerProcess] = []
        self._retired: list[Process] = []
        self._started_workers = 0
        self._redis_starts = 0
        self.rt: Runtime | None = None
        self.board: Any = None
        self.service: EngineClient | None = None
        self.ctx = context.RequestContext(project_id=f"crash-{uuid.uuid4().hex[:8]}", user_id="t")

    # -- starting --------------------------------------------------------------------------

    def start_sim(self, build_delay: float = 2.0, delete_delay: float = 0.5) -> NovaSim:
        self.sim = NovaSim(self.tmp_path, build_delay, delete_delay)
        return self.sim

    def start_redis(self) -> RedisServer:
        """A private Redis for this test's jobboard (before :meth:`configure`)."""
        port = self.redis.port if self.redis else free_port()  # a restart keeps the port
        self.redis = RedisServer(self.tmp_path, port, self._redis_starts)
        self._redis_starts += 1
        self.jobboard_url = f"redis://127.0.0.1:{port}/0"
        return self.redis

    def stop_redis(self) -> None:
        """Stop the private Redis; it keeps nothing (no RDB, no AOF)."""
        assert self.redis is not None
        self.redis.terminate()
        self._retired.append(self.redis)

    def configure(self, **groups: dict[str, Any]) -> None:
        """Write the config every process of this deployment reads; open the engine."""
        assert self.sim is not None, "start the simulator first: its endpoint is configured"
        settings = {group: dict(values) for group, values in BASE_SETTINGS.items()}
        for group, values in groups.items():
            settings.setdefault(group, {}).update(values)
        settings["DEFAULT"] = {
            "state_path": str(self.tmp_path / "state"),
            "encryption_key_file": str(self.key_file),
        }
        settings.setdefault("database", {})["connection"] = self.db_url
        settings["jobboard"].update(url=self.jobboard_url, namespace=self.namespace)
        settings["nova"]["endpoint_override"] = self.sim.endpoint
        lines = []
        for group in ("DEFAULT", *sorted(g for g in settings if g != "DEFAULT")):
            lines.append(f"[{group}]")
            lines += [f"{key} = {value}" for key, value in settings[group].items()]
            lines.append("")
        self.config_path.write_text("\n".join(lines))
        conf = loading.load(["--config-file", str(self.config_path)])
        self.rt = Runtime.from_conf(conf)
        self.board = jobboard.open_board(conf, f"test-engine-{os.getpid()}")
        self.service = local_client(
            self.rt,
            JobboardDispatcher(self.board),
            custom_constraints=nova_constraints(self.rt.clients),
        )

    def start_workers(self, count: int = 1) -> list[WorkerProcess]:
        """Start workers and wait until each has announced itself in the database."""
        started = []
        began = time.monotonic()
        for _ in range(count):
            log_path = self.tmp_path / f"worker-{self._started_workers}.log"
            self._started_workers += 1
            worker = WorkerProcess(self.config_path, log_path, self.tmp_path)
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            eventually(
                lambda w=worker: self._announced(w),
                START_TIMEOUT,
                f"{worker.label} to start",
                interval=0.1,
            )
            self.startups.append(time.monotonic() - began)
        return started

    def _announced(self, worker: WorkerProcess) -> bool:
        assert worker.alive(), f"{worker.label} exited:\n{worker.log_text()}"
        with self.db().read_connection() as connection:
            return bool(
                connection.execute(
                    sa.select(_SERVICES.c.id).where(_SERVICES.c.name == worker.name)
                ).first()
            )

    def worker(self, name: str | None) -> WorkerProcess:
        for worker in self.workers:
            if worker.name == name:
                return worker
        raise AssertionError(f"no running worker of this test is named {name!r}")

    def kill(self, worker: WorkerProcess) -> float:
        """SIGKILL a worker; returns the monotonic time of the kill."""
        os.kill(worker.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        worker.popen.wait(timeout=30)
        self.workers.remove(worker)
        self._retired.append(worker)
        return killed_at

    # -- the engine side -------------------------------------------------------------------

    def db(self) -> Any:
        assert self.rt is not None, "configure() first"
        return self.rt.db

    def create_stack(self, name: str, template: str, **kwargs: Any) -> tuple[str, str]:
        """Submit a stack as the engine does; returns (stack id, flow id)."""
        assert self.service is not None
        created = self.service.create_stack(self.ctx, name, template, **kwargs)
        return created["id"], created["flow_id"]

    def stack(self, name_or_id: str) -> dict[str, Any]:
        assert self.service is not None
        return self.service.show_stack(self.ctx, name_or_id)

    def resources(self, stack: str) -> dict[str, dict[str, Any]]:
        assert self.service is not None
        return {r["resource_name"]: r for r in self.service.list_resources(self.ctx, stack)}

    def wait_settled(self, stack: str, timeout: float = 60.0) -> dict[str, Any]:
        """The stack once it is no longer IN_PROGRESS."""

        def settled() -> dict[str, Any] | None:
            shown = self.stack(stack)
            return None if shown["stack_status"].endswith(status.IN_PROGRESS) else shown

        return eventually(settled, timeout, f"stack {stack} to leave IN_PROGRESS")

    def flow(self, flow_id: str) -> sa.Row:
        with self.db().read_connection() as connection:
            return connection.execute(sa.select(_FLOWS).where(_FLOWS.c.id == flow_id)).one()

    def wait_flow(self, flow_id: str, state: str, timeout: float = 10.0) -> sa.Row:
        """The flow's row once in ``state`` (its runner records it after the stack's)."""
        return eventually(
            lambda: (row := self.flow(flow_id)).state == state and row,
            timeout,
            f"flow {flow_id} to be {state}",
        )

    def jobs(self) -> dict[str, str]:
        """The jobs on the board: flow id -> job state (UNCLAIMED, CLAIMED)."""
        return {jobboard.flow_of(job): job.state for job in self.board.iterjobs(ensure_fresh=True)}

    def stalled_transactions(self, idle_for: float, *, locking_flows: bool = False) -> int:
        """Transactions in this test's database left open for ``idle_for`` s or more.

        Only a process stopped in the middle of a transaction leaves one open
        that long here.  With ``locking_flows``, only those holding row locks
        on the flows table (a fenced write's ``SELECT ... FOR UPDATE``).
        """
        with self.db().read_connection() as connection:
            if connection.dialect.name == "postgresql":
                query = (
                    "SELECT count(DISTINCT a.pid) FROM pg_stat_activity a "
                    "JOIN pg_locks l ON l.pid = a.pid "
                    "WHERE a.datname = current_database() "
                    "AND a.state LIKE 'idle in transaction%' "
                    "AND a.state_change < now() - make_interval(secs => :idle)"
                )
                if locking_flows:
                    query += " AND l.relation = 'flows'::regclass AND l.mode = 'RowShareLock'"
            else:
                query = (
                    "SELECT count(*) FROM information_schema.innodb_trx t "
                    "JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
                    "WHERE p.db = DATABASE() AND p.command = 'Sleep' AND p.time >= :idle"
                )
                if locking_flows:
                    query += " AND t.trx_rows_locked > 0"
            return int(connection.execute(sa.text(query), {"idle": idle_for}).scalar())

    def wait_takeover(self, flow_id: str, victim: str, killed_at: float, timeout: float) -> tuple:
        """(new owner, seconds from the kill until it claimed the flow)."""
        row = eventually(
            lambda: (r := self.flow(flow_id)).owner not in (None, victim) and r,
            timeout,
            f"another worker to take flow {flow_id} over from {victim}",
            interval=0.02,
        )
        return row.owner, time.monotonic() - killed_at

    def referenced_server_ids(self) -> set[str]:
        """Servers that the live stacks of this test say they hold."""
        assert self.service is not None
        held = set()
        for stack in self.service.list_stacks(self.ctx):
            for resource in self.service.list_resources(self.ctx, stack["id"]):
                if resource["resource_type"] != SERVER:
                    continue
                if resource["resource_status"] == status.combined(status.DELETE, status.COMPLETE):
                    continue
                if resource["physical_resource_id"]:
                    held.add(resource["physical_resource_id"])
        return held

    def assert_servers_created_once(self, stack_id: str, names: Iterable[str]) -> None:
        assert self.sim is not None
        created = self.sim.created_per_resource(stack_id)
        assert created == collections.Counter(names), (
            f"servers created per resource of stack {stack_id}: {dict(created)}"
        )

    def assert_no_orphans(self) -> None:
        assert self.sim is not None
        live, held = self.sim.live_ids(), self.referenced_server_ids()
        assert live == held, f"live in Nova: {sorted(live)}; held by live stacks: {sorted(held)}"

    def snapshot(self, stack_id: str, flow_id: str) -> dict[str, Any]:
        """Everything a runner of this flow writes, to compare before and after."""
        with self.db().read_connection() as connection:

            def rows(table: sa.Table, *where: Any) -> list[tuple]:
                key = table.c.id if "id" in table.c else table.c.uuid
                return [
                    tuple(r)
                    for r in connection.execute(sa.select(table).where(*where).order_by(key))
                ]

            return {
                "flow": rows(_FLOWS, _FLOWS.c.id == flow_id),
                "stack": rows(_STACKS, _STACKS.c.id == stack_id),
                "resources": rows(_RESOURCES, _RESOURCES.c.stack_id == stack_id),
                "events": rows(_EVENTS, _EVENTS.c.stack_id == stack_id),
                "flowdetails": rows(_TF.flowdetails, _TF.flowdetails.c.uuid == flow_id),
                "atomdetails": rows(_TF.atomdetails, _TF.atomdetails.c.parent_uuid == flow_id),
            }

    # -- teardown --------------------------------------------------------------------------

    def processes(self) -> list[Process]:
        found: list[Process] = [*self._retired, *self.workers]
        for extra in (self.sim, self.redis):
            if extra is not None and extra not in found:
                found.append(extra)
        return found

    def logs(self) -> list[tuple[str, str]]:
        """(label, last lines of its log) of every process this test started."""
        tails = []
        for process in self.processes():
            tails.append((f"{process.label} (pid {process.pid})", process.log_tail(LOG_TAIL_LINES)))
        return tails

    def close(self) -> None:
        errors = []
        for process in self.processes():
            try:
                process.close()
            except Exception as exc:  # keep killing the others
                errors.append(exc)
        if self.board is not None:
            try:
                self._forget_namespace()
            finally:
                self.board.close()
        if self.rt is not None:
            self.rt.close()
        if errors:
            raise errors[0]

    def _forget_namespace(self) -> None:
        if self.redis is not None:
            return  # a private Redis died with the test
        self._servers.forget(self.jobboard_kind, self.namespace)
