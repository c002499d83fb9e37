"""Tasks of scaling groups: completing a new group, and converging an existing one.

A converge flow (``flows.scale_flows``) starts with :class:`ConvergeLifecycle`,
whose revert puts the group back at the size it really has and fails the
scale events the flow covered; it ends with :class:`CompleteConverge`, which
completes them.  Members are created and deleted by the same resource tasks
as any stack resource; the victims of a scale-in are chosen when the flow
runs (:class:`ChooseVictims`), after :class:`CheckMembers` asked Nova which
members are broken, so that broken ones go first.
"""

from __future__ import annotations

import time
from typing import Any

from oslo_log import log as logging
from taskflow import task

from flows import keys
from flows.tasks import failures, resource_tasks, stack_tasks
from flowstack import exceptions, status
from flowstack.autoscaling import adjustment
from flowstack.autoscaling import member_stack as nested
from flowstack.db import events, groups, resources, scale_events, stacks
from flowstack.resources import group_store
from flowstack.resources.base import Resource
from flowstack.resources.types.template_resource import nested_stack_id
from flowstack.runtime import outputs, resource_state
from flowstack.runtime.container import Runtime

LOG = logging.getLogger(__name__)


class CompleteGroupCreate(task.Task):
    """The first members exist: the group is ACTIVE and its resource CREATE_COMPLETE."""

    def __init__(self, stack_id: str, resource: str, group_id: str, member_keys: list[str]) -> None:
        super().__init__(
            name=f"complete-group:{resource}",
            requires=member_keys,
            provides=keys.resource(resource),
        )
        self.stack_id = stack_id
        self.resource = resource
        self.group_id = group_id

    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any]:
        rt = runtime
        stack = rt.stacks.get(self.stack_id)
        loaded = resource_state.load(rt, stack, self.resource, checkpoint=True)
        if (loaded.action, loaded.status) == (status.CREATE, status.COMPLETE):
            return resource_state.ready_state(rt, loaded.plugin)[1]
        try:
            group_store.complete_group(rt, self.stack_id, self.group_id)
            return resource_tasks.complete_create(rt, stack, loaded.plugin, loaded.type_name)
        except Exception as exc:
            raise failures.record_create_failure(rt, stack, self.resource, loaded, exc) from exc


class ConvergeLifecycle(task.Task):
    """On revert: the group returns to the size it has, and its open events fail."""

    def __init__(self, group_id: str, generation: int) -> None:
        super().__init__(name="converge-lifecycle")
        self.group_id = group_id
        self.generation = generation

    def execute(self, runtime: Runtime) -> None:
        """The engine marked the group's stack UPDATE_IN_PROGRESS with this flow."""

    def revert(
        self, runtime: Runtime, *args: Any, flow_failures: dict[str, Any] | None = None, **kw: Any
    ) -> None:
        reason = stack_tasks.first_failure(flow_failures)
        fail_convergence(runtime, self.group_id, reason)


def fail_convergence(rt: Runtime, group_id: str, reason: str) -> None:
    """Desired capacity back to the members in service; open events FAILED."""
    with rt.write(group_id) as connection:
        group = groups.get(connection, group_id, lock=True)
        _forget_removed(connection, group)
        healthy, _ = groups.member_counts(connection, group_id)
        reset = adjustment.clamp(healthy, group.min_size, group.max_size).capacity
        groups.update(connection, group_id, desired_capacity=reset)
        scale_events.settle(
            connection,
            group_id,
            None,
            scale_events.FAILED,
            f"failed: {reason}; desired capacity reset to {reset}",
            reason=reason,
        )
        why = f"Scaling failed: {reason}"
        stacks.set_status(connection, group_id, status.UPDATE, status.FAILED, why)
        events.add(connection, group_id, status.UPDATE, status.FAILED, why)
    refresh_parent(rt, group_id)


class CheckMembers(task.Task):
    """Ask the cloud about every member in service; mark the broken ones.

    A member whose server Nova reports in ERROR, or which was deleted out of
    band, becomes CHECK_FAILED: the convergence removes it first, and the
    next one replaces it.
    """

    def __init__(self, group_id: str, exclude: list[str]) -> None:
        super().__init__(name="check-members")
        self.group_id = group_id
        self.exclude = list(exclude)

    def execute(self, runtime: Runtime) -> int:
        rt = runtime
        rt.checkpoint(self.group_id)
        stack = rt.stacks.get(self.group_id)
        with rt.db.read_connection() as connection:
            rows = [
                r
                for r in groups.members(connection, self.group_id)
                if groups.is_healthy(r) and r.name not in self.exclude
            ]
        types = rt.types(stack)
        broken = 0
        for row in rows:
            if types.get(row.type).health is Resource.health:
                continue  # nothing remote to ask (OS::Heat::None): skip its row's read
            loaded = resource_state.load(rt, stack, row.name)
            try:
                problem = loaded.plugin.health()
            except Exception as exc:  # an unreachable cloud is no verdict on the member
                LOG.warning(
                    "Could not check member %s of group %s: %s", row.name, self.group_id, exc
                )
                continue
            if problem:
                broken += 1
                with rt.write(self.group_id) as connection:
                    resources.transition(
                        connection,
                        self.group_id,
                        row.name,
                        loaded.type_name,
                        status.CHECK,
                        status.FAILED,
                        problem,
                    )
        return broken


