"""A template member's resources when its group keeps partial progress.

Without ``keep_partial_progress`` a failed resource of a member fails the
scale-out, which reverts.  With it, the member alone is given up: a part
that fails records its failure and hands ``{"failed": reason}`` on instead
of raising, the parts that need it skip, and the member's last task, once
none of its parts is in flight any more, deletes those that exist (pool
member before server, the file's dependency order reversed) and the member
itself.  Deciding at the end, not at the first failure, is what keeps a
part that another thread was still creating from being left behind.
"""

from __future__ import annotations

from typing import Any

from flows import keys
from flows.tasks import failures, resource_tasks
from flowstack import exceptions, status
from flowstack.db import resources
from flowstack.runtime import resource_state
from flowstack.runtime.container import Runtime


def _failed_input(inputs: dict[str, Any]) -> str | None:
    for value in inputs.values():
        if isinstance(value, dict) and "failed" in value:
            return str(value["failed"])
    return None


class PartCreate(resource_tasks.CreateResource):
    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any] | None:
        failed = _failed_input(inputs)
        if failed is not None:
            return {"failed": failed}  # a part it needs failed: never started
        try:
            return super().execute(runtime, **inputs)
        except exceptions.ResourceFailure as exc:
            return {"failed": failures.describe(exc)}


class PartWait(resource_tasks.WaitForCreate):
    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any]:
        rt = runtime
        with rt.db.read_connection() as connection:
            row = resources.get_state(connection, self.stack_id, self.resource)
        if row.status == status.FAILED or row.action == status.INIT:
            return {"failed": row.status_reason or "not created"}
        try:
            return super().execute(runtime, **inputs)
        except exceptions.ResourceFailure as exc:
            return {"failed": failures.describe(exc)}


class CompletePartialMember(resource_tasks.WaitForCreate):
    """The member's last step: complete it, or give it up with its resources."""

    def __init__(
        self,
        group_id: str,
        member: str,
        deadline: float,
        part_labels: list[str],
        part_order: list[str],
        nested_id: str,
    ) -> None:
        super().__init__(
            group_id,
            member,
            deadline,
            label=member,
            after=[keys.resource(label) for label in part_labels],
        )
        self.part_order = list(part_order)
        self.nested_id = nested_id

    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any]:
        failed = _failed_input(inputs)
        if failed is None:
            return super().execute(runtime, **inputs)
        rt = runtime
        timeout = rt.conf.engine.rollback_timeout_secs
        nested = rt.stacks.get(self.nested_id)
        for part in reversed(self.part_order):  # dependents first
            loaded = resource_state.load(rt, nested, part)
            if loaded.action != status.INIT and (loaded.action, loaded.status) != (
                status.DELETE,
                status.COMPLETE,
            ):
                resource_tasks.delete_until_gone(rt, nested, loaded, timeout)
        group = rt.stacks.get(self.stack_id)
        member = resource_state.load(rt, group, self.resource)
        resource_tasks.delete_until_gone(rt, group, member, timeout)
        return {"failed": failed}
