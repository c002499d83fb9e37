"""The per-webhook token bucket: burst, refill, and a table that stays small."""

from __future__ import annotations

import threading

import pytest

from flowstack.api.ratelimit import RateLimiter, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_sustained_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == pytest.approx(0.5)
    assert limiter.acquire("b") == 0.0  # every key has its own bucket


def test_a_refused_request_costs_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(1.0, 1, clock=clock)
    assert limiter.acquire("a") == 0.0
    for _ in range(5):
        assert limiter.acquire("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.acquire("a") == 0.0


def test_a_zero_rate_disables_the_limit() -> None:
    limiter = RateLimiter(0.0, 1)
    assert not limiter.enabled
    assert all(limiter.acquire("a") == 0.0 for _ in range(1000))
    assert len(limiter) == 0


def test_buckets_that_refilled_are_dropped_and_the_table_is_capped() -> None:
    clock = Clock()
    limiter = RateLimiter(10.0, 10, max_keys=100, clock=clock)
    for i in range(50):
        limiter.acquire(f"old-{i}")
    clock.now += 1.0  # enough for every bucket to be full again
    limiter.acquire("new")
    assert len(limiter) == 1
    for i in range(1000):
        limiter.acquire(f"flood-{i}")
    assert len(limiter) == 100
    # The most recently used survive: a flood forgets the oldest keys first.
    assert limiter.acquire("flood-999") == 0.0


def test_concurrent_callers_never_spend_more_than_the_burst() -> None:
    limiter = RateLimiter(0.001, 50)
    allowed: list[bool] = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(20):
            ok = limiter.acquire("shared") == 0.0
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed) == 50


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after(0.01) == 1
    assert retry_after(1.0) == 1
    assert retry_after(1.2) == 2


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(-1.0, 1)
    with pytest.raises(ValueError):
        RateLimiter(1.0, 0)
