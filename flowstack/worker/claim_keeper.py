"""Keeps a job's claim alive while its flow runs, on a clock, not on progress.

Renewing only when the engine reports progress would let the claim lapse
during one long step (a slow Nova build), and two workers would then run
the same step.  A thread renews every ``interval`` seconds instead, as the
board's backend does it (:meth:`~flowstack.jobboard.base.Jobboard.renew`:
extend an expiry on Redis, refresh a lease on etcd, check the session's
claim on ZooKeeper); if the claim is found to be gone or someone else's,
it stops and says so (the fence then stops this worker's writes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

from flowstack.jobboard import base as jobboard_base

LOG = logging.getLogger(__name__)


class ClaimKeeper:
    def __init__(
        self,
        board: jobboard_base.Jobboard,
        job: Any,
        who: str,
        interval: float,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._board = board
        self._on_lost = on_lost
        self._job = job
        self._who = who
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"claim-{job.uuid[:8]}", daemon=True)
        self.lost = False

    def __enter__(self) -> ClaimKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                kept = self._board.renew(self._job, self._who)
            except Exception:  # a jobboard hiccup: try again next beat
                LOG.warning("Could not renew the claim on job %s", self._job, exc_info=True)
                continue
            if not kept:
                self.lost = True
                try:
                    owner = self._board.find_owner(self._job)
                except Exception:
                    owner = "unknown"
                LOG.warning("Lost the claim on job %s (now owned by %s)", self._job, owner)
                if self._on_lost is not None:
                    self._on_lost()
                return
