"""``flowstack-worker``: claim flows from the jobboard and run them.

One process runs a conductor (several flows at once), a heartbeat that
marks it alive in the database, and the reaper.  SIGTERM/SIGINT stop it
cleanly: running flows are left where they are, persisted, and their jobs
go back to the board for another worker.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

from oslo_db import api as oslo_db_api
from oslo_log import log as logging

from flowstack.cmd import gc_tuning, startup
from flowstack.db import migration
from flowstack.db import service_registry as services
from flowstack.execution import converge, dispatch, runner
from flowstack.jobboard import board as jobboard
from flowstack.runtime.container import Runtime
from flowstack.worker import reaper
from flowstack.worker.conductor import FlowConductor

LOG = logging.getLogger(__name__)
PROG = "flowstack-worker"
KIND = "worker"


def worker_name() -> str:
    """The name this worker claims jobs and flows under (also its service name)."""
    return f"{KIND}:{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(self, rt: Runtime, name: str) -> None:
        self.rt = rt
        self.name = name
        self.board = jobboard.open_board(rt.conf, name, persistence=rt.backend)
        # A group's next convergence, started when one ends, goes to the board too.
        rt.dispatcher = dispatch.JobboardDispatcher(self.board)
        self.conductor = FlowConductor(name, self.board, rt)
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._beat, name="heartbeat", daemon=True),
            threading.Thread(target=self._reap, name="reaper", daemon=True),
        ]

    def run(self) -> None:
        self._beat_once()
        for thread in self._threads:
            thread.start()
        LOG.info("Worker %s running", self.name)
        try:
            self.conductor.run()
        finally:
            self._stopping.set()
            with self.rt.db.write_connection() as connection:
                services.remove(connection, self.name)
            self.board.close()
            LOG.info("Worker %s stopped", self.name)

    def stop(self) -> None:
        self._stopping.set()
        self.conductor.stop()

    # MariaDB may report a deadlock when several workers register at once
    # (their inserts take gap locks on the unique name); the beat is simply
    # tried again.
    @oslo_db_api.wrap_db_retry(max_retries=5, retry_on_deadlock=True, retry_interval=0.1)
    def _beat_once(self) -> None:
        with self.rt.db.write_connection() as connection:
            services.beat(connection, self.name, KIND, socket.gethostname(), os.getpid())

    def _beat(self) -> None:
        while not self._stopping.wait(self.rt.conf.worker.service_heartbeat):
            try:
                self._beat_once()
            except Exception:  # the database may come back; keep trying
                LOG.warning("Could not record this worker's heartbeat", exc_info=True)

    def _reap(self) -> None:
        conf = self.rt.conf.worker
        while not self._stopping.wait(conf.reaper_interval):
            try:
                reaper.reap(
                    self.rt, self.board, dead_after=conf.dead_after, grace=conf.orphan_grace
                )
            except Exception:
                LOG.warning("The reaper's check failed; trying again later", exc_info=True)
            if conf.group_health_interval:
                try:
                    for flow_id in converge.start_due_checks(self.rt, conf.group_health_interval):
                        runner.start_recorded(self.rt, flow_id)
                except Exception:
                    LOG.warning("Starting group health checks failed", exc_info=True)


def main(argv: list[str] | None = None) -> int:
    return startup.run(PROG, lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    conf = startup.load(argv, PROG)
    logging.setup(conf, "flowstack")
    rt = Runtime.from_conf(conf)
    try:
        # The jobboard first: a wrong [jobboard] url is the one line printed.
        worker = Worker(rt, worker_name())
    except BaseException:
        rt.close()
        raise
    try:
        migration.check_current(rt.db)
    except BaseException:
        worker.board.close()
        rt.close()
        raise
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    gc_tuning.freeze_startup_objects()
    try:
        worker.run()
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
