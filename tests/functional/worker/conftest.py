"""A worker (conductor + reaper) and an engine on a real jobboard, in-process."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from flowstack import context
from flowstack.cmd.worker import Worker
from flowstack.db import migration
from flowstack.execution.dispatch import JobboardDispatcher
from flowstack.jobboard import board as jobboard
from flowstack.runtime.container import Runtime
from tests.engines import Redirect, local_client
from tests.jobboard_servers import JobboardServers


@pytest.fixture
def board_conf(
    conf: cfg.ConfigOpts,
    tmp_path: Path,
    jobboard_servers: JobboardServers,
    jobboard_kind: str,
) -> Iterator[cfg.ConfigOpts]:
    namespace = f"flowstack-test-{uuid.uuid4().hex[:8]}"
    conf.set_override("url", jobboard_servers.url(jobboard_kind), group="jobboard")
    conf.set_override("namespace", namespace, group="jobboard")
    conf.set_override("claim_expiry", 3.0, group="jobboard")
    conf.set_override("heartbeat_interval", 0.5, group="jobboard")
    conf.set_override("reaper_interval", 0.2, group="worker")
    conf.set_override("orphan_grace", 0.5, group="worker")
    conf.set_override("dead_after", 2.0, group="worker")
    conf.set_override("service_heartbeat", 0.5, group="worker")
    yield conf
    jobboard_servers.forget(jobboard_kind, namespace)


class Cluster:
    """An engine service posting to the jobboard, and workers started on demand."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.board = jobboard.open_board(rt.conf, "test-engine")
        #: Where the engine posts the flows it records (a test may lose a post).
        self.route = Redirect(JobboardDispatcher(self.board))
        self.service = local_client(rt, self.route)
        self.ctx = context.RequestContext(project_id="p", user_id="u")
        self.workers: list[tuple[Worker, threading.Thread]] = []

    def start_worker(self, name: str | None = None) -> Worker:
        worker = Worker(self.rt, name or f"worker:test:{uuid.uuid4().hex[:6]}")
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        self.workers.append((worker, thread))
        return worker

    def stop_workers(self) -> None:
        for worker, thread in self.workers:
            worker.stop()
            thread.join(timeout=30)
        self.workers.clear()

    def wait_for(self, stack: str, done: Callable[[dict[str, Any]], bool], timeout: float = 30):
        deadline = time.monotonic() + timeout
        while True:
            shown = self.service.show_stack(self.ctx, stack)
            if done(shown):
                return shown
            assert time.monotonic() < deadline, f"stack still {shown['stack_status']}"
            time.sleep(0.05)

    def jobs(self) -> list[Any]:
        return list(self.board.iterjobs(ensure_fresh=True))


@pytest.fixture
def cluster(board_conf: cfg.ConfigOpts) -> Iterator[Cluster]:
    rt = Runtime.from_conf(board_conf)
    migration.sync(rt.db)
    cluster = Cluster(rt)
    yield cluster
    cluster.stop_workers()
    cluster.board.close()
    rt.close()