class ChooseVictims(task.Task):
    """Which members a scale-in removes: broken ones, then by the removal policy."""

    def __init__(self, group_id: str, count: int, exclude: list[str]) -> None:
        super().__init__(name="choose-victims", provides=keys.VICTIMS)
        self.group_id = group_id
        self.count = count
        self.exclude = list(exclude)

    def execute(self, runtime: Runtime) -> list[str | None]:
        rt = runtime
        rt.checkpoint(self.group_id)
        with rt.db.read_connection() as connection:
            group = groups.get(connection, self.group_id)
            rows = [
                r for r in groups.members(connection, self.group_id) if r.name not in self.exclude
            ]
        broken = [r.name for r in rows if not groups.is_healthy(r)]
        healthy = [r.name for r in rows if groups.is_healthy(r)]
        if group.removal_policy == "newest_first":
            healthy.reverse()
        chosen: list[str | None] = [*broken, *healthy][: self.count]
        return chosen + [None] * (self.count - len(chosen))


class _ForVictim:
    """A step of a scale-in slot: it acts on the member chosen for its slot, if any."""

    slot: int

    def aim(self, victim: str) -> None:
        raise NotImplementedError

    def execute(self, runtime: Runtime, **inputs: Any) -> bool:
        victim = inputs[keys.VICTIMS][self.slot]
        if victim is None:
            return True  # fewer members than slots (say, the broken ones were gone)
        self.aim(victim)
        return bool(super().execute(runtime))  # type: ignore[misc]


class RemoveMember(_ForVictim, resource_tasks.DeleteResource):
    """Delete the member chosen for one slot of a scale-in."""

    def __init__(self, group_id: str, slot: int, deadline: float, *, polls: bool) -> None:
        super().__init__(
            group_id,
            f"slot-{slot}",
            [],
            deadline,
            polls=polls,
            label=f"remove-{slot}",
            after=[keys.VICTIMS],
        )
        self.slot = slot

    def aim(self, victim: str) -> None:
        self.resource = victim


class WaitForRemoval(_ForVictim, resource_tasks.WaitForDelete):
    def __init__(self, group_id: str, slot: int, deadline: float) -> None:
        super().__init__(
            group_id, f"slot-{slot}", deadline, label=f"remove-{slot}", after=[keys.VICTIMS]
        )
        self.slot = slot

    def aim(self, victim: str) -> None:
        self.resource = victim


class RemovePart(_ForVictim, resource_tasks.DeleteResource):
    """Delete one resource of the template member chosen for a slot (its nested stack)."""

    def __init__(
        self,
        group_id: str,
        slot: int,
        part: str,
        dependents: list[str],
        deadline: float,
        *,
        polls: bool,
    ) -> None:
        super().__init__(
            group_id,
            part,
            dependents,
            deadline,
            polls=polls,
            label=f"remove-{slot}/{part}",
            after=[keys.VICTIMS],
            scope=f"remove-{slot}",
        )
        self.group_id = group_id
        self.slot = slot

    def aim(self, victim: str) -> None:
        self.stack_id = nested_stack_id(self.group_id, victim)


class WaitForPartRemoval(_ForVictim, resource_tasks.WaitForDelete):
    def __init__(self, group_id: str, slot: int, part: str, deadline: float) -> None:
        super().__init__(
            group_id,
            part,
            deadline,
            label=f"remove-{slot}/{part}",
            after=[keys.VICTIMS],
            nested=True,
        )
        self.group_id = group_id
        self.slot = slot

    def aim(self, victim: str) -> None:
        self.stack_id = nested_stack_id(self.group_id, victim)


class CreateMember(resource_tasks.CreateResource):
    """A new member; with ``keep_partial`` its failure removes it instead of the event."""

    def __init__(
        self, group_id: str, member: str, deadline: float, *, polls: bool, keep_partial: bool
    ) -> None:
        super().__init__(group_id, member, [], deadline, polls=polls)
        self.keep_partial = keep_partial

    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any] | None:
        try:
            return super().execute(runtime, **inputs)
        except Exception as exc:
            if not self.keep_partial or not _is_member_failure(exc):
                raise
            return _discard(runtime, self.stack_id, self.resource, exc)


