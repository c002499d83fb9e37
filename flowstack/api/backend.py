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

from flowstack import context
from flowstack.api.app import Signal, current_request_id
from flowstack.conf import rpc as rpc_conf

#: Who the API is on the bus; signal_webhook ignores the project (the token is the capability).
SERVICE_PROJECT = "service"
SERVICE_USER = "flowstack-api"


def service_context() -> context.RequestContext:
    """The context of an API call, under the HTTP request's id for log correlation."""
    return context.RequestContext(
        project_id=SERVICE_PROJECT, user_id=SERVICE_USER, request_id=current_request_id()
    )


def rpc_signal(engine: Any) -> Signal:
    """``signal`` through an :class:`~flowstack.rpc.client.EngineClient`."""

    def signal(
        token_hash: str, idempotency_key: str | None, source: str, details: dict[str, Any]
    ) -> dict[str, Any]:
        return engine.signal_webhook(  # type: ignore[no-any-return]
            service_context(),
            token_hash=token_hash,
            idempotency_key=idempotency_key,
            source=source,
            details=details,
        )

    return signal


def embedded_signal(client: Any) -> Signal:
    """``signal`` through an :class:`~flowstack.cli.client.EmbeddedClient` (adds its ctx)."""

    def signal(
        token_hash: str, idempotency_key: str | None, source: str, details: dict[str, Any]
    ) -> dict[str, Any]:
        return client.signal_webhook(  # type: ignore[no-any-return]
            token_hash=token_hash, idempotency_key=idempotency_key, source=source, details=details
        )

    return signal


def engine_signal(conf: cfg.ConfigOpts) -> tuple[Signal, Callable[[], None]]:
    """The ``signal`` for ``conf`` and the function that releases what it holds."""
    if rpc_conf.transport_configured(conf):
        from flowstack.rpc.client import EngineClient

        engine = EngineClient.from_conf(conf)
        return rpc_signal(engine), engine.close
    # Imported only here: it brings the whole engine (database, flows) into the process.
    from flowstack.cli.client import EmbeddedClient

    client = EmbeddedClient.from_conf(conf)
    return embedded_signal(client), client.close
