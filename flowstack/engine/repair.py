"""The operator's repair verbs: resume, retry, revert, cancel and skip a flow.

Each is safe while workers run: none acts behind a live owner's back.  A
verb that takes a flow back bumps its fencing epoch first (compare-and-set),
so a zombie owner can no longer write, then hands the flow to the
dispatcher (the jobboard, or this process in the embedded default); cancel
only raises a flag that the owner obeys at its next step.  Every verb is
recorded as an event on the stack naming who did it, and refuses with
:class:`~flowstack.exceptions.IllegalFlowTransition` (changing nothing)
when it does not apply.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
import taskflow.engines

from flows import stack_flows
from flowstack import exceptions, status, template
from flowstack.context import RequestContext
from flowstack.db import events, groups, models, resources, stacks
from flowstack.db import flow_records as flows
from flowstack.execution import converge, owners
from flowstack.execution import flow_details as flow_records
from flowstack.resources import template_types
from flowstack.runtime.container import Runtime
from flowstack.runtime.fencing import Fence
from flowstack.taskflow_adapter.persistence import Backend

_FLOWS = models.Flow.__table__
ENDED = frozenset({flows.SUCCESS, flows.REVERTED, flows.FAILURE})
ABANDONED = flows.ABANDONED


class Repair:
    def __init__(self, rt: Runtime, dispatcher: Any) -> None:
        self.rt = rt
        self.dispatcher = dispatcher

    # -- verbs -------------------------------------------------------------------------

    def resume(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        """Post again a flow that is pending, stuck without a live owner, or quarantined."""
        flow = self._flow(ctx, flow_id)
        if flow.state in ENDED:
            self._refuse("resume", flow, f"it ended {flow.state}; use `flow retry` to run it again")
        self._refuse_if_owned("resume", flow)
        reason = f"flow {flow_id} resumed by {_who(ctx)}"
        with self.rt.db.write_connection() as connection:
            if flow.operation == converge.OPERATION:
                self._reclaim_group(connection, flow)
            self._take_back(connection, flow, reason, reset_attempts=True)
            if flow.state == flows.QUARANTINED:
                self._stack_in_progress(connection, flow, reason)
            else:
                self._stack_event(connection, flow.stack_id, reason)
        self.dispatcher.dispatch(flow_id)
        return self._view(flow_id)

    def retry(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        """Run an ended, failed flow again from its first unfinished step.

        Every step is reset, and runs again; the tasks are idempotent, so a
        resource already complete (or marked done with `flow skip`) is kept,
        a server already booted is found by its tag, and only what failed or
        was rolled back is done again.  The stack's deadline starts anew.
        """
        flow = self._flow(ctx, flow_id)
        if flow.state == flows.SUCCESS:
            self._refuse("retry", flow, "it completed successfully")
        if flow.state not in (flows.REVERTED, flows.FAILURE):
            self._refuse("retry", flow, f"it is {flow.state}; use `flow resume`")
        if flow.operation == converge.OPERATION:
            self._refuse(
                "retry",
                flow,
                "a scale flow is not run twice: resize the group or trigger its policy "
                "again (the next convergence starts from the group's desired capacity)",
            )
        reason = f"flow {flow_id} retried by {_who(ctx)}"
        with self.rt.db.write_connection() as connection:
            epoch = self._take_back(connection, flow, reason, reset_attempts=True)
        self._reset_steps(flow_id, epoch)
        with self.rt.db.write_connection() as connection:
            self._stack_in_progress(connection, flow, reason)
        self.dispatcher.dispatch(flow_id)
        return self._view(flow_id)

    def revert(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        """Remove what a failed (or abandoned) create left; the stack ends ROLLBACK_*."""
        flow = self._flow(ctx, flow_id)
        if flow.operation != "create":
            self._refuse(
                "revert", flow, f"only a create can be rolled back (this is a {flow.operation})"
            )
        if flow.state == flows.SUCCESS:
            self._refuse("revert", flow, "it completed; delete the stack instead")
        self._refuse_if_owned("revert", flow)
        with self.rt.db.reader() as session:
            stack = stacks.get_by_id(session, flow.stack_id)
            data, stack_action, stack_status = stack.template, stack.action, stack.status
            files = stack.files
        if (stack_action, stack_status) == (status.ROLLBACK, status.COMPLETE):
            self._refuse("revert", flow, "the stack is already ROLLBACK_COMPLETE")
        with self.rt.db.read_connection() as connection:
            members = flow_records.current_members(connection, flow.stack_id)
        plan = flow_records.plan(
            self.rt,
            template.from_mapping(data),
            stack_id=flow.stack_id,
            group_members=members,
            types=template_types.types_for(self.rt.registry, files),
        )
        deadline = time.time() + self.rt.conf.engine.stack_timeout_mins * 60
        rollback = flow_records.save_flow(
            self.rt,
            flow.stack_id,
            "rollback",
            stack_flows.rollback_stack,
            flow.stack_id,
            plan,
            deadline,
        )
        reason = f"flow {flow_id} reverted by {_who(ctx)}"
        with self.rt.db.write_connection() as connection:
            if flow.state not in ENDED:
                self._take_back(connection, flow, reason, state=ABANDONED)
            stacks.set_status(
                connection, flow.stack_id, status.ROLLBACK, status.IN_PROGRESS, reason
            )
            events.add(connection, flow.stack_id, status.ROLLBACK, status.IN_PROGRESS, reason)
        with self.rt.db.writer() as session:
            flows.create(session, rollback.uuid, flow.stack_id, flow.project_id, "rollback")
        self.dispatcher.dispatch(rollback.uuid)
        return self._view(rollback.uuid)

    def cancel(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        """Ask the flow's owner to stop at its next step and roll back."""
        flow = self._flow(ctx, flow_id)
        if flow.state not in (flows.PENDING, flows.RUNNING):
            self._refuse("cancel", flow, f"it is {flow.state}, not running")
        who = _who(ctx)
        with self.rt.db.write_connection() as connection:
            connection.execute(
                sa.update(_FLOWS)
                .where(_FLOWS.c.id == flow_id, _FLOWS.c.epoch == flow.epoch)
                .values(cancel_requested=who, updated_at=models.utcnow())
            )
            self._stack_event(
                connection, flow.stack_id, f"flow {flow_id} cancel requested by {who}"
            )
        return self._view(flow_id)

    def skip(
        self, ctx: RequestContext, flow_id: str, step: str, result: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Mark a resource's step done by hand (the operator fixed it outside flowstack).

        ``result`` may give the physical ``id`` and ``attributes`` of what the
        operator made.  The flow itself stays where it is: resume or retry it.
        """
        flow = self._flow(ctx, flow_id)
        self._refuse_if_owned("skip a step of", flow)
        if flow.state == flows.SUCCESS:
            self._refuse("skip a step of", flow, "it completed successfully")
        resource = _resource_of(step)
        with self.rt.db.reader() as session:
            names = {r.name for r in resources.list_for_stack(session, flow.stack_id)}
        if resource not in names:
            self._refuse(
                "skip a step of",
                flow,
                f"it has no step {step!r} (resources: {', '.join(sorted(names))})",
            )
        result = result or {}
        if not isinstance(result, dict) or not isinstance(result.get("attributes", {}), dict):
            raise exceptions.InvalidRequest(
                '--result must be a JSON object like {"id": ..., "attributes": {...}}',
                field="result",
            )
        action = status.DELETE if flow.operation in ("delete", "rollback") else status.CREATE
        reason = f"marked {action}_COMPLETE by {_who(ctx)} (flow skip {step})"
        with self.rt.db.write_connection() as connection:
            self._take_back(connection, flow, reason, state=flow.state)
            values: dict[str, Any] = {}
            if action == status.CREATE:
                values = {
                    "physical_id": result.get("id"),
                    "attributes": result.get("attributes") or {},
                }
            row = resources.get_state(connection, flow.stack_id, resource)
            resources.transition(
                connection,
                flow.stack_id,
                resource,
                row.type,
                action,
                status.COMPLETE,
                reason,
                **values,
            )
        return self._view(flow_id)

    # -- helpers -----------------------------------------------------------------------

    def _flow(self, ctx: RequestContext, flow_id: str) -> models.Flow:
        with self.rt.db.reader() as session:
            flow = flows.get(session, flow_id)
            session.expunge(flow)
        if flow.project_id != ctx.project_id and not ctx.is_admin:
            raise exceptions.FlowNotFound(flow_id=flow_id)
        return flow

    def _view(self, flow_id: str) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            flow = flows.get(session, flow_id)
            return {
                "id": flow.id,
                "stack_id": flow.stack_id,
                "operation": flow.operation,
                "state": flow.state,
                "owner": flow.owner,
                "epoch": flow.epoch,
                "attempts": flow.attempts,
                "cancel_requested": flow.cancel_requested,
            }

    def _refuse(self, verb: str, flow: models.Flow, why: str) -> None:
        raise exceptions.IllegalFlowTransition(verb=verb, flow_id=flow.id, why=why)

    def _refuse_if_owned(self, verb: str, flow: models.Flow) -> None:
        if flow.state == flows.RUNNING and owners.runner_alive(self.rt, flow.owner):
            self._refuse(verb, flow, f"it is running on {flow.owner}; use `flow cancel` first")

    def _take_back(
        self,
        connection: sa.Connection,
        flow: models.Flow,
        reason: str,
        *,
        state: str = flows.PENDING,
        reset_attempts: bool = False,
    ) -> int:
        """Bump the epoch (fencing out any old owner) and set the flow's state."""
        values: dict[str, Any] = {
            "epoch": flow.epoch + 1,
            "state": state,
            "owner": None,
            "cancel_requested": None,
            "finished_at": None,
            "updated_at": models.utcnow(),
            "errors": [*(flow.errors or []), flows.operator_entry(reason)],
        }
        if reset_attempts:
            values["attempts"] = 0
        changed = connection.execute(
            sa.update(_FLOWS)
            .where(_FLOWS.c.id == flow.id, _FLOWS.c.epoch == flow.epoch)
            .values(**values)
        )
        if changed.rowcount != 1:
            raise exceptions.IllegalFlowTransition(
                verb="change", flow_id=flow.id, why="it changed meanwhile; look at it again"
            )
        return flow.epoch + 1

    def _reset_steps(self, flow_id: str, epoch: int) -> None:
        """Every step back to PENDING, and a fresh deadline, through a fenced backend."""
        backend = Backend(self.rt.db, Fence(flow_id, epoch))
        flow_detail = backend.get_connection().get_flow_details(flow_id)
        factory = flow_detail.meta.get("factory") or {}
        args = list(factory.get("args") or [])
        if len(args) == 3:  # (stack_id, plan, deadline): see flows/stack_flows.py
            args[2] = time.time() + self.rt.conf.engine.stack_timeout_mins * 60
            factory["args"] = args
            backend.get_connection().update_flow_details(flow_detail)
        engine = taskflow.engines.load_from_detail(flow_detail, backend=backend)
        engine.compile()
        engine.prepare()
        engine.reset()

    def _reclaim_group(self, connection: sa.Connection, flow: models.Flow) -> None:
        """A scale flow runs again only as its group's one active flow."""
        group = groups.get(connection, flow.stack_id, lock=True)
        if group.active_flow_id not in (None, flow.id):
            self._refuse(
                "resume",
                flow,
                f"scale flow {group.active_flow_id} now runs on its group; "
                "this one would change the group at the same time",
            )
        groups.update(connection, group.id, active_flow_id=flow.id)

    def _stack_in_progress(self, connection: sa.Connection, flow: models.Flow, reason: str) -> None:
        action = {
            "create": status.CREATE,
            "delete": status.DELETE,
            converge.OPERATION: status.UPDATE,
        }.get(flow.operation, status.ROLLBACK)
        stacks.set_status(connection, flow.stack_id, action, status.IN_PROGRESS, reason)
        events.add(connection, flow.stack_id, action, status.IN_PROGRESS, reason)

    def _stack_event(self, connection: sa.Connection, stack_id: str, reason: str) -> None:
        row = stacks.status_of(connection, stack_id)
        if row is not None:
            events.add(connection, stack_id, row.action, row.status, reason)


def _who(ctx: RequestContext) -> str:
    return ctx.user_id or f"project {ctx.project_id}"


def _resource_of(step: str) -> str:
    """``create:web``, ``wait-create:web``, ``delete:web`` or plainly ``web``."""
    return step.split(":", 1)[1] if ":" in step else step
