"""The CLI's way to a deployed flowstack-engine, when a transport is configured.

:class:`RpcClient` offers the methods of
:class:`~flowstack.cli.client.EmbeddedClient` (the request context is added
here), so every ``flowstack stack ...`` command works both ways.

Who is asking: ``--os-project-id`` / ``--os-user-id``, else the
``OS_PROJECT_ID`` / ``OS_USER_ID`` environment variables, else the embedded
default's project and user (so one operator's deployment needs neither).
The engine trusts the bus for identity, as OpenStack services do.
"""

from __future__ import annotations

import os
import time
from typing import Any

from oslo_config import cfg

from flowstack import context, exceptions
from flowstack.rpc.client import EngineClient

IN_PROGRESS_SUFFIX = "_IN_PROGRESS"
# Longer than the stack's own timeout: the flow fails itself by then.
WAIT_GRACE_SECS = 120.0


def request_context(
    project_id: str | None = None, user_id: str | None = None
) -> context.RequestContext:
    """The CLI's context: arguments, then OS_PROJECT_ID/OS_USER_ID, then the embedded default."""
    return context.RequestContext(
        project_id=project_id or os.environ.get("OS_PROJECT_ID") or context.EMBEDDED_PROJECT,
        user_id=user_id or os.environ.get("OS_USER_ID") or context.EMBEDDED_USER,
    )


