"""Tasks that create and delete one resource through its plugin.

Each task re-reads the resource's row before acting, so that a task
re-executed after a crash sees what its first execution persisted: a
resource already complete is not created again, and a plugin finds the
intent it recorded before calling a remote service.  Reverts never raise:
what cannot be undone is recorded as DELETE_FAILED with the reason.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from oslo_log import log as logging
from taskflow import task

from flows import keys
from flows.tasks import failures
from flows.tasks.retries import ResourceNotReady
from flowstack import exceptions, status, template
from flowstack.db import events, models, resources
from flowstack.resources.base import Resource
from flowstack.runtime import resource_state
from flowstack.runtime.container import Runtime
from flowstack.runtime.resolution import TaskResolution
from flowstack.runtime.stack_definitions import StackDefinition

LOG = logging.getLogger(__name__)

STATE_CHANGED = "state changed"
CANCELLED = "create cancelled: another resource failed and rollback is disabled"


class _ResourceTask(task.Task):
    """Shared construction: which stack, which resource, and until when.

    ``label`` names the task and the values it provides; it is the resource
    name, except for a group's members inside their parent's flow
    (``group/member-1``), which must not collide with the parent's resources.
    ``scoped`` maps what the task requires, by the names its stack knows, to
    the labels of the flow (a template resource's own resources are
    ``member-1/server`` in the flow but ``server`` in their nested stack).
    """

    def __init__(
        self,
        name: str,
        stack_id: str,
        resource: str,
        deadline: float,
        *,
        requires: list[str] | None = None,
        provides: str | None = None,
        scoped: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            name=name, requires=requires or [], provides=provides, rebind=scoped or None
        )
        self.stack_id = stack_id
        self.resource = resource
        self.deadline = deadline

    def _check_deadline(self, action: str) -> None:
        if time.time() > self.deadline:
            raise exceptions.ResourceFailure(
                resource=self.resource, action=action, reason="the stack's timeout was reached"
            )


class CreateResource(_ResourceTask):
    """Resolve properties, record intent, then start (or finish) the create."""

    def __init__(
        self,
        stack_id: str,
        resource: str,
        needs: list[str],
        deadline: float,
        *,
        polls: bool,
        label: str | None = None,
        after: list[str] | None = None,
        provides: str | None = None,
        scope: str | None = None,
    ) -> None:
        label = label or resource
        super().__init__(
            f"create:{label}",
            stack_id,
            resource,
            deadline,
            requires=[keys.resource(n) for n in needs] + list(after or ()),
            provides=provides or (None if polls else keys.resource(label)),
            scoped=_scoped(keys.resource, needs, scope),
        )
        self.polls = polls

    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any] | None:
        rt = runtime
        stack = rt.stacks.get(self.stack_id, self.resource)
        # Taken over or cancelled: stop before acting (checked in the same read).
        loaded = resource_state.load(rt, stack, self.resource, checkpoint=True)
        plugin = loaded.plugin
        if (loaded.action, loaded.status) == (status.CREATE, status.COMPLETE):
            # Re-executed after the row was committed but before TaskFlow
            # saved this task's result: nothing to do again.
            return None if self.polls else resource_state.ready_state(rt, plugin)[1]
        try:
            self._check_deadline(status.CREATE)
            properties = template.resolve_properties(
                stack.template, self.resource, _resolution(rt, stack, inputs), rt.types(stack)
            )
            # Record the intent before a remote call, so a re-execution or a
            # rollback finds what the call created even if its reply is lost.
            # A type with nothing to record is written once, when done.
            intent = plugin.intent(properties)
            started_at = None if intent else models.utcnow()
            if intent:
                plugin.data["intent"] = intent
                _transition(rt, stack, plugin, loaded.type_name, status.CREATE, status.IN_PROGRESS)
            plugin.handle_create(properties)
            if not self.polls:
                return complete_create(rt, stack, plugin, loaded.type_name, started_at)
            if started_at is None:
                _save_progress(rt, self.stack_id, self.resource, plugin)
            else:
                _transition(
                    rt,
                    stack,
                    plugin,
                    loaded.type_name,
                    status.CREATE,
                    status.IN_PROGRESS,
                    at=started_at,
                )
            return None
        except Exception as exc:
            raise failures.record_create_failure(rt, stack, self.resource, loaded, exc) from exc

    def revert(self, runtime: Runtime, *args: Any, **kwargs: Any) -> None:
        """Roll the resource back, whatever state its create reached."""
        rt = runtime
        stack = rt.stacks.get(self.stack_id)
        loaded = resource_state.load(rt, stack, self.resource)
        if stack.disable_rollback:
            if (loaded.action, loaded.status) == (status.CREATE, status.IN_PROGRESS):
                # Its create was interrupted: say so rather than leave it "in progress".
                _transition(
                    rt,
                    stack,
                    loaded.plugin,
                    loaded.type_name,
                    status.CREATE,
                    status.FAILED,
                    CANCELLED,
                )
            return
        if loaded.action == status.INIT or (loaded.action, loaded.status) == (
            status.DELETE,
            status.COMPLETE,
        ):
            return  # never started, or already removed by an earlier revert
        delete_until_gone(rt, stack, loaded, rt.conf.engine.rollback_timeout_secs)


class WaitForCreate(_ResourceTask):
    """Poll the create until ready; raises ResourceNotReady to be polled again."""

    def __init__(
        self,
        stack_id: str,
        resource: str,
        deadline: float,
        *,
        label: str | None = None,
        after: list[str] | None = None,
    ) -> None:
        label = label or resource
        super().__init__(
            f"wait-create:{label}",
            stack_id,
            resource,
            deadline,
            requires=list(after or ()),
            provides=keys.resource(label),
        )

    def execute(self, runtime: Runtime, **inputs: Any) -> dict[str, Any]:
        rt = runtime
        stack = rt.stacks.get(self.stack_id)
        # Taken over or cancelled: stop before acting (checked in the same read).
        loaded = resource_state.load(rt, stack, self.resource, checkpoint=True)
        plugin = loaded.plugin
        if (loaded.action, loaded.status) == (status.CREATE, status.COMPLETE):
            return resource_state.ready_state(rt, plugin)[1]
        try:
            if _poll(rt, plugin, plugin.check_create_complete, self._check_deadline, status.CREATE):
                return complete_create(rt, stack, plugin, loaded.type_name)
            _save_progress(rt, self.stack_id, self.resource, plugin)
        except Exception as exc:
            raise failures.record_create_failure(rt, stack, self.resource, loaded, exc) from exc
        raise ResourceNotReady(self.resource)


class DeleteResource(_ResourceTask):
    """Start deleting a resource; resources that never existed are skipped."""

    def __init__(
        self,
        stack_id: str,
        resource: str,
        dependents: list[str],
        deadline: float,
        *,
        polls: bool,
        label: str | None = None,
        after: list[str] | None = None,
        scope: str | None = None,
    ) -> None:
        label = label or resource
        super().__init__(
            f"delete:{label}",
            stack_id,
            resource,
            deadline,
            requires=[keys.deleted(n) for n in dependents] + list(after or ()),
            provides=None if polls else keys.deleted(label),
            scoped=_scoped(keys.deleted, dependents, scope),
        )
        self.polls = polls
        self.nested = scope is not None

    def execute(self, runtime: Runtime, **inputs: Any) -> bool:
        rt = runtime
        stack = _stack_to_delete_from(rt, self.stack_id, self.nested)
        if stack is None:
            return True  # a template resource whose nested stack was never recorded
        # Taken over or cancelled: stop before acting (checked in the same read).
        loaded = resource_state.load(rt, stack, self.resource, checkpoint=True)
        if loaded.action == status.INIT or (loaded.action, loaded.status) == (
            status.DELETE,
            status.COMPLETE,
        ):
            return True
        plugin = loaded.plugin
        try:
            self._check_deadline(status.DELETE)
            _transition(rt, stack, plugin, loaded.type_name, status.DELETE, status.IN_PROGRESS)
            plugin.handle_delete()
            if self.polls:
                _save_progress(rt, self.stack_id, self.resource, plugin)
                return True
            _transition(rt, stack, plugin, loaded.type_name, status.DELETE, status.COMPLETE)
            return True
        except Exception as exc:
            raise failures.record_delete_failure(rt, stack, self.resource, loaded, exc) from exc


class WaitForDelete(_ResourceTask):
    def __init__(
        self,
        stack_id: str,
        resource: str,
        deadline: float,
        *,
        label: str | None = None,
        after: list[str] | None = None,
        nested: bool = False,
    ) -> None:
        label = label or resource
        super().__init__(
            f"wait-delete:{label}",
            stack_id,
            resource,
            deadline,
            requires=list(after or ()),
            provides=keys.deleted(label),
        )
        self.nested = nested

    def execute(self, runtime: Runtime, **inputs: Any) -> bool:
        rt = runtime
        stack = _stack_to_delete_from(rt, self.stack_id, self.nested)
        if stack is None:
            return True
        # Taken over or cancelled: stop before acting (checked in the same read).
        loaded = resource_state.load(rt, stack, self.resource, checkpoint=True)
        if loaded.action != status.DELETE or loaded.status == status.COMPLETE:
            return True
        plugin = loaded.plugin
        try:
            if _poll(rt, plugin, plugin.check_delete_complete, self._check_deadline, status.DELETE):
                _transition(rt, stack, plugin, loaded.type_name, status.DELETE, status.COMPLETE)
                return True
            _save_progress(rt, self.stack_id, self.resource, plugin)
        except Exception as exc:
            raise failures.record_delete_failure(rt, stack, self.resource, loaded, exc) from exc
        raise ResourceNotReady(self.resource)


def _stack_to_delete_from(rt: Runtime, stack_id: str, nested: bool) -> StackDefinition | None:
    """The stack; None for a template resource's nested stack that never was."""
    try:
        return rt.stacks.get(stack_id)
    except exceptions.StackNotFound:
        if nested:
            return None
        raise


