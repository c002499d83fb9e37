"""The engine's operations on stacks: what the CLI and the RPC API call.

Each mutating call validates everything first, then persists the stack and
its flow (the flow detail with its factory, so any runner can rebuild it),
then dispatches the flow and returns at once.  Queries read the database.
Every call is scoped by the request context's project.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import sqlalchemy as sa

from flows import stack_flows
from flowstack import exceptions, status, template
from flowstack.context import RequestContext
from flowstack.db import events, groups, models, resources, stacks
from flowstack.db import flow_records as flows
from flowstack.engine import views
from flowstack.exceptions import TemplateError
from flowstack.execution import flow_details as flow_records
from flowstack.execution import owners
from flowstack.resources import template_types
from flowstack.resources.base import StackInfo
from flowstack.runtime.container import Runtime
from flowstack.runtime.stack_definitions import pseudo_parameters
from flowstack.template import paths

# Heat's rule for stack names.
STACK_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$")
#: The longest a stack operation may be given (a year): a stack's timeout column
#: is an SQL INTEGER, and a deadline further than this is no deadline.
MAX_TIMEOUT_MINS = 525_600
CustomConstraints = Mapping[str, Callable[[Any], None]]


class Dispatcher(Protocol):
    """What runs persisted flows (see :mod:`flowstack.execution.dispatch`)."""

    #: True when flows run in this process (no workers to wait for).
    in_process: bool

    def dispatch(self, flow_id: str) -> None:
        """Run or post the flow; it is persisted already."""


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
        if rt.dispatcher is None:
            rt.dispatcher = dispatcher  # runs a group's next convergence

    # -- validation ------------------------------------------------------------------

    def _parse(
        self, template_text: str, files: Mapping[str, Any] | None = None
    ) -> tuple[template.Template | None, list[TemplateError]]:
        """The template (its ``get_file`` calls replaced by the files' contents), and its
        structure errors: reported with the others by :meth:`_validate`, all at once."""
        engine = self.rt.conf.engine
        limit = engine.max_template_size
        size = len(template_text.encode("utf-8", "surrogatepass"))
        if size > limit:
            raise exceptions.InvalidRequest(
                f"template is {size} bytes; the limit is {limit} ([engine] max_template_size)",
                field="template",
            )
        limits = template.Limits(
            max_nodes=engine.max_template_nodes, source="[engine] max_template_nodes"
        )
        tmpl, errors = template.parse_collecting(template_text, self._check_files(files), limits)
        most = engine.max_resources_per_stack
        if tmpl is not None and len(tmpl.resources) > most:
            raise exceptions.InvalidRequest(
                f"template defines {len(tmpl.resources)} resources; the limit is {most} "
                "([engine] max_resources_per_stack)",
                field="template",
            )
        return tmpl, errors

    def _validate(
        self,
        parsed: tuple[template.Template | None, list[TemplateError]],
        parameters: Mapping[str, Any],
        info: StackInfo,
        files: Mapping[str, Any] | None = None,
    ) -> tuple[template.Template, template.ValidatedTemplate, dict[str, str]]:
        """The template, validated, and the files it uses as types (each checked).

        :raises TemplateInvalid: with every error: structure, files, parameters, resources.
        """
        tmpl, errors = parsed
        if tmpl is None:
            raise exceptions.TemplateInvalid(errors=errors)
        try:
            used = template_types.check_files(
                tmpl, self._check_files(files), self.rt.registry, self.custom_constraints
            )
        except exceptions.TemplateInvalid as exc:
            errors = errors + exc.errors
            used = {}
            # Resources of those types were reported with their file: not again.
            typed_by_file = {
                paths.child("resources", name)
                for name, resource in tmpl.resources.items()
                if template_types.is_template_name(resource.type)
            }
            tmpl = dataclasses.replace(tmpl, damaged=tmpl.damaged | typed_by_file)
        validated = template.validate(
            tmpl,
            parameters,
            template_types.types_for(self.rt.registry, used),
            pseudo_parameters=pseudo_parameters(info),
            custom_constraints=self.custom_constraints,
            known_errors=errors,
        )
        return tmpl, validated, used

    def _check_files(self, files: Mapping[str, Any] | None) -> dict[str, str]:
        """The files map, each file and all of them together within the limits."""
        engine = self.rt.conf.engine
        files = files or {}
        if len(files) > engine.max_files:
            raise exceptions.InvalidRequest(
                f"the files map holds {len(files)} files; the limit is {engine.max_files} "
                "([engine] max_files)",
                field="files",
            )
        total = 0
        for name, text in files.items():
            if not isinstance(text, str):
                raise exceptions.InvalidRequest(
                    f"file {name!r} must be text, got {type(text).__name__}", field="files"
                )
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > engine.max_template_size:
                raise exceptions.InvalidRequest(
                    f"file {name!r} is {size} bytes; the limit is {engine.max_template_size} "
                    "([engine] max_template_size)",
                    field="files",
                )
            total += size
        if total > engine.max_files_size:
            raise exceptions.InvalidRequest(
                f"the files map holds {total} bytes; the limit is {engine.max_files_size} "
                "([engine] max_files_size)",
                field="files",
            )
        return dict(files)

    def _check_parameters(self, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
        """The parameter values, within ``[engine] max_parameters_size`` as JSON."""
        limit = self.rt.conf.engine.max_parameters_size
        try:
            size = len(json.dumps(parameters or {}, default=str))
        except (ValueError, RecursionError):
            raise exceptions.InvalidRequest(
                "the parameter values cannot be read as JSON", field="parameters"
            ) from None
        if size > limit:
            raise exceptions.InvalidRequest(
                f"the parameter values take {size} bytes as JSON; the limit is {limit} "
                "([engine] max_parameters_size)",
                field="parameters",
            )
        return dict(parameters or {})

    def validate_template(
        self,
        ctx: RequestContext,
        template_text: str,
        parameters: Mapping[str, Any] | None = None,
        files: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Check a template (and parameters, and files) without creating anything."""
        parameters = self._check_parameters(parameters)
        parsed = self._parse(template_text, files)
        info = StackInfo(id="None", name="validate", project_id=ctx.project_id)
        tmpl, validated, _ = self._validate(parsed, parameters, info, files)
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
        files: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Validate, persist and start creating a stack; returns its summary.

        ``files``: the template files the template uses as resource types
        (``type: lb_server.yaml``), by the name it uses, as Heat's files map.
        """
        _check_name(name)
        _check_timeout(timeout_mins)
        parameters = self._check_parameters(parameters)
        parsed = self._parse(template_text, files)
        stack_id = str(uuid.uuid4())
        info = StackInfo(id=stack_id, name=name, project_id=ctx.project_id)
        tmpl, validated, used_files = self._validate(parsed, parameters, info, files)
        types = template_types.types_for(self.rt.registry, used_files)
        first_members = flow_records.initial_members(
            self.rt, tmpl, validated.parameters, pseudo_parameters(info), types
        )
        plan = flow_records.plan(
            self.rt,
            tmpl,
            validated.dependencies,
            stack_id=stack_id,
            group_members=first_members,
            types=types,
        )
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
                    files=used_files or None,
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
        """Start deleting a stack (every resource after its dependents).

        A stack with scaling groups is deleted only while none of them is
        scaling: the groups are locked, marked DELETING (so no trigger starts
        a new convergence) and their current members planned for deletion in
        one transaction, which also records the flow.

        A stack whose flow nobody runs any more (its runner, a ``flowstack``
        command, is gone, or it was stopped and left waiting in the embedded
        default) is taken over: that flow is abandoned and the delete removes
        whatever it had created.
        """
        with self.rt.db.reader() as session:
            row = stacks.get(session, ctx.project_id, name_or_id)
            if row.deleted_id:
                raise exceptions.StackNotFound(name_or_id=name_or_id)
            stack_id, data, name, files = row.id, row.template, row.name, row.files
            before = (row.action, row.status)
        tmpl = template.from_mapping(data)
        deadline = time.time() + self.rt.conf.engine.stack_timeout_mins * 60
        reason = "Stack DELETE started"
        with self.rt.db.write_connection() as connection:
            owned = groups.for_stack(connection, stack_id, lock=True)  # first: locks
            for group in owned:
                if group.active_flow_id and self._unattended(connection, group.active_flow_id):
                    self._abandon(connection, ctx, group.active_flow_id, name)
                    groups.update(connection, group.id, active_flow_id=None)
            owned = groups.for_stack(connection, stack_id)
            if before[1] == status.IN_PROGRESS:
                self._take_over(connection, ctx, stack_id, name, status.combined(*before))
            scaling = [g for g in owned if g.active_flow_id]
            if scaling:
                raise exceptions.GroupBusy(
                    group=scaling[0].resource_name,
                    state="scaling",
                    why=f"scale flow {scaling[0].active_flow_id} is running; "
                    "delete the stack once it has finished",
                )
            if not stacks.set_status(
                connection, stack_id, status.DELETE, status.IN_PROGRESS, reason, only_if=before
            ):
                raise exceptions.StackBusy(name=name, status="changing")
            for group in owned:
                groups.update(connection, group.id, status=groups.DELETING)
            groups.disable_policies(connection, stack_id)
            plan = flow_records.plan(
                self.rt,
                tmpl,
                stack_id=stack_id,
                group_members=flow_records.current_members(connection, stack_id),
                types=template_types.types_for(self.rt.registry, files),
            )
            events.add(connection, stack_id, status.DELETE, status.IN_PROGRESS, reason)
            flow_id = flow_records.record_flow(
                connection,
                stack_id,
                ctx.project_id,
                "delete",
                stack_flows.delete_stack,
                stack_id,
                plan,
                deadline,
            )
        flow_records.materialise(self.rt, flow_id)
        self.dispatcher.dispatch(flow_id)
        return {**self._summary(ctx, stack_id), "flow_id": flow_id}

    def _take_over(
        self, connection: Any, ctx: RequestContext, stack_id: str, name: str, now: str
    ) -> None:
        """Abandon the stack's current flow if nobody runs it; else the stack is busy."""
        flow_id = flows.current_for_stack(connection, stack_id)
        if flow_id is None or not self._unattended(connection, flow_id):
            raise exceptions.StackBusy(name=name, status=now)
        self._abandon(connection, ctx, flow_id, name)
        row = stacks.status_of(connection, stack_id)
        events.add(
            connection,
            stack_id,
            row.action,
            row.status,
            f"flow {flow_id} was left unfinished (nobody runs it); deleting the stack instead",
        )

    def _unattended(self, connection: Any, flow_id: str) -> bool:
        """No runner will finish this flow: it was stopped, or its runner is gone.

        A PENDING flow is on its way to a runner (a job on the board, or a
        thread of the process that recorded it); in a process that runs flows
        itself it counts as lost only once it has waited ``[worker]
        orphan_grace`` (its process died between recording and running it).
        """
        flow = connection.execute(
            sa.select(flows.TABLE.c.state, flows.TABLE.c.owner, flows.TABLE.c.updated_at).where(
                flows.TABLE.c.id == flow_id
            )
        ).first()
        if flow is None or flow.state in flows.ENDED or flow.state == flows.STOPPED:
            return True
        if flow.state == flows.PENDING:
            grace = dt.timedelta(seconds=self.rt.conf.worker.orphan_grace)
            waited = models.utcnow() - (flow.updated_at or models.utcnow())
            return self.dispatcher.in_process and waited > grace
        return not owners.runner_alive(self.rt, flow.owner)

    def _abandon(self, connection: Any, ctx: RequestContext, flow_id: str, name: str) -> None:
        epoch = connection.execute(
            sa.select(flows.TABLE.c.epoch).where(flows.TABLE.c.id == flow_id)
        ).scalar()
        who = ctx.user_id or f"project {ctx.project_id}"
        reason = f"abandoned: nobody runs it any more; stack {name} deleted by {who}"
        if epoch is not None and not flows.abandon(connection, flow_id, epoch, reason):
            raise exceptions.StackBusy(name=name, status="changing")

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

    def list_resource_types(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return [
            {"resource_type": name, "description": self.rt.registry.get(name).description}
            for name in self.rt.registry.types()
        ]


def _check_timeout(timeout_mins: int | None) -> None:
    if timeout_mins is None:
        return
    if isinstance(timeout_mins, bool) or not isinstance(timeout_mins, int):
        raise exceptions.InvalidRequest(
            "timeout must be a whole number of minutes", field="timeout_mins"
        )
    if not 1 <= timeout_mins <= MAX_TIMEOUT_MINS:
        raise exceptions.InvalidRequest(
            f"timeout must be between 1 and {MAX_TIMEOUT_MINS} minutes (a year), got "
            f"{timeout_mins if timeout_mins < 10**12 else 'more'}",
            field="timeout_mins",
        )


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not STACK_NAME_RE.match(name):
        raise exceptions.InvalidRequest(
            f"stack name {name!r} is invalid: it must start with a letter and contain only "
            "letters, digits, '_', '-' and '.' (at most 255 characters)",
            field="name",
        )