class WaitForMember(resource_tasks.WaitForCreate):
    def __init__(self, group_id: str, member: str, deadline: float, *, keep_partial: bool) -> None:
        super().__init__(group_id, member, deadline)
        self.keep_partial = keep_partial

    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any]:
        if self.keep_partial:
            rt = runtime
            with rt.db.read_connection() as connection:
                row = resources.get_state(connection, self.stack_id, self.resource)
            if row.action == status.DELETE:  # its create failed and it was discarded
                return {"failed": row.status_reason}
        try:
            return super().execute(runtime, **inputs)
        except Exception as exc:
            if not self.keep_partial or not _is_member_failure(exc):
                raise
            return _discard(runtime, self.stack_id, self.resource, exc)


def _is_member_failure(exc: BaseException) -> bool:
    return isinstance(exc, exceptions.ResourceFailure)


def _discard(rt: Runtime, group_id: str, member: str, exc: BaseException) -> dict[str, Any]:
    """Remove a member that failed, keeping the rest of the scale-out."""
    stack = rt.stacks.get(group_id)
    loaded = resource_state.load(rt, stack, member)
    resource_tasks.delete_until_gone(rt, stack, loaded, rt.conf.engine.rollback_timeout_secs)
    return {"failed": failures.describe(exc)}


class Pause(task.Task):
    """rolling_updates.pause_time between two batches of replacements."""

    def __init__(self, name: str, group_id: str, seconds: float) -> None:
        super().__init__(name=name)
        self.group_id = group_id
        self.seconds = seconds

    def execute(self, runtime: Runtime) -> None:
        rt = runtime
        ends = time.time() + self.seconds
        while True:
            rt.checkpoint(self.group_id)
            left = ends - time.time()
            if left <= 0:
                return
            time.sleep(min(left, 1.0))


class CompleteConverge(task.Task):
    """The members match the flow's target: its events complete, the parent learns."""

    def __init__(self, group_id: str, generation: int, member_keys: list[str]) -> None:
        super().__init__(name="converge-complete", requires=member_keys)
        self.group_id = group_id
        self.generation = generation

    def execute(self, runtime: Runtime, **inputs: Any) -> int:
        rt = runtime
        failed = [r["failed"] for r in inputs.values() if isinstance(r, dict) and "failed" in r]
        with rt.write(self.group_id) as connection:
            group = groups.get(connection, self.group_id, lock=True)
            _forget_removed(connection, group)
            healthy, _ = groups.member_counts(connection, self.group_id)
            values: dict[str, Any] = {"converged_generation": self.generation}
            if failed:
                kept = adjustment.clamp(healthy, group.min_size, group.max_size).capacity
                values["desired_capacity"] = kept
                step = (
                    f"partial: {len(inputs) - len(failed)} of {len(inputs)} new member(s) "
                    f"created ({failed[0]}); desired capacity set to {kept}"
                )
            else:
                step = f"converged: {healthy} member(s) in service"
            groups.update(connection, self.group_id, **values)
            scale_events.settle(
                connection, self.group_id, self.generation, scale_events.COMPLETE, step
            )
            now = stacks.status_of(connection, self.group_id)
            if now is not None and (now.action, now.status) == (status.UPDATE, status.IN_PROGRESS):
                reason = f"Group at {healthy} member(s)"
                stacks.set_status(connection, self.group_id, status.UPDATE, status.COMPLETE, reason)
                events.add(connection, self.group_id, status.UPDATE, status.COMPLETE, reason)
        refresh_parent(rt, self.group_id)
        return healthy


def _forget_removed(connection: Any, group: Any) -> None:
    gone = groups.forget_removed(connection, group.id)
    if gone:
        row = stacks.get_by_id_row(connection, group.id)
        stacks.update_template(
            connection, group.id, nested.with_members(row.template, group.member_type, [], gone)
        )


def refresh_parent(rt: Runtime, group_id: str) -> None:
    """The group's resource in its stack (refs, current_size...) and the stack's outputs."""
    with rt.db.read_connection() as connection:
        group = groups.get(connection, group_id)
    parent = rt.stacks.get(group.stack_id)
    loaded = resource_state.load(rt, parent, group.resource_name)
    if (loaded.action, loaded.status) != (status.CREATE, status.COMPLETE):
        return
    columns, _ = resource_state.ready_state(rt, loaded.plugin)
    with rt.db.read_connection() as connection:
        parent_done = stacks.status_of(connection, group.stack_id)
    with rt.write(group_id) as connection:
        resources.update(connection, group.stack_id, group.resource_name, **columns)
    if parent_done is None or (parent_done.action, parent_done.status) != (
        status.CREATE,
        status.COMPLETE,
    ):
        return
    listing, values = outputs.resolve_outputs(rt, parent)
    with rt.write(group_id) as connection:
        stacks.update_outputs(connection, group.stack_id, listing, rt.secrets.encrypt(values))
