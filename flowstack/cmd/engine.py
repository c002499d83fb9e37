"""``flowstack-engine``: the RPC server of flowstack's API.

It validates requests, persists stacks and their flows, hands each flow to
the dispatcher (the jobboard's when one is configured, see
:func:`flowstack.execution.dispatch.for_service`) and answers queries from the
database; workers run the flows.  Several engines may run at once: each
listens on the shared topic (``[rpc] topic``, any engine serves any call)
and on its own server queue (``[rpc] host``).

Threads only: oslo.messaging serves calls with its threading executor, its
default when eventlet is not monkey-patched (flowstack blocks eventlet; and
passing ``executor=`` to oslo.messaging is deprecated).
SIGTERM or SIGINT stops taking calls, lets those in progress finish, and
exits 0.  Usage::

    flowstack-engine --config-file /etc/flowstack/flowstack.conf
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_log import log as logging

from flowstack import exceptions
from flowstack.cmd import gc_tuning, startup
from flowstack.conf import rpc as rpc_conf
from flowstack.db import migration
from flowstack.db import service_registry as services
from flowstack.engine import Engine
from flowstack.engine.stack_service import Dispatcher
from flowstack.execution import dispatch, recovery
from flowstack.resources.constraints import nova_constraints
from flowstack.rpc import client as rpc_client
from flowstack.rpc.manager import EngineManager
from flowstack.rpc.serializer import RequestContextSerializer
from flowstack.runtime.container import Runtime

LOG = logging.getLogger(__name__)
PROG = "flowstack-engine"
PROJECT = "flowstack"


class EngineServer:
    """One engine: its runtime, its services and the RPC server in front of them."""

    def __init__(
        self,
        conf: cfg.ConfigOpts,
        *,
        dispatcher_factory: Callable[[Runtime], Dispatcher] | None = None,
    ) -> None:
        """``dispatcher_factory`` (tests) replaces :func:`dispatch.for_service`."""
        if not rpc_conf.transport_configured(conf):
            raise exceptions.ConfigError(
                "flowstack-engine needs a message bus: set transport_url in [DEFAULT] "
                "(e.g. rabbit://user:password@host:5672/)"
            )
        self.conf = conf
        self.name = f"engine:{socket.gethostname()}:{os.getpid()}"
        self._stopping = threading.Event()
        self._beating = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self.rt = Runtime.from_conf(conf)
        self.transport: oslo_messaging.Transport | None = None
        try:
            # The jobboard first: a wrong [jobboard] url is the one line printed.
            self.dispatcher = (dispatcher_factory or dispatch.for_service)(self.rt)
            migration.check_current(self.rt.db)
            engine = Engine.build(
                self.rt, self.dispatcher, custom_constraints=nova_constraints(self.rt.clients)
            )
            self.transport = rpc_client.get_transport(conf)
            self.server = oslo_messaging.get_rpc_server(
                self.transport,
                oslo_messaging.Target(
                    topic=conf.rpc.topic, server=conf.rpc.host, exchange=conf.rpc.exchange
                ),
                [EngineManager(engine)],
                serializer=RequestContextSerializer(),
                access_policy=oslo_messaging.ExplicitRPCAccessPolicy,
            )
            # One RPC thread per database connection the pool may hold (read by
            # start()): more threads would only queue for connections.
            conf.set_default(
                "executor_thread_pool_size",
                conf.database.max_pool_size + conf.database.max_overflow,
            )
            if self.server.executor_type != "threading":  # pragma: no cover
                raise exceptions.ConfigError(
                    f"oslo.messaging chose its {self.server.executor_type} executor; "
                    "flowstack-engine runs on threads only"
                )
        except BaseException:
            if self.transport is not None:
                self.transport.cleanup()
            close = getattr(getattr(self, "dispatcher", None), "close", None)
            if close is not None:
                close()
            self.rt.close()
            raise

    def start(self) -> None:
        self.server.start()
        self._beating.start()
        LOG.info(
            "flowstack-engine %s serving RPC API %s on exchange %s, topic %s",
            self.conf.rpc.host,
            EngineManager.RPC_API_VERSION,
            self.conf.rpc.exchange,
            self.conf.rpc.topic,
        )

    def stop(self) -> None:
        """Stop taking calls, wait for those in progress, release everything."""
        self._stopping.set()
        self.server.stop()
        self.server.wait()
        try:
            with self.rt.db.write_connection() as connection:
                services.remove(connection, self.name)
        except exceptions.FlowstackError:
            LOG.warning("Could not remove %s from the services table", self.name)
        close = getattr(self.dispatcher, "close", None)
        if close is not None:
            close()
        if self.transport is not None:
            self.transport.cleanup()
        self.rt.close()
        LOG.info("flowstack-engine %s stopped", self.conf.rpc.host)

    def _beat(self) -> None:
        """Mark this engine alive in the services table (`flowstack-manage service list`)."""
        interval = self.conf.worker.service_heartbeat
        while True:
            try:
                with self.rt.db.write_connection() as connection:
                    services.beat(
                        connection, self.name, "engine", socket.gethostname(), os.getpid()
                    )
            except Exception:  # the database may come back; keep beating
                LOG.warning("Could not record this engine's heartbeat", exc_info=True)
            if getattr(self.dispatcher, "in_process", False):
                self._resume_unattended()
            if self._stopping.wait(interval):
                return

    def _resume_unattended(self) -> None:
        """Without a jobboard this engine is the only runner: it resumes what was left."""
        try:
            recovery.resume_unattended(
                self.rt, self.dispatcher, grace=self.conf.worker.orphan_grace
            )
        except Exception:  # the database may come back; try again next beat
            LOG.warning("Could not look for flows to resume", exc_info=True)


def main(argv: list[str] | None = None) -> int:
    return startup.run(PROG, lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    conf = startup.load(argv, PROG)
    logging.setup(conf, PROJECT)
    engine = EngineServer(conf)

    stopping = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        LOG.info("%s received: stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    gc_tuning.freeze_startup_objects()
    engine.start()
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
