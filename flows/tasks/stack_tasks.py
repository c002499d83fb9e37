"""Tasks that move a whole stack through its lifecycle.

Each stack flow begins with a lifecycle task whose only job is to mark the
stack failed (or rolled back) when the flow reverts, so that rule lives in
one visible place, and ends with a task that marks it complete.
"""

from __future__ import annotations

from typing import Any

from taskflow import task

from flows.tasks import failures
from flowstack import status
from flowstack.db import events, resources, stacks
from flowstack.runtime.container import Runtime
from flowstack.runtime.outputs import resolve_outputs


def _set_stack(
    rt: Runtime,
    stack_id: str,
    action: str,
    state: str,
    reason: str,
    *,
    only_if: tuple[str, str] | None = None,
) -> None:
    """The stack's status and its event; with ``only_if``, only from that status."""
    with rt.write(stack_id) as session:
        if stacks.set_status(session, stack_id, action, state, reason, only_if=only_if):
            events.add(session, stack_id, action, state, reason)


def _failed_resources(rt: Runtime, stack_id: str, action: str) -> list[tuple[str, str]]:
    with rt.db.reader() as session:
        return [
            (row.name, row.status_reason)
            for row in resources.list_for_stack(session, stack_id)
            if (row.action, row.status) == (action, status.FAILED)
        ]


def first_failure(flow_failures: dict[str, Any] | None) -> str:
    for failure in (flow_failures or {}).values():
        return failure.exception_str
    return "unknown failure"


class StackCreateLifecycle(task.Task):
    """On revert: ROLLBACK_COMPLETE, ROLLBACK_FAILED, or CREATE_FAILED."""

    def __init__(self, stack_id: str) -> None:
        super().__init__(name="stack-create-lifecycle")
        self.stack_id = stack_id

    def execute(self, runtime: Runtime) -> None:
        """The engine marked the stack CREATE_IN_PROGRESS before posting the flow."""

    def revert(
        self, runtime: Runtime, *args: Any, flow_failures: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        rt = runtime
        with rt.db.reader() as session:
            row = stacks.get_by_id(session, self.stack_id)
            why = (
                row.status_reason
                if row.action != status.CREATE or row.status != status.IN_PROGRESS
                else ""
            )
            disable_rollback = row.disable_rollback
        why = why or first_failure(flow_failures)
        if disable_rollback:
            # The failed resource's task usually marked the stack CREATE_FAILED
            # already (with the same reason): one event, not two.
            _set_stack(
                rt,
                self.stack_id,
                status.CREATE,
                status.FAILED,
                why,
                only_if=(status.CREATE, status.IN_PROGRESS),
            )
            return
        left = _failed_resources(rt, self.stack_id, status.DELETE)
        if left:
            listing = "; ".join(f"{name}: {reason}" for name, reason in left)
            reason = f"{why}. Rollback could not remove {len(left)} resource(s): {listing}"
            _set_stack(rt, self.stack_id, status.ROLLBACK, status.FAILED, reason)
        else:
            _set_stack(rt, self.stack_id, status.ROLLBACK, status.COMPLETE, f"Rolled back: {why}")


class CompleteStackCreate(task.Task):
    """Resolve the outputs, then CREATE_COMPLETE."""

    def __init__(self, stack_id: str) -> None:
        super().__init__(name="stack-create-complete")
        self.stack_id = stack_id

    def execute(self, runtime: Runtime) -> None:
        rt = runtime
        stack = rt.stacks.get(self.stack_id)
        listing, values = resolve_outputs(rt, stack)
        with rt.write(self.stack_id) as session:
            reason = "Stack CREATE completed successfully"
            stacks.set_status(
                session,
                self.stack_id,
                status.CREATE,
                status.COMPLETE,
                reason,
                outputs=listing,
                secret_outputs=rt.secrets.encrypt(values),
            )
            events.add(session, self.stack_id, status.CREATE, status.COMPLETE, reason)


class StackDeleteLifecycle(task.Task):
    """On revert: DELETE_FAILED naming the resource(s) that could not be deleted."""

    def __init__(self, stack_id: str) -> None:
        super().__init__(name="stack-delete-lifecycle")
        self.stack_id = stack_id

    def execute(self, runtime: Runtime) -> None:
        """The engine marked the stack DELETE_IN_PROGRESS before posting the flow."""

    def revert(
        self, runtime: Runtime, *args: Any, flow_failures: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        rt = runtime
        failed = _failed_resources(rt, self.stack_id, status.DELETE)
        if failed:
            reason = "; ".join(
                failures.stack_reason(status.DELETE, name, why) for name, why in failed
            )
        else:
            reason = first_failure(flow_failures)
        _set_stack(rt, self.stack_id, status.DELETE, status.FAILED, reason)


class CompleteStackDelete(task.Task):
    def __init__(self, stack_id: str) -> None:
        super().__init__(name="stack-delete-complete")
        self.stack_id = stack_id

    def execute(self, runtime: Runtime) -> None:
        rt = runtime
        reason = "Stack DELETE completed successfully"
        with rt.write(self.stack_id) as session:
            stacks.mark_deleted(session, self.stack_id, reason)
            events.add(session, self.stack_id, status.DELETE, status.COMPLETE, reason)


class StackRollbackLifecycle(task.Task):
    """On revert: ROLLBACK_FAILED naming what could not be removed."""

    def __init__(self, stack_id: str) -> None:
        super().__init__(name="stack-rollback-lifecycle")
        self.stack_id = stack_id

    def execute(self, runtime: Runtime) -> None:
        """The operator's revert marked the stack ROLLBACK_IN_PROGRESS."""

    def revert(
        self, runtime: Runtime, *args: Any, flow_failures: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        rt = runtime
        failed = _failed_resources(rt, self.stack_id, status.DELETE)
        listing = "; ".join(f"{name}: {why}" for name, why in failed)
        reason = (
            f"Rollback could not remove {len(failed)} resource(s): {listing}"
            if failed
            else first_failure(flow_failures)
        )
        _set_stack(rt, self.stack_id, status.ROLLBACK, status.FAILED, reason)


class CompleteStackRollback(task.Task):
    def __init__(self, stack_id: str) -> None:
        super().__init__(name="stack-rollback-complete")
        self.stack_id = stack_id

    def execute(self, runtime: Runtime) -> None:
        rt = runtime
        _set_stack(
            rt,
            self.stack_id,
            status.ROLLBACK,
            status.COMPLETE,
            "Rolled back: every resource the failed create left was removed",
        )
