"""Scaling policies by webhook token hash, remembered for a few seconds.

A webhook storm sends the same few tokens hundreds of times a second; each
batch read them again in a transaction of its own (a pooled connection's
ping, the read, the commit).  The row is safe to reuse briefly because a
policy never changes once created, except ``enabled``, which only goes
false when its group's stack or the group is deleted, and the decision
checks the group's status again under the group's lock.  When a policy
took effect last is not taken from here: a policy with a cooldown is
re-read under the lock.  Unknown tokens are never remembered, so random
tokens cannot fill the cache or hide a new policy.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

Loader = Callable[[list[str]], dict[str, Any]]


class PolicyCache:
    def __init__(self, ttl: float = 2.0, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._lock = threading.Lock()
        self._items: collections.OrderedDict[str, tuple[float, Any]] = collections.OrderedDict()

    def lookup(self, hashes: list[str], load: Loader) -> dict[str, Any]:
        """The enabled policies of these hashes; ``load`` reads those not remembered."""
        now = time.monotonic()
        found: dict[str, Any] = {}
        with self._lock:
            for digest in hashes:
                item = self._items.get(digest)
                if item is not None and item[0] > now:
                    found[digest] = item[1]
        missing = sorted({h for h in hashes if h not in found})
        if not missing:
            return found
        loaded = load(missing)
        with self._lock:
            for digest, row in loaded.items():
                if row.enabled:
                    self._items[digest] = (now + self.ttl, row)
                    self._items.move_to_end(digest)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return {**found, **loaded}
