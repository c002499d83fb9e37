"""A token bucket per key (here: per webhook), thread-safe and bounded in memory.

A noisy or misconfigured monitor must not flood the engine through one
webhook. Each key may spend up to ``burst`` requests at once, and its bucket
refills at ``rate`` per second. Buckets live in LRU order: a bucket that has
refilled completely is no different from a new one, so it is dropped, and no
more than ``max_keys`` are ever kept (random tokens cannot grow the table).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_MAX_KEYS = 10000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``acquire(key)`` spends one request of ``key``'s bucket, or says how long to wait."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``rate`` requests per second sustained (0: no limit), ``burst`` at once."""
        if rate < 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate must be >= 0, burst and max_keys >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, key: str) -> float:
        """0.0 when the request may go ahead; else the seconds until it could."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = _Bucket(tokens=self.burst, updated=now)
            else:
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - bucket.tokens) / self.rate
            self._buckets[key] = bucket  # most recently used last
            self._evict(now)
            return wait

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _evict(self, now: float) -> None:
        """Drop the least recently used buckets that are full again, and any above the cap."""
        refill = self.burst / self.rate
        while self._buckets:
            key, oldest = next(iter(self._buckets.items()))
            full_again = now - oldest.updated >= refill
            if not full_again and len(self._buckets) <= self.max_keys:
                break
            del self._buckets[key]


def retry_after(wait: float) -> int:
    """A ``Retry-After`` value (whole seconds, at least 1) for a wait in seconds."""
    return max(1, math.ceil(wait))
