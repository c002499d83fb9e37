"""Keeps a job's claim alive while its flow runs, on a clock, not on progress.

Renewing only when the engine reports progress would let the claim lapse
during one long step (a slow Nova build), and two workers would then run
the same step.  A thread renews every ``interval`` seconds instead; if the
claim is found to belong to someone else, it stops renewing and says so
(the fence then stops this worker's writes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class ClaimKeeper:
    def __init__(
        self,
        board: Any,
        job: Any,
        who: str,
        expiry: float,
        interval: float,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._board = board
        self._on_lost = on_lost
        self._job = job
        self._who = who
        self._expiry = expiry
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
                owner = self._board.find_owner(self._job)
                if owner != self._who:
                    self.lost = True
                    LOG.warning("Lost the claim on job %s (now owned by %s)", self._job, owner)
                    if self._on_lost is not None:
                        self._on_lost()
                    return
                self._job.extend_expiry(self._expiry)
            except Exception:  # a jobboard hiccup: try again next beat
                LOG.warning("Could not renew the claim on job %s", self._job, exc_info=True)
