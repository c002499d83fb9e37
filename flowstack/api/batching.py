"""Group commit for webhook calls: the calls that arrive together travel together.

A webhook storm on one group is serialised by the group's lock in the
engine, and every call through oslo.messaging costs a few milliseconds of
CPU on each side.  So the API sends the calls waiting when a sender is free
as one ``signal_webhooks`` call, and the engine decides each group's calls
in one transaction.  Nothing waits on purpose: a lone call leaves at once;
calls only batch up while the previous batches are on their way, which is
exactly when there are many.  Each caller still gets its own answer, and its
call is committed before that answer comes back.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging

from flowstack import exceptions

LOG = logging.getLogger(__name__)

SendBatch = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
NOT_FOUND = "not_found"
UNAVAILABLE = "unavailable"


class _Pending:
    def __init__(self, call: dict[str, Any]) -> None:
        self.call = call
        self.done = threading.Event()
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None


class Batcher:
    """``signal`` for the app, sending through ``send`` (a batch in, results out)."""

    def __init__(self, send: SendBatch, *, max_batch: int = 64, senders: int = 2) -> None:
        self._send = send
        self._max_batch = max_batch
        self._queue: collections.deque[_Pending] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._run, name=f"signal-sender-{n}", daemon=True)
            for n in range(senders)
        ]
        for thread in self._threads:
            thread.start()

    def __call__(
        self,
        token_hash: str,
        idempotency_key: str | None,
        source: str,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        pending = _Pending(
            {
                "token_hash": token_hash,
                "idempotency_key": idempotency_key,
                "source": source,
                "details": details,
            }
        )
        with self._ready:
            if self._closed:
                raise exceptions.EngineUnavailable(method="signal_webhooks", timeout=0)
            self._queue.append(pending)
            self._ready.notify()
        pending.done.wait()
        if pending.error is not None:
            raise _copy(pending.error)
        result = pending.result or {}
        if "receipt" in result:
            return dict(result["receipt"])
        if result.get("error") == UNAVAILABLE:
            raise exceptions.DatabaseUnavailable("the call could not be recorded; send it again")
        raise exceptions.WebhookNotFound()

    def close(self) -> None:
        """Send what is queued, then stop the senders."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for thread in self._threads:
            thread.join(30)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                batch = [
                    self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))
                ]
            self._deliver(batch)

    def _deliver(self, batch: list[_Pending]) -> None:
        try:
            results = self._send([p.call for p in batch])
            if len(results) != len(batch):
                raise exceptions.EngineError(
                    f"the engine answered {len(results)} results for {len(batch)} calls"
                )
            for pending, result in zip(batch, results, strict=True):
                pending.result = result
        except BaseException as exc:  # every caller learns why, none waits forever
            LOG.warning("A batch of %d webhook call(s) failed: %s", len(batch), exc)
            for pending in batch:
                pending.error = exc
        finally:
            for pending in batch:
                pending.done.set()


def _copy(error: BaseException) -> BaseException:
    """The batch's error for one caller (each raises its own instance)."""
    if isinstance(error, exceptions.FlowstackError):
        return type(error)(str(error), **error.kwargs)
    return error