class RpcClient:
    """A deployed engine over RPC; method names and results as EmbeddedClient's."""

    def __init__(
        self,
        engine: EngineClient,
        ctx: context.RequestContext,
        *,
        default_timeout_mins: int = 60,
        poll_interval: float = 0.5,
    ) -> None:
        self.engine = engine
        self.ctx = ctx
        self.default_timeout_mins = default_timeout_mins
        self.poll_interval = poll_interval
        self._flow_stacks: dict[str, str] = {}  # flow id -> stack id, for wait_flow

    @classmethod
    def from_conf(
        cls, conf: cfg.ConfigOpts, *, project_id: str | None = None, user_id: str | None = None
    ) -> RpcClient:
        return cls(
            EngineClient.from_conf(conf),
            request_context(project_id, user_id),
            default_timeout_mins=conf.engine.stack_timeout_mins,
        )

    def close(self) -> None:
        self.engine.close()

    # -- what differs from the embedded client ----------------------------------------

    def create_stack(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._remember(self.engine.create_stack(self.ctx, *args, **kwargs))

    def delete_stack(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._remember(self.engine.delete_stack(self.ctx, *args, **kwargs))

    def _remember(self, started: dict[str, Any]) -> dict[str, Any]:
        self._flow_stacks[started["flow_id"]] = started["id"]
        return started

    def wait_flow(self, flow_id: str, timeout: float | None = None) -> str | None:
        """Poll the flow's stack until it leaves IN_PROGRESS; its status, or None on timeout.

        The flow runs in a worker: a timeout leaves it running there.  Without
        ``timeout``, the wait lasts the stack's own time limit and a grace period.
        """
        stack_id = self._flow_stacks.get(flow_id)
        if stack_id is None:
            raise exceptions.FlowNotFound(flow_id=flow_id)
        stack = self.engine.show_stack(self.ctx, stack_id)
        if timeout is None:
            minutes = stack.get("timeout_mins") or self.default_timeout_mins
            timeout = minutes * 60 + WAIT_GRACE_SECS
        deadline = time.monotonic() + timeout
        while stack["stack_status"].endswith(IN_PROGRESS_SUFFIX):
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.poll_interval)
            stack = self.engine.show_stack(self.ctx, stack_id)
        return str(stack["stack_status"])

    def embedded_simulator(self) -> None:
        """No simulator in this process: the engine and its workers are elsewhere."""
        return None

    # -- the rest maps one to one ---------------------------------------------------------

    def list_stacks(self) -> list[dict[str, Any]]:
        return self.engine.list_stacks(self.ctx)

    def show_stack(self, stack: str) -> dict[str, Any]:
        return self.engine.show_stack(self.ctx, stack)

    def list_resources(self, stack: str) -> list[dict[str, Any]]:
        return self.engine.list_resources(self.ctx, stack)

    def show_resource(self, stack: str, resource: str) -> dict[str, Any]:
        return self.engine.show_resource(self.ctx, stack, resource)

    def list_events(self, stack: str, **filters: Any) -> list[dict[str, Any]]:
        return self.engine.list_events(self.ctx, stack, **filters)

    def show_output(self, stack: str, output: str | None = None) -> list[dict[str, Any]]:
        return self.engine.show_output(self.ctx, stack, output)

    def validate_template(
        self,
        template: str,
        parameters: dict[str, Any] | None = None,
        files: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return self.engine.validate_template(self.ctx, template, parameters, files)

    def list_resource_types(self) -> list[dict[str, Any]]:
        return self.engine.list_resource_types(self.ctx)

    # -- 1.1: flows and orphans ------------------------------------------------------------

    def list_flows(self, **filters: Any) -> list[dict[str, Any]]:
        return self.engine.list_flows(self.ctx, **filters)

    def show_flow(self, flow: str) -> dict[str, Any]:
        return self.engine.show_flow(self.ctx, flow)

    def flow_graph(self, flow: str) -> str:
        return self.engine.flow_graph(self.ctx, flow)

    def resume_flow(self, flow: str) -> dict[str, Any]:
        return self.engine.resume_flow(self.ctx, flow)

    def retry_flow(self, flow: str) -> dict[str, Any]:
        return self.engine.retry_flow(self.ctx, flow)

    def revert_flow(self, flow: str) -> dict[str, Any]:
        return self.engine.revert_flow(self.ctx, flow)

    def cancel_flow(self, flow: str) -> dict[str, Any]:
        return self.engine.cancel_flow(self.ctx, flow)

    def skip_step(
        self, flow: str, step: str, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.engine.skip_step(self.ctx, flow, step, result)

    def list_orphans(self) -> list[dict[str, Any]]:
        return self.engine.list_orphans(self.ctx)

    def delete_orphans(
        self, server_ids: list[str] | None = None, *, delete_all: bool = False
    ) -> list[dict[str, Any]]:
        return self.engine.delete_orphans(self.ctx, server_ids, delete_all=delete_all)

    def adopt_orphan(self, server_id: str) -> dict[str, Any]:
        return self.engine.adopt_orphan(self.ctx, server_id)

    # -- 1.2: autoscaling ----------------------------------------------------------------

    def list_groups(self, stack: str | None = None) -> list[dict[str, Any]]:
        return self.engine.list_groups(self.ctx, stack=stack)

    def show_group(self, group: str) -> dict[str, Any]:
        return self.engine.show_group(self.ctx, group)

    def resize_group(
        self, group: str, capacity: int, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return self.engine.resize_group(self.ctx, group, capacity, idempotency_key=idempotency_key)

    def pause_group(self, group: str) -> dict[str, Any]:
        return self.engine.pause_group(self.ctx, group)

    def resume_group(self, group: str) -> dict[str, Any]:
        return self.engine.resume_group(self.ctx, group)

    def explain_group(self, group: str, limit: int = 20) -> list[dict[str, Any]]:
        return self.engine.explain_group(self.ctx, group, limit=limit)

    def execute_policy(
        self, stack: str, policy: str, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return self.engine.execute_policy(self.ctx, stack, policy, idempotency_key=idempotency_key)

    def list_webhooks(self, stack: str | None = None) -> list[dict[str, Any]]:
        return self.engine.list_webhooks(self.ctx, stack=stack)

    def show_webhook(self, webhook: str) -> dict[str, Any]:
        return self.engine.show_webhook(self.ctx, webhook)

    def list_scale_events(self, group: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return self.engine.list_scale_events(self.ctx, group=group, limit=limit)

    def show_scale_event(self, receipt: str) -> dict[str, Any]:
        return self.engine.show_scale_event(self.ctx, receipt)

    def signal_webhook(
        self, token_hash: str, idempotency_key: str | None, source: str, details: dict[str, Any]
    ) -> dict[str, Any]:
        return self.engine.signal_webhook(self.ctx, token_hash, idempotency_key, source, details)
