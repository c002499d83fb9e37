"""The worker's conductor: TaskFlow's non-blocking conductor, made crash-safe.

TaskFlow's conductor loop (iterate the jobboard, claim, dispatch to a thread
pool, consume or abandon) is kept (:mod:`flowstack.taskflow_adapter.conductor`);
what it lacks is added around it:

* claims lapse when their owner dies, as the jobboard backend allows (an
  expiry, or the owner's session: :class:`~flowstack.jobboard.base.Jobboard`),
  and a time-based thread (:class:`ClaimKeeper`) keeps them while the flow
  runs;
* an idle worker sleeps until the board says a job may be claimable (a
  post, a freed claim), looking on its own every ``[worker] jobboard_poll``
  seconds;
* the flow runs through :func:`flowstack.execution.runner.run`, which claims it
  in the database (bumping its fencing epoch), resumes it from its last
  persisted step, and quarantines it after too many attempts;
* a job is consumed only when its flow reached an end (done, reverted or
  quarantined); otherwise it is abandoned, so another worker retries it,
  and an error in the worker itself never trashes accepted work.
"""

from __future__ import annotations

from typing import Any

from oslo_log import log as logging

from flowstack import exceptions
from flowstack.db import flow_records as flows
from flowstack.execution import runner
from flowstack.jobboard import base as jobboard_base
from flowstack.jobboard import board as jobboard
from flowstack.runtime.container import Runtime
from flowstack.taskflow_adapter.conductor import JobConductor
from flowstack.worker.claim_keeper import ClaimKeeper

LOG = logging.getLogger(__name__)
FINISHED = frozenset({*runner.TERMINAL_STATES, *flows.ENDED})


class FlowConductor(JobConductor):
    def __init__(self, name: str, board: jobboard_base.Jobboard, rt: Runtime) -> None:
        conf = rt.conf
        super().__init__(
            name,
            board,
            persistence=rt.backend,
            max_simultaneous_jobs=conf.worker.concurrent_flows,
            idle_poll=conf.worker.jobboard_poll,
        )
        self.name = name
        self._rt = rt
        self._board = board
        self._poll = conf.worker.jobboard_poll
        self._heartbeat = conf.jobboard.heartbeat_interval
        self._limits = runner.QuarantineLimits(
            failed_runs=conf.jobboard.max_attempts,
            stalled_takeovers=conf.jobboard.max_stalled_takeovers,
        )

    def run(self, max_dispatches: int | None = None) -> None:
        """Run until stopped, woken by the board's watch whenever a job may be claimable."""
        watch = self._board.watch(self.wake, retry=self._poll)
        try:
            super().run(max_dispatches=max_dispatches)
        finally:
            watch.stop()

    def run_job(self, job: Any) -> bool:
        """Run the job's flow; True consumes the job, False gives it back."""
        flow_id = jobboard.flow_of(job)
        if flow_id is None:
            LOG.error("Job %s names no flow; consuming it", job)
            return True
        try:
            if self._already_finished(flow_id):
                LOG.info("Flow %s of job %s already finished; consuming the job", flow_id, job)
                return True
            keeper = ClaimKeeper(
                self._board,
                job,
                self.name,
                self._heartbeat,
                on_lost=lambda: self._rt.fences.revoke_flow(flow_id),
            )
            with keeper:
                outcome = runner.run(self._rt, flow_id, owner=self.name, limits=self._limits)
        except Exception:
            LOG.exception("Running flow %s failed in this worker; giving the job back", flow_id)
            return False
        LOG.info("Flow %s: %s", flow_id, outcome)
        return outcome in FINISHED

    def _already_finished(self, flow_id: str) -> bool:
        """Finished, or gone with its stack (nothing left to run)."""
        with self._rt.db.reader() as session:
            try:
                state = flows.get(session, flow_id).state
            except exceptions.FlowNotFound:
                return True
        return state in flows.ENDED
