"""The engine's operations on stacks: what the CLI and the RPC API call.

Each mutating call validates everything first, then persists the stack and
its flow (the flow detail with its factory, so any runner can rebuild it),
then dispatches the flow and returns at once.  Queries read the database.
Every call is scoped by the request context's project.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flows import stack_flows
from flowstack import exceptions, status, template
from flowstack.context import RequestContext
from flowstack.db import events, flows, resources, stacks
from flowstack.engine import flow_records, flow_views, orphans, repair, views
from flowstack.engine.runtime import Runtime
from flowstack.engine.stack_cache import pseudo_parameters
from flowstack.resources.base import StackInfo

# Heat's rule for stack names.
STACK_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$")
CustomConstraints = Mapping[str, Callable[[Any], None]]


class Dispatcher:
    """Protocol of the object that runs persisted flows (see engine.dispatch)."""

    def dispatch(self, flow_id: str) -> None:  # pragma: no cover - protocol
        raise NotImplementedError


class StackService:
    def __init__(
        self,
        rt: Runtime,
        dispatcher: Dispatcher,
        custom_constraints: CustomConstraints | None = None,
    ) -> None:
        self.rt = rt
        self.dispatcher = dispatcher
        self.custom_constraints = dict(custom_constraints or {})

    # -- validation ------------------------------------------------------------------

    def _parse(self, template_text: str) -> template.Template:
        limit = self.rt.conf.engine.max_template_size
        if len(template_text.encode()) > limit:
            raise exceptions.InvalidRequest(
                f"template is {len(template_text.encode())} bytes; the limit is {limit} "
                "([engine] max_template_size)",
                field="template",
            )
        tmpl = template.parse(template_text)
        most = self.rt.conf.engine.max_resources_per_stack
        if len(tmpl.resources) > most:
            raise exceptions.InvalidRequest(
                f"template defines {len(tmpl.resources)} resources; the limit is {most} "
                "([engine] max_resources_per_stack)",
                field="template",
            )
        return tmpl

    def _validate(
        self, tmpl: template.Template, parameters: Mapping[str, Any], info: StackInfo
    ) -> template.ValidatedTemplate:
        return template.validate(
            tmpl,
            parameters,
            self.rt.registry,
            pseudo_parameters=pseudo_parameters(info),
            custom_constraints=self.custom_constraints,
        )

    def validate_template(
        self,
        ctx: RequestContext,
        template_text: str,
        parameters: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Check a template (and parameters) without creating anything."""
        tmpl = self._parse(template_text)
        info = StackInfo(id="None", name="validate", project_id=ctx.project_id)
        validated = self._validate(tmpl, parameters or {}, info)
        return views.validation(tmpl, validated)

    # -- stack operations -----------------------------------------------------------------

    def create_stack(
        self,
        ctx: RequestContext,
        name: str,
        template_text: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        disable_rollback: bool = False,
        timeout_mins: int | None = None,
    ) -> dict[str, Any]:
        """Validate, persist and start creating a stack; returns its summary."""
        _check_name(name)
        if timeout_mins is not None and timeout_mins < 1:
            raise exceptions.InvalidRequest(
                f"timeout must be at least 1 minute, got {timeout_mins}", field="timeout_mins"
            )
        tmpl = self._parse(template_text)
        stack_id = str(uuid.uuid4())
        info = StackInfo(id=stack_id, name=name, project_id=ctx.project_id)
        validated = self._validate(tmpl, parameters or {}, info)
        plan = flow_records.plan(self.rt, tmpl, validated.dependencies)
        timeout = timeout_mins or self.rt.conf.engine.stack_timeout_mins
        deadline = time.time() + timeout * 60

        public = {k: v for k, v in validated.parameters.items() if k not in validated.hidden}
        hidden = {k: v for k, v in validated.parameters.items() if k in validated.hidden}
        reason = "Stack CREATE started"
        flow_detail = flow_records.save_flow(
            self.rt, stack_id, "create", stack_flows.create_stack, stack_id, plan, deadline
        )
        try:
            with self.rt.db.writer() as session:
                stacks.create(
                    session,
                    id=stack_id,
                    name=name,
                    project_id=ctx.project_id,
                    user_id=ctx.user_id,
                    action=status.CREATE,
                    status=status.IN_PROGRESS,
                    status_reason=reason,
                    template=tmpl.to_mapping(),
                    parameters=public,
                    secret_parameters=self.rt.secrets.encrypt(hidden) if hidden else None,
                    disable_rollback=disable_rollback,
                    timeout_mins=timeout_mins,
                )
                resources.create_all(
                    session, stack_id, ((r.name, r.type) for r in tmpl.resources.values())
                )
                events.add(session, stack_id, status.CREATE, status.IN_PROGRESS, reason)
                flows.create(session, flow_detail.uuid, stack_id, ctx.project_id, "create")
        except Exception:
            self.rt.backend.get_connection().destroy_logbook(stack_id)
            raise
        self.dispatcher.dispatch(flow_detail.uuid)
        return {**self._summary(ctx, stack_id), "flow_id": flow_detail.uuid}

    def delete_stack(self, ctx: RequestContext, name_or_id: str) -> dict[str, Any]:
        """Start deleting a stack (every resource after its dependents)."""
        with self.rt.db.reader() as session:
            row = stacks.get(session, ctx.project_id, name_or_id)
            if row.deleted_id:
                raise exceptions.StackNotFound(name_or_id=name_or_id)
            if row.status == status.IN_PROGRESS:
                raise exceptions.StackBusy(
                    name=row.name, status=status.combined(row.action, row.status)
                )
            stack_id, data = row.id, row.template
        tmpl = template.from_mapping(data)
        plan = flow_records.plan(self.rt, tmpl)
        deadline = time.time() + self.rt.conf.engine.stack_timeout_mins * 60
        flow_detail = flow_records.save_flow(
            self.rt, stack_id, "delete", stack_flows.delete_stack, stack_id, plan, deadline
        )
        reason = "Stack DELETE started"
        with self.rt.db.writer() as session:
            if not stacks.set_status(
                session,
                stack_id,
                status.DELETE,
                status.IN_PROGRESS,
                reason,
                only_if=(row.action, row.status),
            ):
                raise exceptions.StackBusy(name=row.name, status="changing")
            events.add(session, stack_id, status.DELETE, status.IN_PROGRESS, reason)
            flows.create(session, flow_detail.uuid, stack_id, ctx.project_id, "delete")
        self.dispatcher.dispatch(flow_detail.uuid)
        return {**self._summary(ctx, stack_id), "flow_id": flow_detail.uuid}

    # -- queries ---------------------------------------------------------------------------

    def _summary(self, ctx: RequestContext, stack_id: str) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            return views.stack_summary(stacks.get(session, ctx.project_id, stack_id))

    def list_stacks(self, ctx: RequestContext) -> list[dict[str, Any]]:
        with self.rt.db.reader() as session:
            return [views.stack_summary(row) for row in stacks.list_live(session, ctx.project_id)]

    def show_stack(self, ctx: RequestContext, name_or_id: str) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            row = stacks.get(session, ctx.project_id, name_or_id)
            return views.stack_detail(row, self._outputs(row))

    def list_resources(self, ctx: RequestContext, name_or_id: str) -> list[dict[str, Any]]:
        with self.rt.db.reader() as session:
            row = stacks.get(session, ctx.project_id, name_or_id)
            return [views.resource(r) for r in resources.list_for_stack(session, row.id)]

    def show_resource(self, ctx: RequestContext, name_or_id: str, name: str) -> dict[str, Any]:
        with self.rt.db.reader() as session:
            row = stacks.get(session, ctx.project_id, name_or_id)
            return views.resource(resources.get(session, row.id, name), detail=True)

    def list_events(
        self,
        ctx: RequestContext,
        name_or_id: str,
        *,
        resource_name: str | None = None,
        limit: int | None = None,
        after_id: int | None = None,
    ) -> list[dict[str, Any]]:
        with self.rt.db.reader() as session:
            row = stacks.get(session, ctx.project_id, name_or_id)
            found = events.list_for_stack(
                session, row.id, resource_name=resource_name, limit=limit, after_id=after_id
            )
            return [views.event(e, row.name) for e in found]

    def show_output(
        self, ctx: RequestContext, name_or_id: str, output: str | None = None
    ) -> list[dict[str, Any]]:
        """One output (or all when ``output`` is None), with its value."""
        with self.rt.db.reader() as session:
            row = stacks.get(session, ctx.project_id, name_or_id)
            outputs = self._outputs(row)
        if output is None:
            return outputs
        chosen = [o for o in outputs if o["output_key"] == output]
        if not chosen:
            raise exceptions.OutputNotFound(
                stack=row.name, output=output, available=[o["output_key"] for o in outputs]
            )
        return chosen

    def _outputs(self, row: Any) -> list[dict[str, Any]]:
        if not row.outputs:
            return []
        values = self.rt.secrets.decrypt(row.secret_outputs) if row.secret_outputs else {}
        return [{**o, "output_value": values.get(o["output_key"])} for o in row.outputs]

    # -- repair (flowstack/engine/repair.py) ---------------------------------------------

    def resume_flow(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        return repair.Repair(self.rt, self.dispatcher).resume(ctx, flow_id)

    def retry_flow(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        return repair.Repair(self.rt, self.dispatcher).retry(ctx, flow_id)

    def revert_flow(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        return repair.Repair(self.rt, self.dispatcher).revert(ctx, flow_id)

    def cancel_flow(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        return repair.Repair(self.rt, self.dispatcher).cancel(ctx, flow_id)

    def skip_step(
        self, ctx: RequestContext, flow_id: str, step: str, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return repair.Repair(self.rt, self.dispatcher).skip(ctx, flow_id, step, result)

    # -- operators: flows and orphans (flow_views.py, orphans.py) -----------------------

    def list_flows(self, ctx: RequestContext, **filters: Any) -> list[dict[str, Any]]:
        return flow_views.list_flows(self.rt, ctx, **filters)

    def show_flow(self, ctx: RequestContext, flow_id: str) -> dict[str, Any]:
        return flow_views.show_flow(self.rt, ctx, flow_id)

    def flow_graph(self, ctx: RequestContext, flow_id: str) -> str:
        return flow_views.flow_graph(self.rt, ctx, flow_id)

    def list_orphans(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return orphans.list_orphans(self.rt, ctx)

    def delete_orphans(
        self, ctx: RequestContext, server_ids: list[str] | None = None, *, delete_all: bool = False
    ) -> list[dict[str, Any]]:
        return orphans.delete_orphans(self.rt, ctx, server_ids or (), delete_all=delete_all)

    def adopt_orphan(self, ctx: RequestContext, server_id: str) -> dict[str, Any]:
        return orphans.adopt_orphan(self.rt, ctx, server_id)

    def list_resource_types(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return [
            {"resource_type": name, "description": self.rt.registry.get(name).description}
            for name in self.rt.registry.types()
        ]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not STACK_NAME_RE.match(name):
        raise exceptions.InvalidRequest(
            f"stack name {name!r} is invalid: it must start with a letter and contain only "
            "letters, digits, '_', '-' and '.' (at most 255 characters)",
            field="name",
        )
