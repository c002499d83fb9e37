"""flowstack-engine inside the calling process: the embedded default's engine.

Ironic's "local shortcut" for all-in-one mode: the same :class:`EngineClient`
and the same :class:`EngineManager` as a deployment, with a channel that
calls the manager directly instead of crossing a message bus.  A call still
goes through everything a remote one does but the wire: the context as the
serializer would send it, JSON-safe arguments and results, the manager's
payload checks, and its rule that an unexpected error reaches the caller as
``EngineInternalError`` (logged here with its traceback).  So the CLI, the
API and the tests exercise the RPC contract in embedded mode too, and a new
call is written twice (client, manager), never as a forwarder.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_context import context as oslo_context

from flowstack.db import flow_records, migration
from flowstack.engine import Engine
from flowstack.execution import runner
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.resources.constraints import nova_constraints
from flowstack.rpc.client import EngineClient
from flowstack.rpc.manager import EngineManager
from flowstack.rpc.serializer import RequestContextSerializer
from flowstack.runtime.container import Runtime

_SERIALIZER = RequestContextSerializer()
#: A flow's history entry when its command was interrupted (Ctrl-C).
STOPPED = "stopped by Ctrl-C: saved at its last step, waiting to be resumed"


class LocalChannel:
    """Calls an :class:`EngineManager` of this process as the bus would."""

    def __init__(self, manager: EngineManager) -> None:
        self._manager = manager

    def call(
        self, ctx: oslo_context.RequestContext, method: str, version: str, args: dict[str, Any]
    ) -> Any:
        received = _SERIALIZER.deserialize_context(_SERIALIZER.serialize_context(ctx))
        endpoint = getattr(self._manager, method)
        try:
            result = endpoint(received, **_on_the_wire(args))
        except oslo_messaging.ExpectedException as exc:
            # What the RPC dispatcher does for an expected error: raise it as it is.
            raise exc.exc_info[1] from None
        return _on_the_wire(result)

    def close(self) -> None:
        """Nothing is held: the engine belongs to whoever built it."""


def _on_the_wire(value: Any) -> Any:
    """``value`` as the other side of a message bus would receive it (JSON)."""
    return json.loads(json.dumps(value))


class LocalEngine:
    """A whole engine in this process: runtime, in-process dispatcher, manager, client.

    Flows run in threads of this process; :meth:`close` waits for them, so a
    command does not exit in the middle of one (a killed process leaves the
    flow resumable in the database).
    """

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.dispatcher = InProcessDispatcher(rt)
        self.engine = Engine.build(
            rt, self.dispatcher, custom_constraints=nova_constraints(rt.clients)
        )
        self.manager = EngineManager(self.engine)
        self.client = EngineClient(channel=LocalChannel(self.manager))

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, *, auto_migrate: bool = False) -> LocalEngine:
        """The engine on ``conf``'s database; ``auto_migrate`` brings its schema up to date.

        The embedded default owns its SQLite file, so it migrates it instead of
        asking a newcomer to run ``flowstack-manage db sync``; any other
        database must already be current.
        """
        if auto_migrate:
            os.makedirs(conf.state_path, mode=0o700, exist_ok=True)
        rt = Runtime.from_conf(conf)
        try:
            if auto_migrate and migration.current_version(rt.db) != migration.head_version():
                migration.sync(rt.db)
            else:
                migration.check_current(rt.db)
        except BaseException:
            rt.close()
            raise
        return cls(rt)

    def wait_flow(self, flow_id: str, timeout: float | None = None) -> str | None:
        """Block until the flow's thread ends; its outcome, or None on timeout."""
        return self.dispatcher.wait(flow_id, timeout)

    def stop_flows(self, timeout: float) -> list[str]:
        """Stop this process's running flows at their next step; the ones stopped.

        Each stops as if another runner had taken it over (its fence is
        revoked: it writes and does nothing more), then is handed back
        STOPPED with a note in its history, so that ``flow resume`` (or a
        ``stack delete``) takes it from its last persisted step.  A flow that
        does not stop within ``timeout`` stays owned by this process; once
        the process is gone, any later command may take it over.
        """
        running = self.dispatcher.running()
        # The stopped steps fail on their next write, which TaskFlow reports at
        # length; that is the point, not an error worth a traceback here.
        for noisy in ("taskflow", "oslo_utils.excutils"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        for flow_id in running:
            self.rt.fences.revoke_flow(flow_id, STOPPED)
        self.dispatcher.wait_all(timeout)
        stopped = []
        owner = runner.owner_name()
        for flow_id in running:
            if flow_id in self.dispatcher.running():
                continue
            with self.rt.db.write_connection() as connection:
                if flow_records.release(connection, flow_id, owner, STOPPED):
                    stopped.append(flow_id)
        return stopped

    def close(self, *, wait: bool = True) -> None:
        """Release everything; by default after the flows running here have ended."""
        if wait:
            self.dispatcher.wait_all()
        self.rt.close()
