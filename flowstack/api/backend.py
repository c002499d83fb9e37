"""How flowstack-api reaches the engine: the ``signal`` callable the app is built with.

With a message bus configured (``transport_url``), the call goes over RPC
to a deployed flowstack-engine. Without one, the engine runs in this
process on the local database (the embedded default), and so do the flows
the signals start: the process must then stay up until they finish.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from flowstack import context, exceptions
from flowstack.api.app import Signal, current_request_id
from flowstack.api.batching import Batcher
from flowstack.conf import loading
from flowstack.conf import rpc as rpc_conf

LOG = logging.getLogger(__name__)

#: Who the API is on the bus; signal_webhook ignores the project (the token is the capability).
SERVICE_PROJECT = "service"
SERVICE_USER = "flowstack-api"


def service_context() -> context.RequestContext:
    """The context of an API call, under the HTTP request's id for log correlation."""
    return context.RequestContext(
        project_id=SERVICE_PROJECT, user_id=SERVICE_USER, request_id=current_request_id()
    )


def rpc_batches(engine: Any) -> Batcher:
    """``signal`` through the engine, the calls that arrive together in one RPC call."""

    def send(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ctx = service_context()
        LOG.debug("Sending %d webhook call(s) in request %s", len(calls), ctx.request_id)
        return engine.signal_webhooks(ctx, calls)  # type: ignore[no-any-return]

    return Batcher(send)


def engine_signal(conf: cfg.ConfigOpts) -> tuple[Signal, Callable[[], None]]:
    """The ``signal`` for ``conf`` and the function that releases what it holds."""
    if rpc_conf.transport_configured(conf):
        from flowstack.rpc.client import EngineClient

        engine = EngineClient.from_conf(conf)
        batcher = rpc_batches(engine)
        return batcher, lambda: (batcher.close(), engine.close())
    if not conf.api.run_engine_in_process:
        raise exceptions.ConfigError(
            "flowstack-api needs a message bus to reach flowstack-engine: set transport_url "
            "in [DEFAULT] (or, for a single-process development setup, "
            "[api] run_engine_in_process = true)"
        )
    LOG.warning(
        "flowstack-api runs its own engine in this process ([api] run_engine_in_process): "
        "for development only; flows run here and stop with it"
    )
    # Imported only here: it brings the whole engine (database, flows) into the process.
    from flowstack.rpc.local import LocalEngine

    local = LocalEngine.from_conf(
        conf, auto_migrate=conf.database.connection == loading.embedded_connection(conf.state_path)
    )
    batcher = rpc_batches(local.client)
    return batcher, lambda: (batcher.close(), local.close())
