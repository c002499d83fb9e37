"""flowstack-engine's RPC server in this process, on the real RabbitMQ.

Each test gets its own exchange and topic, so parallel runs never see each
other's calls; the engine runs on a scratch SQLite file, its flows in
threads of this process (an in-process dispatcher in place of the jobboard).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg
from oslo_messaging import opts as messaging_opts

from flowstack.cmd.engine import EngineServer
from flowstack.context import RequestContext
from flowstack.db import migration
from flowstack.db.session import Database
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.rpc.client import EngineClient
from tests import services

TRANSPORT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
RABBIT = "oslo_messaging_rabbit"


def rpc_conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    """``conf`` pointed at the local RabbitMQ, on an exchange and topic of its own."""
    unique = uuid.uuid4().hex[:12]
    conf.set_override("transport_url", TRANSPORT_URL)
    conf.set_override("exchange", f"flowstack-test-{unique}", group="rpc")
    conf.set_override("topic", f"flowstack-engine-{unique}", group="rpc")
    conf.set_override("host", f"test-{unique}", group="rpc")
    conf.set_override("call_timeout", 20, group="rpc")
    # Queues and exchanges of a test go away with it.
    for group, opts in messaging_opts.list_opts():
        if group == RABBIT:
            conf.register_opts(opts, group=group)  # as the transport will
    conf.set_override("amqp_auto_delete", True, group=RABBIT)
    return conf


class RpcEngine:
    """A running engine, a client of it, and two projects' contexts."""

    def __init__(self, server: EngineServer, client: EngineClient) -> None:
        self.server = server
        self.client = client
        self.dispatcher: InProcessDispatcher = server.dispatcher  # type: ignore[assignment]
        self.ctx = RequestContext(project_id="project-a", user_id="alice")
        self.other = RequestContext(project_id="project-b", user_id="bob")

    @property
    def manager(self) -> Any:
        return self.server.server.dispatcher.endpoints[0]

    def finish(self, started: dict[str, Any], ctx: RequestContext | None = None) -> dict[str, Any]:
        """The stack once the flow a create or delete ``started`` has ended."""
        assert self.dispatcher.wait(started["flow_id"], timeout=60) is not None
        return self.client.show_stack(ctx or self.ctx, started["id"])


@pytest.fixture
def engine_conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    services.need("rabbitmq")
    rpc_conf(conf)
    os.makedirs(conf.state_path, exist_ok=True)
    db = Database.from_conf(conf)
    migration.sync(db)
    db.close()
    return conf


@pytest.fixture
def rpc_engine(engine_conf: cfg.ConfigOpts) -> Iterator[RpcEngine]:
    server = EngineServer(engine_conf, dispatcher_factory=InProcessDispatcher)
    server.start()
    client = EngineClient.from_conf(engine_conf)
    try:
        yield RpcEngine(server, client)
    finally:
        client.close()
        server.dispatcher.wait_all()
        server.stop()
