"""The server side of flowstack-engine's RPC API.

:class:`EngineManager` is the one endpoint of the engine's RPC server.  Each
method checks its payload (:mod:`flowstack.rpc.payload`), then calls the part
of the :class:`~flowstack.engine.Engine` that serves it (stacks, scaling,
repair, flow views, orphans), which scopes everything by the request
context's project.

What reaches the caller:

- domain errors (bad input, not found, conflict) go back as-is, typed, and
  are not logged as server errors (``oslo_messaging.expected_exceptions``);
- other flowstack errors (database unavailable, configuration) go back typed
  too, and oslo.messaging logs them as server errors;
- anything else is a bug or an outage: it is logged here with its traceback
  and the request id, and the caller gets
  :class:`~flowstack.exceptions.EngineInternalError` naming the request,
  never the traceback (which could quote values the caller must not see).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import oslo_messaging
from oslo_log import log as logging

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.engine import Engine, flow_views, orphans
from flowstack.rpc import payload
from flowstack.rpc.payload import optional, required

LOG = logging.getLogger(__name__)

#: Errors that are the caller's business: returned as they are, not logged as failures.
EXPECTED = (
    exceptions.InvalidInput,
    exceptions.NotFound,
    exceptions.Conflict,
    exceptions.EngineInternalError,  # already logged, with its cause, by _rpc_method
)

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _rpc_method(**fields: payload.Field) -> Callable[[_Method], _Method]:
    """Expose a manager method over RPC with its payload fields checked."""

    def decorate(func: _Method) -> _Method:
        name = func.__name__

        def checked(self: EngineManager, ctx: RequestContext, **args: Any) -> Any:
            values = payload.check(name, args, fields)
            try:
                return func(self, ctx, **values)
            except exceptions.FlowstackError:
                raise
            except Exception as exc:
                LOG.exception("%s failed unexpectedly (request %s)", name, ctx.request_id)
                raise exceptions.EngineInternalError(
                    method=name, error=type(exc).__name__, request_id=ctx.request_id
                ) from None

        method = oslo_messaging.expected_exceptions(*EXPECTED)(checked)
        method = functools.update_wrapper(method, func)
        method.rpc_fields = fields  # type: ignore[attr-defined]
        return oslo_messaging.expose(method)  # type: ignore[no-any-return]

    return decorate


class EngineManager:
    """The RPC endpoint of flowstack-engine.

    RPC API version history (keep it identical to ``EngineClient``'s):

    * 1.0 - Initial version: create_stack, delete_stack, show_stack,
      list_stacks, list_resources, show_resource, list_events, show_output,
      validate_template, list_resource_types.
    * 1.1 - The operator's calls: list_flows, show_flow, flow_graph,
      resume_flow, retry_flow, revert_flow, cancel_flow, skip_step,
      list_orphans, delete_orphans, adopt_orphan.
    * 1.2 - Autoscaling: list_groups, show_group, resize_group, pause_group,
      resume_group, explain_group, execute_policy, list_webhooks,
      show_webhook, list_scale_events, show_scale_event, signal_webhook.
    * 1.3 - signal_webhooks: the webhook calls flowstack-api batches.
    * 1.4 - create_stack and validate_template take ``files``: the template
      files a template uses as resource types (Heat's files map).
    """

    RPC_API_VERSION = "1.4"

    # "target" is oslo.messaging's reserved endpoint attribute: the versions
    # this endpoint accepts (same major, minor up to RPC_API_VERSION).
    target = oslo_messaging.Target(version=RPC_API_VERSION)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._stacks = engine.stacks
        self._scaling = engine.scaling
        self._repair = engine.repair
        self._rt = engine.rt

    @_rpc_method(
        name=required(str, max_length=255),
        template=payload.TEMPLATE,
        parameters=payload.PARAMETERS,
        disable_rollback=optional(bool, default=False),
        timeout_mins=payload.TIMEOUT_MINS,
        files=payload.FILES,
    )
    def create_stack(
        self,
        ctx: RequestContext,
        *,
        name: str,
        template: str,
        parameters: dict[str, Any] | None,
        disable_rollback: bool,
        timeout_mins: int | None,
        files: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return self._stacks.create_stack(
            ctx,
            name,
            template,
            parameters,
            disable_rollback=disable_rollback,
            timeout_mins=timeout_mins,
            files=files,
        )

    @_rpc_method(stack=payload.STACK)
    def delete_stack(self, ctx: RequestContext, *, stack: str) -> dict[str, Any]:
        return self._stacks.delete_stack(ctx, stack)

    @_rpc_method()
    def list_stacks(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return self._stacks.list_stacks(ctx)

    @_rpc_method(stack=payload.STACK)
    def show_stack(self, ctx: RequestContext, *, stack: str) -> dict[str, Any]:
        return self._stacks.show_stack(ctx, stack)

    @_rpc_method(stack=payload.STACK)
    def list_resources(self, ctx: RequestContext, *, stack: str) -> list[dict[str, Any]]:
        return self._stacks.list_resources(ctx, stack)

    @_rpc_method(stack=payload.STACK, resource=required(str, max_length=255))
    def show_resource(self, ctx: RequestContext, *, stack: str, resource: str) -> dict[str, Any]:
        return self._stacks.show_resource(ctx, stack, resource)

    @_rpc_method(
        stack=payload.STACK,
        resource_name=optional(str, max_length=255),
        limit=optional(int, minimum=1),
        after_id=optional(int, minimum=0),
    )
    def list_events(
        self,
        ctx: RequestContext,
        *,
        stack: str,
        resource_name: str | None,
        limit: int | None,
        after_id: int | None,
    ) -> list[dict[str, Any]]:
        return self._stacks.list_events(
            ctx, stack, resource_name=resource_name, limit=limit, after_id=after_id
        )

    @_rpc_method(stack=payload.STACK, output=optional(str, max_length=255))
    def show_output(
        self, ctx: RequestContext, *, stack: str, output: str | None
    ) -> list[dict[str, Any]]:
        return self._stacks.show_output(ctx, stack, output)

    @_rpc_method(template=payload.TEMPLATE, parameters=payload.PARAMETERS, files=payload.FILES)
    def validate_template(
        self,
        ctx: RequestContext,
        *,
        template: str,
        parameters: dict[str, Any] | None,
        files: dict[str, Any] | None,
    ) -> dict[str, Any]:
        return self._stacks.validate_template(ctx, template, parameters, files)

    @_rpc_method()
    def list_resource_types(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return self._stacks.list_resource_types(ctx)

    # -- 1.1: flows and orphans, for operators ---------------------------------------

    @_rpc_method(
        state=optional(str, max_length=32),
        stack=optional(str, max_length=255),
        project=optional(str, max_length=255),
        older_than=optional(int, minimum=0),
    )
    def list_flows(
        self,
        ctx: RequestContext,
        *,
        state: str | None,
        stack: str | None,
        project: str | None,
        older_than: int | None,
    ) -> list[dict[str, Any]]:
        return flow_views.list_flows(
            self._rt, ctx, state=state, stack=stack, project=project, older_than=older_than
        )

    @_rpc_method(flow=payload.FLOW)
    def show_flow(self, ctx: RequestContext, *, flow: str) -> dict[str, Any]:
        return flow_views.show_flow(self._rt, ctx, flow)

    @_rpc_method(flow=payload.FLOW)
    def flow_graph(self, ctx: RequestContext, *, flow: str) -> str:
        return flow_views.flow_graph(self._rt, ctx, flow)

    @_rpc_method(flow=payload.FLOW)
    def resume_flow(self, ctx: RequestContext, *, flow: str) -> dict[str, Any]:
        return self._repair.resume(ctx, flow)

    @_rpc_method(flow=payload.FLOW)
    def retry_flow(self, ctx: RequestContext, *, flow: str) -> dict[str, Any]:
        return self._repair.retry(ctx, flow)

    @_rpc_method(flow=payload.FLOW)
    def revert_flow(self, ctx: RequestContext, *, flow: str) -> dict[str, Any]:
        return self._repair.revert(ctx, flow)

    @_rpc_method(flow=payload.FLOW)
    def cancel_flow(self, ctx: RequestContext, *, flow: str) -> dict[str, Any]:
        return self._repair.cancel(ctx, flow)

    @_rpc_method(
        flow=payload.FLOW, step=required(str, max_length=255), result=optional(dict, default=None)
    )
    def skip_step(
        self, ctx: RequestContext, *, flow: str, step: str, result: dict[str, Any] | None
    ) -> dict[str, Any]:
        return self._repair.skip(ctx, flow, step, result)

    @_rpc_method()
    def list_orphans(self, ctx: RequestContext) -> list[dict[str, Any]]:
        return orphans.list_orphans(self._rt, ctx)

    @_rpc_method(server_ids=optional(list, default=None), delete_all=optional(bool, default=False))
    def delete_orphans(
        self, ctx: RequestContext, *, server_ids: list[str] | None, delete_all: bool
    ) -> list[dict[str, Any]]:
        if server_ids is not None and not all(isinstance(s, str) for s in server_ids):
            raise exceptions.InvalidRequest(
                "delete_orphans: field 'server_ids' must be an array of strings",
                field="server_ids",
            )
        return orphans.delete_orphans(self._rt, ctx, server_ids or (), delete_all=delete_all)

    @_rpc_method(server_id=required(str, max_length=255))
    def adopt_orphan(self, ctx: RequestContext, *, server_id: str) -> dict[str, Any]:
        return orphans.adopt_orphan(self._rt, ctx, server_id)

    # -- 1.2: autoscaling ---------------------------------------------------------------

    @_rpc_method(stack=payload.STACK_FILTER)
    def list_groups(self, ctx: RequestContext, *, stack: str | None) -> list[dict[str, Any]]:
        return self._scaling.list_groups(ctx, stack=stack)

    @_rpc_method(group=payload.GROUP)
    def show_group(self, ctx: RequestContext, *, group: str) -> dict[str, Any]:
        return self._scaling.show_group(ctx, group)

    @_rpc_method(
        group=payload.GROUP, capacity=payload.CAPACITY, idempotency_key=payload.IDEMPOTENCY_KEY
    )
    def resize_group(
        self, ctx: RequestContext, *, group: str, capacity: int, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._scaling.resize_group(ctx, group, capacity, idempotency_key=idempotency_key)

    @_rpc_method(group=payload.GROUP)
    def pause_group(self, ctx: RequestContext, *, group: str) -> dict[str, Any]:
        return self._scaling.pause_group(ctx, group)

    @_rpc_method(group=payload.GROUP)
    def resume_group(self, ctx: RequestContext, *, group: str) -> dict[str, Any]:
        return self._scaling.resume_group(ctx, group)

    @_rpc_method(group=payload.GROUP, limit=payload.limit(20))
    def explain_group(self, ctx: RequestContext, *, group: str, limit: int) -> list[dict[str, Any]]:
        return self._scaling.explain_group(ctx, group, limit=limit)

    @_rpc_method(stack=payload.STACK, policy=payload.NAME, idempotency_key=payload.IDEMPOTENCY_KEY)
    def execute_policy(
        self, ctx: RequestContext, *, stack: str, policy: str, idempotency_key: str | None
    ) -> dict[str, Any]:
        return self._scaling.execute_policy(ctx, stack, policy, idempotency_key=idempotency_key)

    @_rpc_method(stack=payload.STACK_FILTER)
    def list_webhooks(self, ctx: RequestContext, *, stack: str | None) -> list[dict[str, Any]]:
        return self._scaling.list_webhooks(ctx, stack=stack)

    @_rpc_method(webhook=payload.NAME)
    def show_webhook(self, ctx: RequestContext, *, webhook: str) -> dict[str, Any]:
        return self._scaling.show_webhook(ctx, webhook)

    @_rpc_method(group=payload.GROUP_FILTER, limit=payload.limit(50))
    def list_scale_events(
        self, ctx: RequestContext, *, group: str | None, limit: int
    ) -> list[dict[str, Any]]:
        return self._scaling.list_scale_events(ctx, group=group, limit=limit)

    @_rpc_method(receipt=payload.RECEIPT)
    def show_scale_event(self, ctx: RequestContext, *, receipt: str) -> dict[str, Any]:
        return self._scaling.show_scale_event(ctx, receipt)

    @_rpc_method(
        token_hash=payload.TOKEN_HASH,
        idempotency_key=payload.IDEMPOTENCY_KEY,
        source=payload.SIGNAL_SOURCE,
        details=payload.SIGNAL_DETAILS,
    )
    def signal_webhook(
        self,
        ctx: RequestContext,
        *,
        token_hash: str,
        idempotency_key: str | None,
        source: str,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        """The token is the capability: the service does not scope this call by project."""
        return self._scaling.signal_webhook(token_hash, idempotency_key, source, details)

    @_rpc_method(calls=payload.SIGNALS)
    def signal_webhooks(
        self, ctx: RequestContext, *, calls: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A batch of webhook calls; each answered ``{"receipt"}`` or ``{"error"}``."""
        checked = payload.check_signals("signal_webhooks", calls)
        return self._scaling.signal_webhooks(checked)
