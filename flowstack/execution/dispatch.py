"""How the engine hands a persisted flow to whoever runs it.

Embedded mode runs flows in threads of the calling process; the
distributed mode posts them to a jobboard for workers.  Either way the
flow is already persisted before it is dispatched.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from oslo_log import log as logging

from flowstack import exceptions
from flowstack.execution import runner
from flowstack.jobboard import board
from flowstack.runtime.container import Runtime

LOG = logging.getLogger(__name__)


class JobboardDispatcher:
    """Posts each flow to the jobboard, where any worker may claim it.

    A post that fails leaves the flow PENDING in the database; the workers'
    reaper posts it again, so accepted work is never lost.
    """

    #: A PENDING flow waits for a worker to claim it.
    in_process = False

    def __init__(self, board: Any) -> None:
        self._board = board

    def dispatch(self, flow_id: str) -> None:
        try:
            board.post_flow(self._board, flow_id)
        except Exception:
            LOG.exception("Posting flow %s failed; the reaper will post it again", flow_id)

    def close(self) -> None:
        self._board.close()


def for_service(rt: Runtime) -> JobboardDispatcher | InProcessDispatcher:
    """The jobboard when one is configured, else flows run in this process.

    Without a jobboard a single engine is the whole deployment: it runs at
    most ``[worker] concurrent_flows`` flows at once, and resumes the flows a
    previous engine process left (see :mod:`flowstack.execution.recovery`).
    """
    if rt.conf.jobboard.url:
        return JobboardDispatcher(board.open_board(rt.conf, f"engine-{runner.owner_name()}"))
    return InProcessDispatcher(rt, max_concurrent=rt.conf.worker.concurrent_flows)


class InProcessDispatcher:
    """Runs each flow in a thread of this process (the embedded default)."""

    #: Flows wait for nobody else: a PENDING flow here is one nobody will run.
    in_process = True

    def __init__(self, rt: Runtime, *, max_concurrent: int | None = None) -> None:
        """``max_concurrent``: flows running at once (the others wait their turn)."""
        self._rt = rt
        self._threads: dict[str, threading.Thread] = {}
        self._outcomes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrent) if max_concurrent else None

    def dispatch(self, flow_id: str) -> None:
        with self._lock:
            running = self._threads.get(flow_id)
            if running is not None and running.is_alive():
                return  # already running here
            thread = threading.Thread(
                target=self._run, args=(flow_id,), name=f"flow-{flow_id[:8]}", daemon=True
            )
            self._threads[flow_id] = thread
        thread.start()

    def _run(self, flow_id: str) -> None:
        if self._slots is not None:
            self._slots.acquire()
        try:
            outcome = runner.run(self._rt, flow_id)
        except exceptions.Conflict as exc:  # another runner claimed it first
            LOG.info("Flow %s not run here: %s", flow_id, exc)
            outcome = "FENCED"
        except Exception:  # the thread must not die silently
            LOG.exception("Running flow %s failed", flow_id)
            outcome = "ERROR"
        finally:
            if self._slots is not None:
                self._slots.release()
        with self._lock:
            self._outcomes[flow_id] = outcome

    def wait(self, flow_id: str, timeout: float | None = None) -> str | None:
        """Block until the flow's thread ends; its outcome, or None on timeout."""
        with self._lock:
            thread = self._threads.get(flow_id)
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                return None
        with self._lock:
            return self._outcomes.get(flow_id)

    def running(self) -> list[str]:
        """The flows whose threads are still running."""
        with self._lock:
            return [flow_id for flow_id, thread in self._threads.items() if thread.is_alive()]

    def wait_all(self, timeout: float | None = None) -> bool:
        """Wait for every flow's thread to end (at most ``timeout`` s); whether they all did."""
        with self._lock:
            threads = list(self._threads.values())
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)
