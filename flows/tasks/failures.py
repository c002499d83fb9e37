"""How a failed resource step is recorded and explained to the user."""

from __future__ import annotations

from typing import Any

from flowstack import exceptions, status
from flowstack.db import events, resources, stacks
from flowstack.runtime import resource_state
from flowstack.runtime.container import Runtime
from flowstack.runtime.stack_definitions import StackDefinition


def describe(exc: BaseException) -> str:
    """One line a user can act on: the plugin's reason, or type and message."""
    if isinstance(exc, exceptions.ResourceFailure):
        return exc.reason
    if isinstance(exc, exceptions.FlowstackError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def stack_reason(action: str, resource: str, reason: str) -> str:
    return f"Resource {action} failed: resources.{resource}: {reason}"


def _mark_failed(
    session: Any,
    rt: Runtime,
    stack: StackDefinition,
    loaded: resource_state.Loaded,
    action: str,
    reason: str,
) -> None:
    resources.transition(
        session,
        stack.info.id,
        loaded.plugin.name,
        loaded.type_name,
        action,
        status.FAILED,
        reason,
        **resource_state.plugin_state(rt, loaded.plugin),
    )


def record_create_failure(
    rt: Runtime,
    stack: StackDefinition,
    resource: str,
    loaded: resource_state.Loaded,
    exc: BaseException,
) -> exceptions.ResourceFailure:
    """CREATE_FAILED on the resource, and the stack starts rolling back (or fails)."""
    reason = describe(exc)
    why = stack_reason(status.CREATE, resource, reason)
    with rt.write(stack.info.id) as session:
        _mark_failed(session, rt, stack, loaded, status.CREATE, reason)
        action = status.CREATE if stack.disable_rollback else status.ROLLBACK
        state = status.FAILED if stack.disable_rollback else status.IN_PROGRESS
        # Compare-and-set: with parallel failures the first reason stays.
        if stacks.set_status(
            session,
            stack.info.id,
            action,
            state,
            why,
            only_if=(status.CREATE, status.IN_PROGRESS),
        ):
            events.add(session, stack.info.id, action, state, why)
    return exceptions.ResourceFailure(resource=resource, action=status.CREATE, reason=reason)


def record_delete_failure(
    rt: Runtime,
    stack: StackDefinition,
    resource: str,
    loaded: resource_state.Loaded,
    exc: BaseException,
) -> exceptions.ResourceFailure:
    reason = describe(exc)
    with rt.write(stack.info.id) as session:
        _mark_failed(session, rt, stack, loaded, status.DELETE, reason)
    return exceptions.ResourceFailure(resource=resource, action=status.DELETE, reason=reason)
