"""Fencing: a runner that lost its flow to another runner can no longer write.

Each claim of a flow bumps the flow's ``epoch`` (compare-and-set in the
flows table).  A runner holds a :class:`Fence` with the epoch it claimed,
and every state write it makes — TaskFlow's atom and flow saves, resource
transitions, stack status — first checks, inside the same transaction and
with the flow's row locked, that the epoch is still its own.  A worker that
was paused past its claim and wakes up after a takeover therefore fails on
its first write instead of overwriting the new owner's state, and a side
effect is always preceded by such a write (the recorded intent).
"""

from __future__ import annotations

import dataclasses
import threading

import sqlalchemy as sa

from flowstack import exceptions
from flowstack.db import models
from flowstack.db.session import Database
from flowstack.exceptions import FencedOut

_FLOWS = models.Flow.__table__


@dataclasses.dataclass
class Fence:
    flow_id: str
    epoch: int
    lost: bool = False
    #: Why this process stopped the flow itself (Ctrl-C), if it did.
    stopped: str | None = None

    def check(self, connection: sa.Connection) -> None:
        """Raise FencedOut unless the flow is still at this fence's epoch.

        Locks the flow's row (FOR UPDATE; SQLite writers are serialized
        anyway) so that a takeover cannot slip between check and write.
        """
        self._compare(
            connection.execute(
                sa.select(_FLOWS.c.epoch).where(_FLOWS.c.id == self.flow_id).with_for_update()
            ).scalar()
        )

    def verify(self, db: Database) -> None:
        """The same check, without a write: just before a call that changes a cloud.

        A runner paused between recording its intent and calling Nova must not
        boot a server after another runner took the flow over.
        """
        if self.lost:
            raise FencedOut(f"flow {self.flow_id}: this runner lost its claim")
        with db.read_connection() as connection:
            self._compare(
                connection.execute(
                    sa.select(_FLOWS.c.epoch).where(_FLOWS.c.id == self.flow_id)
                ).scalar()
            )

    def checkpoint(self, db: Database) -> None:
        """At a step boundary: still the owner, and nobody asked to cancel.

        :raises FencedOut: the flow was taken over.
        :raises FlowCancelled: an operator cancelled the flow; the step fails
            and the flow rolls back like after any failure.
        """
        with db.read_connection() as connection:
            self.checkpoint_on(connection)

    def checkpoint_on(self, connection: sa.Connection) -> None:
        """:meth:`checkpoint` inside a transaction the caller already has open."""
        if self.lost:
            raise FencedOut(f"flow {self.flow_id}: this runner lost its claim")
        row = connection.execute(
            sa.select(_FLOWS.c.epoch, _FLOWS.c.cancel_requested).where(_FLOWS.c.id == self.flow_id)
        ).first()
        self._compare(row.epoch if row is not None else None)
        if row.cancel_requested:
            raise exceptions.FlowCancelled(flow_id=self.flow_id, by=row.cancel_requested)

    def revoke(self, stopped: str | None = None) -> None:
        """The claim is gone (the jobboard says so), or ``stopped`` says why this
        process stops the flow itself: either way, stop before the next write."""
        self.stopped = stopped
        self.lost = True

    def _compare(self, current: int | None) -> None:
        if self.lost or current != self.epoch:
            self.lost = True
            raise FencedOut(
                f"flow {self.flow_id} was taken over (epoch {current}, this runner holds "
                f"{self.epoch}); not writing"
            )


class Fences:
    """The fences this process holds, by stack (one running flow per stack)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_stack: dict[str, Fence] = {}

    def hold(self, stack_id: str, fence: Fence) -> None:
        with self._lock:
            self._by_stack[stack_id] = fence

    def release(self, stack_id: str, fence: Fence) -> None:
        with self._lock:
            if self._by_stack.get(stack_id) is fence:
                del self._by_stack[stack_id]

    def get(self, stack_id: str) -> Fence | None:
        with self._lock:
            return self._by_stack.get(stack_id)

    def held(self) -> bool:
        """Whether this process runs any flow now (else nothing needs fencing)."""
        with self._lock:
            return bool(self._by_stack)

    def revoke_flow(self, flow_id: str, stopped: str | None = None) -> None:
        with self._lock:
            for fence in self._by_stack.values():
                if fence.flow_id == flow_id:
                    fence.revoke(stopped)
