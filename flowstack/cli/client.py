"""How the CLI reaches the engine.

Embedded (no transport configured): the engine runs in this process on the
local database, and each flow runs in a thread that the command waits for
before it exits.  With a transport configured, the CLI uses
:class:`flowstack.cli.rpc_client.RpcClient` instead, which offers the same methods.
"""

from __future__ import annotations

import os
from typing import Any

from oslo_config import cfg

from flowstack import context
from flowstack.conf import loading
from flowstack.db import migration
from flowstack.engine.stack_service import StackService
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.resources.constraints import nova_constraints
from flowstack.runtime.container import Runtime


class EmbeddedClient:
    """The engine in this process; its method names mirror the RPC API."""

    def __init__(self, rt: Runtime, *, auto_migrate: bool) -> None:
        self.rt = rt
        self.dispatcher = InProcessDispatcher(rt)
        self.service = StackService(
            rt, self.dispatcher, custom_constraints=nova_constraints(rt.clients)
        )
        self.ctx = context.embedded()
        if auto_migrate and migration.current_version(rt.db) != migration.head_version():
            # The embedded default owns its SQLite file: bring it up to date
            # instead of asking a newcomer to run `flowstack-manage db sync`.
            migration.sync(rt.db)
        else:
            migration.check_current(rt.db)

    @classmethod
    def from_options(cls, config_files: list[str], state_dir: str | None) -> EmbeddedClient:
        return cls.from_conf(
            loading.load([], config_files=config_files or None, state_path=state_dir)
        )

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> EmbeddedClient:
        embedded = conf.database.connection == loading.embedded_connection(conf.state_path)
        if embedded:
            os.makedirs(conf.state_path, mode=0o700, exist_ok=True)
        return cls(Runtime.from_conf(conf), auto_migrate=embedded)

    def close(self) -> None:
        self.dispatcher.wait_all()
        self.rt.close()

    def wait_flow(self, flow_id: str, timeout: float | None = None) -> str | None:
        return self.dispatcher.wait(flow_id, timeout)

    def embedded_simulator(self) -> Any:
        """The Nova simulator running in this process, or None (a real Nova)."""
        return self.rt.clients.embedded_simulator()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.service, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return method(self.ctx, *args, **kwargs)

        return call
