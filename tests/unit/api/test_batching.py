"""Group commit of webhook calls: together on the wire, answered one by one."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from flowstack import exceptions
from flowstack.api.batching import Batcher


class GatedEngine:
    """Answers batches; the first one only once the test opens the gate."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.gate = threading.Event()
        self.first_in_flight = threading.Event()
        self.fail_with: BaseException | None = None

    def __call__(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.batches.append(calls)
        if len(self.batches) == 1:
            self.first_in_flight.set()
            self.gate.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        return [
            {"error": "not_found"}
            if call["token_hash"] == "unknown"
            else {"receipt": {"receipt_id": f"r-{call['token_hash']}", "duplicate": False}}
            for call in calls
        ]


def call_in_thread(batcher: Batcher, token_hash: str, out: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        try:
            out[token_hash] = batcher(token_hash, None, "generic", {})
        except Exception as exc:
            out[token_hash] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_calls_that_arrive_meanwhile_travel_in_one_batch() -> None:
    engine = GatedEngine()
    batcher = Batcher(engine, senders=1)
    answers: dict[str, Any] = {}
    first = call_in_thread(batcher, "h0", answers)
    assert engine.first_in_flight.wait(5)
    waiting = [call_in_thread(batcher, f"h{n}", answers) for n in range(1, 6)]
    waiting.append(call_in_thread(batcher, "unknown", answers))
    while len(batcher._queue) < 6:
        threading.Event().wait(0.01)
    engine.gate.set()
    for thread in [first, *waiting]:
        thread.join(5)
    batcher.close()
    assert [len(b) for b in engine.batches] == [1, 6]
    assert answers["h3"] == {"receipt_id": "r-h3", "duplicate": False}
    assert isinstance(answers["unknown"], exceptions.WebhookNotFound)


def test_a_lone_call_leaves_at_once() -> None:
    engine = GatedEngine()
    engine.gate.set()
    batcher = Batcher(engine)
    try:
        assert batcher("h9", None, "aodh", {})["receipt_id"] == "r-h9"
    finally:
        batcher.close()
    assert engine.batches == [
        [{"token_hash": "h9", "idempotency_key": None, "source": "aodh", "details": {}}]
    ]


def test_a_failed_batch_fails_each_of_its_calls() -> None:
    engine = GatedEngine()
    engine.gate.set()
    engine.fail_with = exceptions.EngineUnavailable(method="signal_webhooks", timeout=60)
    batcher = Batcher(engine)
    try:
        with pytest.raises(exceptions.EngineUnavailable, match="within 60 s"):
            batcher("h1", None, "generic", {})
    finally:
        batcher.close()


def test_a_closed_batcher_refuses() -> None:
    batcher = Batcher(GatedEngine())
    batcher.close()
    with pytest.raises(exceptions.EngineUnavailable):
        batcher("h1", None, "generic", {})


def test_a_call_the_engine_could_not_record_is_503_material() -> None:
    def engine(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"error": "unavailable"} for _ in calls]

    batcher = Batcher(engine)
    try:
        with pytest.raises(exceptions.DatabaseUnavailable, match="send it again"):
            batcher("h1", None, "generic", {})
    finally:
        batcher.close()
