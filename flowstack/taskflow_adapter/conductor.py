"""A TaskFlow conductor that hands each claimed job to a callable of ours, and sleeps until woken.

Works around, first: TaskFlow's conductors build and run the job's engine
themselves (``ExecutorConductor._dispatch_job``: load the flow detail named
by the job, compile, run, consume).  flowstack must run a job's flow its own
way (claim the flow in the database to bump its fencing epoch, renew the
jobboard claim on a clock, quarantine after N attempts, read the outcome
from persistence), so it overrides that private method, the only hook the
conductor offers between "claimed" and "finished".

Second: an idle conductor sleeps ``wait_timeout`` between two looks at the
board (``_run_until_dead`` calls ``wait_timeout.wait()`` when it dispatched
nothing), so a new job waits up to that long; a short timeout (flowstack's
was 50 ms) keeps an idle worker busy polling.  The conductor accepts a
``Timeout`` object as ``wait_timeout`` (documented: "does nothing if the
value provided is already a timeout instance"): :class:`IdleWait` returns
early when :meth:`JobConductor.wake` is called, which the jobboard's watch
does on a post or a freed claim, and which ``_on_job_done`` (private,
overridden here) does once a finished job's slot is free again, so a
worker at its limit of simultaneous jobs looks at the board at once.

Upstream patch to send: give ``ExecutorConductor`` a public, documented
``job_runner`` constructor argument (``Callable[[Job], bool]``, True to
consume the job) used by ``_dispatch_job`` when given; and let the idle
wait end early, by waiting on a condition that ``_on_job_done`` and an
optional jobboard ``watch(callback)`` notify (Redis pub/sub, ZooKeeper and
etcd watches), instead of a fixed ``wait_timeout``.  This module would then
pass arguments instead of overriding.
"""

from __future__ import annotations

import abc
import threading
from typing import Any

from taskflow.conductors.backends import impl_nonblocking
from taskflow.types import timing


class IdleWait(timing.Timeout):
    """The conductor's idle sleep: ``value`` seconds at most, less when woken.

    ``interrupt()`` (stopping the conductor) also ends a sleep, as TaskFlow's
    ``Timeout`` does; ``is_stopped()`` reports only that.
    """

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self._woken = threading.Event()

    def wake(self) -> None:
        self._woken.set()

    def interrupt(self) -> None:
        super().interrupt()
        self._woken.set()

    def wait(self) -> None:
        self._woken.wait(self.value)
        self._woken.clear()


class JobConductor(impl_nonblocking.NonBlockingConductor, abc.ABC):
    """TaskFlow's non-blocking conductor loop; :meth:`run_job` runs each claimed job.

    When idle it looks at the board every ``idle_poll`` seconds, or at once
    when :meth:`wake` is called.
    """

    def __init__(
        self,
        name: str,
        jobboard: Any,
        *,
        persistence: Any,
        max_simultaneous_jobs: int,
        idle_poll: float,
    ) -> None:
        self._idle = IdleWait(idle_poll)
        super().__init__(
            name,
            jobboard,
            persistence=persistence,
            max_simultaneous_jobs=max_simultaneous_jobs,
            wait_timeout=self._idle,
        )

    @abc.abstractmethod
    def run_job(self, job: Any) -> bool:
        """Run the claimed job; True consumes it, False gives it back to the board."""

    def wake(self) -> None:
        """Look at the board now (a job may be claimable), not after ``idle_poll``."""
        self._idle.wake()

    def _dispatch_job(self, job: Any) -> bool:  # TaskFlow's hook (see the module docstring)
        return self.run_job(job)

    def _on_job_done(self, job: Any, fut: Any) -> None:  # TaskFlow's (see the docstring)
        try:
            super()._on_job_done(job, fut)
        finally:
            self.wake()  # its slot is free now
