"""Log records written by one thread, so that request threads never wait on a log lock.

Each webhook request logs two lines.  With the handlers called in the
request threads, flowstack-api's threads queue for the handler's lock, and
a holder that loses the GIL mid-write keeps them all waiting: in the webhook
benchmark, a fifth of the API's busy time went to ``Handler.acquire``.  With
:func:`hand_off`, a request thread only puts the record on a queue (no
lock), and one thread formats and writes every record, in order.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from logging import handlers as log_handlers


class _HandOff(logging.Handler):
    """Puts records on a queue; unlike QueueHandler, without the handler's lock."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if not self.filter(record):
            return False
        self.records.put(record)  # SimpleQueue.put is thread-safe and never blocks
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.records.put(record)


def hand_off(logger: logging.Logger | None = None) -> Callable[[], None]:
    """Move the logger's handlers (default: the root's) behind a writer thread.

    Returns the function that flushes what is queued and puts the handlers back.
    """
    target = logger or logging.getLogger()
    moved = list(target.handlers)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = log_handlers.QueueListener(records, *moved, respect_handler_level=True)
    front = _HandOff(records)
    for handler in moved:
        target.removeHandler(handler)
    target.addHandler(front)
    listener.start()

    def restore() -> None:
        target.removeHandler(front)
        listener.stop()  # writes what is still queued
        for handler in moved:
            target.addHandler(handler)

    return restore
