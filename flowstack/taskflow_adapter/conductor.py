"""A TaskFlow conductor that hands each claimed job to a callable of ours.

Works around: TaskFlow's conductors build and run the job's engine
themselves (``ExecutorConductor._dispatch_job``: load the flow detail named
by the job, compile, run, consume).  flowstack must run a job's flow its own
way (claim the flow in the database to bump its fencing epoch, renew the
jobboard claim on a clock, quarantine after N attempts, read the outcome
from persistence), so it overrides that private method, the only hook the
conductor offers between "claimed" and "finished".

Upstream patch to send: give ``ExecutorConductor`` a public, documented
``job_runner`` constructor argument (``Callable[[Job], bool]``, True to
consume the job) used by ``_dispatch_job`` when given; the default keeps
today's behaviour.  This module would then pass it instead of overriding.
"""

from __future__ import annotations

import abc
from typing import Any

from taskflow.conductors.backends import impl_nonblocking


class JobConductor(impl_nonblocking.NonBlockingConductor, abc.ABC):
    """TaskFlow's non-blocking conductor loop; :meth:`run_job` runs each claimed job."""

    @abc.abstractmethod
    def run_job(self, job: Any) -> bool:
        """Run the claimed job; True consumes it, False gives it back to the board."""

    def _dispatch_job(self, job: Any) -> bool:  # TaskFlow's hook (see the module docstring)
        return self.run_job(job)
