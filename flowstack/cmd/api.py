"""``flowstack-api``: the webhook API, served by waitress.

It receives the webhooks monitoring (Aodh, Alertmanager, anything that can
POST) sends to scaling policies, and passes each to the engine: over RPC
when a message bus is configured, else to an engine in this process (see
:mod:`flowstack.api.backend`).  Put a TLS-terminating proxy in front of it.
Usage::

    flowstack-api --config-file /etc/flowstack/flowstack.conf

SIGTERM or SIGINT stops accepting connections, lets the requests in progress
finish (for up to ``DRAIN_SECS``), and exits 0; a second signal exits at once.
To run under another WSGI server instead, see :mod:`flowstack.api.wsgi`.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

from flowstack.api import backend, log_handoff
from flowstack.api.app import WebhookApp, make_app
from flowstack.cmd import gc_tuning, startup

LOG = logging.getLogger(__name__)
PROG = "flowstack-api"
PROJECT = "flowstack"
#: Longest a shutdown waits for the requests in progress.
DRAIN_SECS = 20.0
#: Time left to the server loop to send the last answers once no request is in progress.
FLUSH_SECS = 0.2


class ApiServer:
    """waitress serving one :class:`WebhookApp`, with a draining shutdown.

    The server loop runs in the thread that calls :meth:`serve`; the other
    methods may be called from any thread (or a signal handler): they act
    inside the loop through waitress's trigger.
    """

    def __init__(self, app: WebhookApp, conf: cfg.ConfigOpts) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._map: dict[Any, Any] = {}  # waitress's socket map: listeners and connections
        self.server = create_server(
            app,
            map=self._map,
            host=conf.api.bind_host,
            port=conf.api.bind_port,
            threads=conf.api.threads,
            ident="flowstack-api",
            # waitress refuses far larger bodies before buffering them; the app
            # answers those between the two limits with its own JSON 413.
            max_request_body_size=max(4 * conf.api.max_body_bytes, 1 << 20),
        )
        self._listeners = [d for d in self._map.values() if isinstance(d, BaseWSGIServer)]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Where the server listens (the real port when 0 was asked for)."""
        return [(str(d.effective_host), int(d.effective_port)) for d in self._listeners]

    def serve(self) -> None:
        """Serve until :meth:`begin_shutdown` has drained (or SystemExit in this thread)."""
        for host, port in self.addresses:
            LOG.info("flowstack-api listening on http://%s:%s", host, port)
        try:
            self.server.run()
        finally:
            self.server.task_dispatcher.shutdown()

    def begin_shutdown(self) -> None:
        """Close the listening sockets; once the requests in progress are answered, stop."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._in_loop(self._stop_listening)
        threading.Thread(target=self._drain, name="drain", daemon=True).start()

    def _drain(self) -> None:
        deadline = time.monotonic() + DRAIN_SECS
        while self.app.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.app.in_flight:
            LOG.warning("Stopping with %d request(s) still in progress", self.app.in_flight)
        time.sleep(FLUSH_SECS)
        self._in_loop(lambda: wasyncore.close_all(self._map))  # the loop ends when it is empty

    def _stop_listening(self) -> None:
        for listener in self._listeners:
            # The socket only: the listener's trigger still wakes the loop for answers.
            wasyncore.dispatcher.close(listener)

    def _in_loop(self, thunk: Callable[[], None]) -> None:
        self._listeners[0].trigger.pull_trigger(thunk)


def main(argv: list[str] | None = None) -> int:
    return startup.run(PROG, lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    conf = startup.load(argv, PROG)
    logging.setup(conf, PROJECT)
    restore_logging = log_handoff.hand_off()
    try:
        return _serve(conf)
    finally:
        restore_logging()


def _serve(conf: cfg.ConfigOpts) -> int:
    signal_engine, close_engine = backend.engine_signal(conf)
    try:
        try:
            server = ApiServer(make_app(signal_engine, conf), conf)
        except OSError as exc:
            LOG.error("Cannot listen on %s:%s: %s", conf.api.bind_host, conf.api.bind_port, exc)
            return 1

        def on_signal(signum: int, frame: Any) -> None:
            if server.stopping.is_set():
                raise SystemExit(0)  # asked twice: leave the server loop now
            LOG.info("%s received: finishing requests in progress", signal.Signals(signum).name)
            server.begin_shutdown()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        gc_tuning.freeze_startup_objects()
        try:
            server.serve()
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
    finally:
        close_engine()  # embedded: waits for the flows this process started
    LOG.info("flowstack-api stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
