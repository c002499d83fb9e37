"""The client side of flowstack-engine's RPC API: the class other services import.

It imports oslo.messaging, oslo.context and flowstack's exceptions and
context only, never engine or flow code (a test holds it to that)::

    from flowstack.context import RequestContext
    from flowstack.rpc.client import EngineClient

    engine = EngineClient.from_conf(conf)  # transport_url and [rpc] from conf
    ctx = RequestContext(project_id=project, user_id=user)
    created = engine.create_stack(ctx, "web", template_text, {"flavor": "m1.small"})
    engine.show_stack(ctx, created["id"])

Every method is a ``call`` bounded by ``[rpc] call_timeout``.  What it raises:

- the engine's own errors as the same :mod:`flowstack.exceptions` classes,
  message and values (``StackNotFound``, ``TemplateInvalid`` with its
  ``errors``, ``InvalidRequest``...), without the remote traceback;
- :class:`~flowstack.exceptions.EngineUnavailable` when no engine answers in time;
- :class:`~flowstack.exceptions.EngineVersionUnsupported` when the call needs a
  newer API version than the engine (or ``[rpc] version_cap``) allows;
- :class:`~flowstack.exceptions.EngineInternalError` when the engine failed
  unexpectedly (the engine's log has the traceback under the request id).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import oslo_messaging
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import log as logging

from flowstack import exceptions
from flowstack.rpc import EXCHANGE, TOPIC
from flowstack.rpc.serializer import RequestContextSerializer

LOG = logging.getLogger(__name__)

#: Modules whose exceptions a caller may rebuild from a reply (see get_transport).
ALLOWED_REMOTE_EXMODS = ["flowstack.exceptions"]
_REMOTE_SUFFIX = "_Remote"


def get_transport(conf: cfg.ConfigOpts) -> oslo_messaging.Transport:
    """An RPC transport from ``conf`` that rebuilds flowstack's exceptions."""
    return oslo_messaging.get_rpc_transport(conf, allowed_remote_exmods=ALLOWED_REMOTE_EXMODS)


