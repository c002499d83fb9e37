"""flowstack-api's log hand-off: request threads queue records, one thread writes them."""

from __future__ import annotations

import logging
import threading

from flowstack.api import log_handoff


class Recording(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((threading.current_thread().name, record.getMessage()))


def test_records_from_many_threads_are_all_written_by_one_thread_and_nothing_is_lost() -> None:
    logger = logging.getLogger("test.handoff")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    writer = Recording()
    logger.addHandler(writer)
    restore = log_handoff.hand_off(logger)
    try:
        assert writer not in logger.handlers  # behind the queue now

        def requests(n: int) -> None:
            for i in range(200):
                logger.info("thread %d line %d", n, i)

        threads = [threading.Thread(target=requests, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        logger.debug("below the level: dropped")
    finally:
        restore()  # flushes what is queued
    assert writer in logger.handlers
    assert len(writer.lines) == 8 * 200
    assert {name for name, _ in writer.lines} == {writer.lines[0][0]}
    assert writer.lines[0][0] != threading.current_thread().name
    for n in range(8):  # each thread's lines stay in its order
        mine = [line for _, line in writer.lines if line.startswith(f"thread {n} ")]
        assert mine == [f"thread {n} line {i}" for i in range(200)]
    logger.removeHandler(writer)
