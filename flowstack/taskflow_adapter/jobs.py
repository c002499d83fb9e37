"""What a jobboard says of a claim, whatever the board.

Works around: a Redis job's ``expires_in()`` answers with
``taskflow.utils.redis_utils.UnknownExpire`` markers (a utility module, not
the jobboard API) when the claim never expires or is gone, and other boards'
jobs have no ``expires_in`` at all.

Upstream patch to send: make ``Job.expires_in()`` part of the base job API,
returning None for "no expiry (session-bound)" and raising ``NotFound`` for
"gone", so callers need no backend knowledge.
"""

from __future__ import annotations

from typing import Any


def claim_expires_in(job: Any) -> float | str | None:
    """Seconds until a job's claim lapses, ``"never"``, or None when the board cannot say."""
    if not hasattr(job, "expires_in"):
        return None  # boards whose claims live as long as their owner's session
    from taskflow.utils import redis_utils  # the Redis board's answers

    left = job.expires_in()
    if left == redis_utils.UnknownExpire.DOES_NOT_EXPIRE:
        return "never"
    if left == redis_utils.UnknownExpire.KEY_NOT_FOUND:
        return None
    return round(float(left), 1)
