"""How a ``flowstack`` command reaches the engine: the RPC API, with the caller's context.

Every command calls the methods of :class:`flowstack.rpc.client.EngineClient`
without the context argument: :class:`CommandClient` binds it.  The engine
is a deployed flowstack-engine over the message bus when ``transport_url``
is configured, else an engine inside this process
(:class:`flowstack.rpc.local.LocalEngine`, the embedded default); either way
the calls, their checks and their errors are the RPC API's.

Who is asking over RPC: ``--os-project-id`` / ``--os-user-id``, else the
``OS_PROJECT_ID`` / ``OS_USER_ID`` environment variables, else the embedded
default's project and user.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

from oslo_config import cfg

from flowstack import context, exceptions
from flowstack.rpc.client import EngineClient

IN_PROGRESS_SUFFIX = "_IN_PROGRESS"
# Longer than the stack's own timeout: the flow fails itself by then.
WAIT_GRACE_SECS = 120.0
#: Calls whose answer names a flow the command may wait for, and its stack.
_STARTS_FLOW = frozenset({"create_stack", "delete_stack"})


def request_context(
    project_id: str | None = None, user_id: str | None = None
) -> context.RequestContext:
    """The CLI's context: arguments, then OS_PROJECT_ID/OS_USER_ID, then the embedded default."""
    return context.RequestContext(
        project_id=project_id or os.environ.get("OS_PROJECT_ID") or context.EMBEDDED_PROJECT,
        user_id=user_id or os.environ.get("OS_USER_ID") or context.EMBEDDED_USER,
    )


class CommandClient:
    """The engine's RPC API with the caller's context bound, and a way to wait for a flow."""

    def __init__(
        self,
        engine: EngineClient,
        ctx: context.RequestContext,
        *,
        join_flow: Callable[[str, float | None], str | None] | None = None,
        simulator: Callable[[], Any] | None = None,
        close: Callable[..., None] | None = None,
        stop_flows: Callable[[float], list[str]] | None = None,
        running_flows: Callable[[], list[str]] | None = None,
        default_timeout_mins: int = 60,
        poll_interval: float = 0.5,
    ) -> None:
        """``join_flow``: wait for a flow running in this process (embedded), by id;
        ``simulator``: finds the Nova simulator this process runs, if any."""
        self.engine = engine
        self.ctx = ctx
        self._join_flow = join_flow
        self._simulator = simulator
        self._close = close
        self._stop_flows = stop_flows
        self._running_flows = running_flows
        self.default_timeout_mins = default_timeout_mins
        self.poll_interval = poll_interval
        self._flow_stacks: dict[str, str] = {}  # flow id -> stack id, for wait_flow

    @classmethod
    def remote(
        cls, conf: cfg.ConfigOpts, *, project_id: str | None = None, user_id: str | None = None
    ) -> CommandClient:
        """A deployed flowstack-engine over the message bus."""
        return cls(
            EngineClient.from_conf(conf),
            request_context(project_id, user_id),
            default_timeout_mins=conf.engine.stack_timeout_mins,
        )

    @classmethod
    def embedded(cls, conf: cfg.ConfigOpts, *, auto_migrate: bool) -> CommandClient:
        """An engine in this process; its flows run in this process's threads."""
        # Imported here: it brings the whole engine (database, TaskFlow, flows),
        # which --help, --version and commands over RPC do not need.
        from flowstack.rpc.local import LocalEngine

        local = LocalEngine.from_conf(conf, auto_migrate=auto_migrate)
        return cls(
            local.client,
            context.embedded(),
            join_flow=local.wait_flow,
            simulator=local.rt.clients.embedded_simulator,
            close=local.close,
            stop_flows=local.stop_flows,
            running_flows=local.dispatcher.running,
            default_timeout_mins=conf.engine.stack_timeout_mins,
        )

    def close(self, *, wait: bool = True) -> None:
        """Release the engine; embedded, by default once this process's flows ended."""
        if self._close is not None:
            self._close(wait=wait)
        else:
            self.engine.close()

    def running_flows(self) -> list[str]:
        """The flows running in this process (none over RPC)."""
        return self._running_flows() if self._running_flows is not None else []

    def stop_flows(self, timeout: float) -> list[str]:
        """Stop this process's flows at their next step, saved (see LocalEngine.stop_flows)."""
        return self._stop_flows(timeout) if self._stop_flows is not None else []

    def __getattr__(self, name: str) -> Any:
        """``client.show_stack("web")`` is ``engine.show_stack(ctx, "web")``."""
        method = getattr(self.engine, name)
        if name.startswith("_") or not callable(method):
            raise AttributeError(name)
        if name in _STARTS_FLOW:
            return functools.partial(self._starting_flow, method)
        return functools.partial(method, self.ctx)

    def _starting_flow(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        started = method(self.ctx, *args, **kwargs)
        self._flow_stacks[started["flow_id"]] = started["id"]
        return started

    def wait_flow(self, flow_id: str, timeout: float | None = None) -> str | None:
        """Wait for a flow this client started to end; the outcome, or None on timeout.

        In this process the flow's thread is joined; over RPC the flow runs in
        a worker and its stack is polled until it leaves IN_PROGRESS (a timeout
        leaves it running there).  Without ``timeout``, the wait lasts the
        stack's own time limit and a grace period.
        """
        if self._join_flow is not None:
            return self._join_flow(flow_id, timeout)
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

    @property
    def runs_flows_here(self) -> bool:
        """Whether flows run in this process (embedded): the command must see them end."""
        return self._join_flow is not None

    def embedded_simulator(self) -> Any:
        """The Nova simulator running in this process, or None (a real Nova, or RPC)."""
        return self._simulator() if self._simulator is not None else None