def _scoped(key: Any, names: list[str], scope: str | None) -> dict[str, str] | None:
    if not scope:
        return None
    return {key(n): key(f"{scope}/{n}") for n in names}


ROLLBACK_STARTED = "rollback: deleting"
ROLLBACK_DONE = "rollback: deleted"


def delete_until_gone(
    rt: Runtime, stack: StackDefinition, loaded: resource_state.Loaded, timeout: float
) -> bool:
    """Delete a resource as part of a rollback; never raises.

    Returns whether it is gone.  A resource that cannot be removed is left
    DELETE_FAILED with the reason, for the operator and the orphan report.
    """
    plugin = loaded.plugin
    give_up_at = time.time() + timeout
    try:
        _transition(
            rt, stack, plugin, loaded.type_name, status.DELETE, status.IN_PROGRESS, ROLLBACK_STARTED
        )
        plugin.handle_delete()
        interval = rt.conf.engine.poll_interval
        while not plugin.check_delete_complete():
            if time.time() > give_up_at:
                raise exceptions.ResourceFailure(
                    resource=plugin.name,
                    action=status.DELETE,
                    reason=f"still not deleted after {timeout:.0f} s",
                )
            time.sleep(plugin.poll_delay(interval))
        _transition(
            rt, stack, plugin, loaded.type_name, status.DELETE, status.COMPLETE, ROLLBACK_DONE
        )
        return True
    except exceptions.FencedOut:
        # Another runner owns the flow now (or this process stopped it): it
        # does the rollback; this one records nothing more.
        LOG.info("Rollback of %s left to the flow's new owner", plugin.name)
        return False
    except Exception as exc:
        reason = failures.describe(exc)
        LOG.warning(
            "Rollback could not remove resource %s of stack %s: %s",
            plugin.name,
            stack.info.id,
            reason,
        )
        try:
            _transition(rt, stack, plugin, loaded.type_name, status.DELETE, status.FAILED, reason)
        except Exception:
            LOG.exception("Could not record the failed rollback of %s", plugin.name)
        return False