class EngineClient:
    """Calls flowstack-engine over RPC; one method per call, the context first.

    RPC API version history (keep it identical to ``EngineManager``'s):

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

    How the API grows (Ironic's rule, so that mixed versions work during a
    rolling upgrade): a new argument or method bumps the minor version here
    and in the manager, with a line above; a method asks for the new version
    only when it actually sends the new argument, e.g.::

        version = "1.1" if new_arg is not None else "1.0"

    and :meth:`_call` refuses, before sending, a version above ``version_cap``.
    """

    RPC_API_VERSION = "1.4"

    def __init__(
        self,
        transport: oslo_messaging.Transport | None = None,
        *,
        topic: str = TOPIC,
        timeout: float = 60,
        version_cap: str | None = None,
        exchange: str = EXCHANGE,
        channel: Channel | None = None,
    ) -> None:
        """Calls over ``transport`` (from :func:`get_transport`, which rebuilds our
        errors), or through ``channel`` (:class:`flowstack.rpc.local.LocalChannel`:
        an engine in this process)."""
        self.transport = transport
        self.timeout = timeout
        self.version_cap = version_cap or self.RPC_API_VERSION
        if channel is None:
            if transport is None:
                raise TypeError("EngineClient needs a transport or a channel")
            channel = MessagingChannel(
                transport,
                oslo_messaging.Target(topic=topic, version=self.RPC_API_VERSION, exchange=exchange),
                timeout=timeout,
                version_cap=self.version_cap,
            )
        self._channel = channel

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> EngineClient:
        """A client with the transport and the [rpc] options of ``conf``."""
        # Imported here: flowstack.conf brings every group's options (oslo.db's,
        # keystoneauth's), which a service importing this module does not need.
        from flowstack.conf import rpc as rpc_conf

        rpc_conf.register_opts(conf)
        transport = get_transport(conf)
        client = cls(
            transport,
            topic=conf.rpc.topic,
            timeout=conf.rpc.call_timeout,
            version_cap=conf.rpc.version_cap,
            exchange=conf.rpc.exchange,
        )
        client._channel.owns_transport = True  # type: ignore[attr-defined]
        return client

    def close(self) -> None:
        """Release what the channel holds (the transport, when this client built it)."""
        self._channel.close()

    # -- the calls -------------------------------------------------------------------

    def create_stack(
        self,
        ctx: oslo_context.RequestContext,
        name: str,
        template: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        disable_rollback: bool = False,
        timeout_mins: int | None = None,
        files: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Validate and start creating a stack; returns its summary with ``flow_id``.

        ``files``: the template files the template uses as types, by name.
        """
        files = _mapping("create_stack", "files", files)
        extra: dict[str, Any] = {"version": "1.4", "files": files} if files else {}
        return self._call(
            ctx,
            "create_stack",
            name=name,
            template=template,
            parameters=_mapping("create_stack", "parameters", parameters),
            disable_rollback=disable_rollback,
            timeout_mins=timeout_mins,
            **extra,
        )

    def delete_stack(self, ctx: oslo_context.RequestContext, stack: str) -> dict[str, Any]:
        """Start deleting a stack (name or id); returns its summary with ``flow_id``."""
        return self._call(ctx, "delete_stack", stack=stack)

    def list_stacks(self, ctx: oslo_context.RequestContext) -> list[dict[str, Any]]:
        return self._call(ctx, "list_stacks")

    def show_stack(self, ctx: oslo_context.RequestContext, stack: str) -> dict[str, Any]:
        return self._call(ctx, "show_stack", stack=stack)

    def list_resources(self, ctx: oslo_context.RequestContext, stack: str) -> list[dict[str, Any]]:
        return self._call(ctx, "list_resources", stack=stack)

    def show_resource(
        self, ctx: oslo_context.RequestContext, stack: str, resource: str
    ) -> dict[str, Any]:
        return self._call(ctx, "show_resource", stack=stack, resource=resource)

    def list_events(
        self,
        ctx: oslo_context.RequestContext,
        stack: str,
        *,
        resource_name: str | None = None,
        limit: int | None = None,
        after_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """A stack's events, oldest first; ``after_id`` skips those already seen."""
        return self._call(
            ctx,
            "list_events",
            stack=stack,
            resource_name=resource_name,
            limit=limit,
            after_id=after_id,
        )

    def show_output(
        self, ctx: oslo_context.RequestContext, stack: str, output: str | None = None
    ) -> list[dict[str, Any]]:
        """One output (or all when ``output`` is None), with its value."""
        return self._call(ctx, "show_output", stack=stack, output=output)

    def validate_template(
        self,
        ctx: oslo_context.RequestContext,
        template: str,
        parameters: Mapping[str, Any] | None = None,
        files: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        files = _mapping("validate_template", "files", files)
        extra: dict[str, Any] = {"version": "1.4", "files": files} if files else {}
        return self._call(
            ctx,
            "validate_template",
            template=template,
            parameters=_mapping("validate_template", "parameters", parameters),
            **extra,
        )

    def list_resource_types(self, ctx: oslo_context.RequestContext) -> list[dict[str, Any]]:
        return self._call(ctx, "list_resource_types")

    # -- 1.1: flows and orphans, for operators ---------------------------------------

    def list_flows(
        self,
        ctx: oslo_context.RequestContext,
        *,
        state: str | None = None,
        stack: str | None = None,
        project: str | None = None,
        older_than: int | None = None,
    ) -> list[dict[str, Any]]:
        return self._call(
            ctx,
            "list_flows",
            version="1.1",
            state=state,
            stack=stack,
            project=project,
            older_than=older_than,
        )

    def show_flow(self, ctx: oslo_context.RequestContext, flow: str) -> dict[str, Any]:
        return self._call(ctx, "show_flow", version="1.1", flow=flow)

    def flow_graph(self, ctx: oslo_context.RequestContext, flow: str) -> str:
        return self._call(ctx, "flow_graph", version="1.1", flow=flow)

    def resume_flow(self, ctx: oslo_context.RequestContext, flow: str) -> dict[str, Any]:
        return self._call(ctx, "resume_flow", version="1.1", flow=flow)

    def retry_flow(self, ctx: oslo_context.RequestContext, flow: str) -> dict[str, Any]:
        return self._call(ctx, "retry_flow", version="1.1", flow=flow)

    def revert_flow(self, ctx: oslo_context.RequestContext, flow: str) -> dict[str, Any]:
        return self._call(ctx, "revert_flow", version="1.1", flow=flow)

    def cancel_flow(self, ctx: oslo_context.RequestContext, flow: str) -> dict[str, Any]:
        return self._call(ctx, "cancel_flow", version="1.1", flow=flow)

    def skip_step(
        self,
        ctx: oslo_context.RequestContext,
        flow: str,
        step: str,
        result: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._call(
            ctx,
            "skip_step",
            version="1.1",
            flow=flow,
            step=step,
            result=dict(result) if result is not None else None,
        )

    def list_orphans(self, ctx: oslo_context.RequestContext) -> list[dict[str, Any]]:
        return self._call(ctx, "list_orphans", version="1.1")

    def delete_orphans(
        self,
        ctx: oslo_context.RequestContext,
        server_ids: list[str] | None = None,
        *,
        delete_all: bool = False,
    ) -> list[dict[str, Any]]:
        return self._call(
            ctx,
            "delete_orphans",
            version="1.1",
            server_ids=list(server_ids) if server_ids else None,
            delete_all=delete_all,
        )

    def adopt_orphan(self, ctx: oslo_context.RequestContext, server_id: str) -> dict[str, Any]:
        return self._call(ctx, "adopt_orphan", version="1.1", server_id=server_id)

    # -- 1.2: autoscaling ----------------------------------------------------------------
    # A GROUP is the group's id, "STACK/RESOURCE", or a resource name unique in the project.

    def list_groups(
        self, ctx: oslo_context.RequestContext, stack: str | None = None
    ) -> list[dict[str, Any]]:
        return self._call(ctx, "list_groups", version="1.2", stack=stack)

    def show_group(self, ctx: oslo_context.RequestContext, group: str) -> dict[str, Any]:
        """The group's summary with its members and policies."""
        return self._call(ctx, "show_group", version="1.2", group=group)

    def resize_group(
        self,
        ctx: oslo_context.RequestContext,
        group: str,
        capacity: int,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Ask for ``capacity`` members; returns a receipt (the group clamps and converges)."""
        return self._call(
            ctx,
            "resize_group",
            version="1.2",
            group=group,
            capacity=capacity,
            idempotency_key=idempotency_key,
        )

    def pause_group(self, ctx: oslo_context.RequestContext, group: str) -> dict[str, Any]:
        return self._call(ctx, "pause_group", version="1.2", group=group)

    def resume_group(self, ctx: oslo_context.RequestContext, group: str) -> dict[str, Any]:
        return self._call(ctx, "resume_group", version="1.2", group=group)

    def explain_group(
        self, ctx: oslo_context.RequestContext, group: str, limit: int = 20
    ) -> list[dict[str, Any]]:
        """The group's latest decisions, newest last: why it did or did not scale."""
        return self._call(ctx, "explain_group", version="1.2", group=group, limit=limit)

    def execute_policy(
        self,
        ctx: oslo_context.RequestContext,
        stack: str,
        policy: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Run a stack's scaling policy (resource name or id) once; returns a receipt."""
        return self._call(
            ctx,
            "execute_policy",
            version="1.2",
            stack=stack,
            policy=policy,
            idempotency_key=idempotency_key,
        )

    def list_webhooks(
        self, ctx: oslo_context.RequestContext, stack: str | None = None
    ) -> list[dict[str, Any]]:
        return self._call(ctx, "list_webhooks", version="1.2", stack=stack)

    def show_webhook(self, ctx: oslo_context.RequestContext, webhook: str) -> dict[str, Any]:
        return self._call(ctx, "show_webhook", version="1.2", webhook=webhook)

    def list_scale_events(
        self, ctx: oslo_context.RequestContext, group: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        return self._call(ctx, "list_scale_events", version="1.2", group=group, limit=limit)

    def show_scale_event(self, ctx: oslo_context.RequestContext, receipt: str) -> dict[str, Any]:
        return self._call(ctx, "show_scale_event", version="1.2", receipt=receipt)

    def signal_webhook(
        self,
        ctx: oslo_context.RequestContext,
        token_hash: str,
        idempotency_key: str | None,
        source: str,
        details: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Trigger the policy whose webhook token hashes to ``token_hash``; returns a receipt.

        The caller (the API) hashes the token: the token itself never goes on
        the bus.  The token is the capability, so ``ctx``'s project does not
        scope this call; unknown and disabled tokens both raise WebhookNotFound.
        """
        return self._call(
            ctx,
            "signal_webhook",
            version="1.2",
            token_hash=token_hash,
            idempotency_key=idempotency_key,
            source=source,
            details=dict(details),
        )

    def signal_webhooks(
        self, ctx: oslo_context.RequestContext, calls: list[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Several webhook calls in one message (flowstack-api's group commit).

        Each result is ``{"receipt": {...}}`` or ``{"error": "not_found"}``;
        a failure of the call itself (engine unreachable) raises as usual.
        """
        return self._call(
            ctx, "signal_webhooks", version="1.3", calls=[dict(call) for call in calls]
        )

    # -- plumbing ----------------------------------------------------------------------

    def _call(
        self, ctx: oslo_context.RequestContext, method: str, version: str = "1.0", **args: Any
    ) -> Any:
        for name, value in args.items():
            _check_json(method, name, value)
        return self._channel.call(ctx, method, version, args)


def _mapping(method: str, name: str, value: Any) -> dict[str, Any] | None:
    """A map argument as a dict; anything else is the caller's error, named."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise exceptions.InvalidRequest(
            f"{method}: argument {name!r} must be a map (a dict), not {type(value).__name__}",
            field=name,
        )
    return dict(value)


def _check_json(method: str, name: str, value: Any) -> None:
    """Refuse, naming the argument, what cannot travel as JSON (the bus carries only JSON)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        problem = "nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise exceptions.InvalidRequest(
            f"{method}: argument {name!r} cannot be sent as JSON ({problem})", field=name
        ) from None


class Channel(Protocol):
    """How a call reaches an engine: over the message bus, or inside this process."""

    def call(
        self, ctx: oslo_context.RequestContext, method: str, version: str, args: dict[str, Any]
    ) -> Any:
        """Send one call and return its result, or raise the engine's error."""

    def close(self) -> None:
        """Release what the channel holds."""


class MessagingChannel:
    """oslo.messaging ``call`` to whichever engine listens on the topic."""

    def __init__(
        self,
        transport: oslo_messaging.Transport,
        target: oslo_messaging.Target,
        *,
        timeout: float,
        version_cap: str,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.version_cap = version_cap
        self.owns_transport = False
        self._client = oslo_messaging.get_rpc_client(
            transport,
            target,
            timeout=timeout,
            version_cap=version_cap,
            serializer=RequestContextSerializer(),
        )

    def call(
        self, ctx: oslo_context.RequestContext, method: str, version: str, args: dict[str, Any]
    ) -> Any:
        if not self._client.can_send_version(version):
            raise exceptions.EngineVersionUnsupported(
                method=method, version=version, where=f"[rpc] version_cap {self.version_cap}"
            )
        try:
            return self._client.prepare(version=version).call(ctx, method, **args)
        except exceptions.FlowstackError as exc:
            raise _local(exc) from None
        except oslo_messaging.MessagingTimeout:
            raise exceptions.EngineUnavailable(method=method, timeout=self.timeout) from None
        except oslo_messaging.RemoteError as exc:
            raise _from_remote_error(exc, ctx, method, version) from None

    def close(self) -> None:
        if self.owns_transport:
            self.transport.cleanup()


def _local(exc: exceptions.FlowstackError) -> exceptions.FlowstackError:
    """A remote flowstack error as its own class, without the remote traceback.

    oslo.messaging rebuilds a remote exception as a subclass named
    ``<Class>_Remote`` whose ``str()`` appends the engine's traceback; the
    caller gets the plain class, same message and values, instead.
    """
    cls = type(exc)
    if not cls.__name__.endswith(_REMOTE_SUFFIX):
        return exc  # raised here, e.g. by the serializer
    LOG.debug("flowstack-engine answered %s", exc)
    base = cls.__mro__[1]
    try:
        return base(*exc.args, **exc.kwargs)
    except Exception:  # values this version cannot take: keep the message
        return base(exc.message)


def _from_remote_error(
    exc: oslo_messaging.RemoteError,
    ctx: oslo_context.RequestContext,
    method: str,
    version: str,
) -> exceptions.FlowstackError:
    """A clear error for what oslo.messaging could not rebuild as an exception."""
    LOG.debug("flowstack-engine answered %s with %s: %s", method, exc.exc_type, exc.traceback)
    if exc.exc_type == "UnsupportedVersion":
        return exceptions.EngineVersionUnsupported(
            method=method, version=version, where="the engine that answered"
        )
    known = getattr(exceptions, str(exc.exc_type), None)
    if isinstance(known, type) and issubclass(known, exceptions.FlowstackError):
        # A transport built without ALLOWED_REMOTE_EXMODS: the class and message survive.
        return known(str(exc.value))
    return exceptions.EngineInternalError(
        method=method, error=exc.exc_type, request_id=getattr(ctx, "request_id", None)
    )