def _resolution(rt: Runtime, stack: StackDefinition, inputs: dict[str, Any]) -> TaskResolution:
    prefix = len(keys.RESOURCE_PREFIX)
    results = {
        key[prefix:]: value for key, value in inputs.items() if key.startswith(keys.RESOURCE_PREFIX)
    }

    def any_attributes(name: str) -> bool:
        definition = stack.template.resources[name]
        return rt.types(stack).get(definition.type).accepts_any_attributes

    return TaskResolution(
        stack.parameters,
        results,
        lambda name, attribute: resource_state.stored_value(rt, stack.info.id, name, attribute),
        any_attributes,
    )


def _poll(
    rt: Runtime,
    plugin: Resource,
    check: Any,
    check_deadline: Any,
    action: str,
) -> bool:
    """Poll ``check`` until it is True or this attempt's time slice is over.

    Polling a few times per attempt (rather than once) keeps the retry
    history, which TaskFlow rewrites on every attempt, short on long waits;
    each slice still ends in a checkpoint.
    """
    interval = rt.conf.engine.poll_interval
    slice_ends = time.time() + rt.conf.engine.poll_checkpoint_secs
    while True:
        check_deadline(action)
        rt.checkpoint(plugin.stack.id)
        if check():
            return True
        if time.time() >= slice_ends:
            return False
        time.sleep(plugin.poll_delay(interval))


def complete_create(
    rt: Runtime,
    stack: StackDefinition,
    plugin: Resource,
    type_name: str,
    started_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """CREATE_COMPLETE; with ``started_at``, the IN_PROGRESS event goes in the same write."""
    columns, result = resource_state.ready_state(rt, plugin)
    with rt.write(stack.info.id) as session:
        if started_at is not None:
            events.add(
                session,
                stack.info.id,
                status.CREATE,
                status.IN_PROGRESS,
                STATE_CHANGED,
                resource_name=plugin.name,
                resource_type=type_name,
                at=started_at,
            )
        resources.transition(
            session,
            stack.info.id,
            plugin.name,
            type_name,
            status.CREATE,
            status.COMPLETE,
            STATE_CHANGED,
            **columns,
        )
    return result


def _transition(
    rt: Runtime,
    stack: StackDefinition,
    plugin: Resource,
    type_name: str,
    action: str,
    state: str,
    reason: str = STATE_CHANGED,
    *,
    at: dt.datetime | None = None,
) -> None:
    with rt.write(stack.info.id) as session:
        resources.transition(
            session,
            stack.info.id,
            plugin.name,
            type_name,
            action,
            state,
            reason,
            at=at,
            **resource_state.plugin_state(rt, plugin),
        )


def _save_progress(rt: Runtime, stack_id: str, name: str, plugin: Resource) -> None:
    with rt.write(stack_id) as session:
        resources.update(session, stack_id, name, **resource_state.plugin_state(rt, plugin))
