"""HTTP serving and the in-process :class:`NovaSimulator`.

Why ``http.server.ThreadingHTTPServer`` and not a WSGI app under ``wsgiref``:

* keep-alive: keystoneauth sessions reuse connections; ``wsgiref``'s handler
  speaks HTTP/1.0 and closes every connection, which costs a TCP handshake per
  call when a test makes thousands of them. ``BaseHTTPRequestHandler`` with
  ``protocol_version = "HTTP/1.1"`` keeps them open;
* the lost-response faults need the socket: dropping a connection without an
  answer, or answering late, is not expressible through WSGI;
* one thread per connection (``ThreadingMixIn``, daemon threads) is plenty for
  tests and an embedded default, and the shared state is guarded by one lock.

The request handling itself is transport-free (:class:`~.app.SimulatorApp`),
so the choice of server stays a detail of this module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

from flowstack.nova_sim import lb_admin
from flowstack.nova_sim.app import SimulatorApp
from flowstack.nova_sim.compute_common import fault_response
from flowstack.nova_sim.config import DELAY_SETTINGS, SimulatorConfig
from flowstack.nova_sim.errors import SimulatorConfigError, SimulatorError
from flowstack.nova_sim.faults import FaultConfig, FaultInjector, merge_fault_dicts
from flowstack.nova_sim.image_api import IMAGE_PREFIX
from flowstack.nova_sim.lb_api import LB_PREFIX
from flowstack.nova_sim.network_api import NETWORK_PREFIX
from flowstack.nova_sim.routing import Request, Response
from flowstack.nova_sim.state import CloudState

LOG = logging.getLogger(__name__)
#: One INFO line per request (method, path, status, time, request id; never headers).
REQUEST_LOG = logging.getLogger("flowstack.nova_sim.requests")
_NO_BODY = {204, 304}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "flowstack-nova-sim"
    timeout = 300  # idle keep-alive connections
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in one segment, without waiting for a delayed ACK.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One line per request is written by :meth:`_serve` instead."""

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("http: " + format, *args)

    def _serve(self) -> None:
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        raw_path, _, query = self.path.partition("?")
        request = Request(
            self.command,
            unquote(raw_path),
            query,
            dict(self.headers.items()),
            body,
            self.client_address[0],
        )
        try:
            response = self.server.app(request)
        except Exception:
            LOG.exception("nova-sim: unhandled error on %s %s", self.command, raw_path)
            response = fault_response(
                500, "Unexpected API Error. Please report this to the simulator's owner."
            )
        request_id = dict(response.headers).get("x-openstack-request-id", "-")
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self._log(raw_path, query, "dropped", started, request_id)
            return
        if response.delay:
            self.server.stopping.wait(response.delay)
        try:
            self._write(response)
        except OSError:
            self.close_connection = True
        self._log(raw_path, query, str(response.status), started, request_id)

    def _write(self, response: Response) -> None:
        payload = b"" if response.status in _NO_BODY else response.payload()
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if payload or response.status not in _NO_BODY:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _log(self, path: str, query: str, outcome: str, started: float, request_id: str) -> None:
        elapsed = (time.monotonic() - started) * 1000
        target = f"{path}?{query}" if query else path
        REQUEST_LOG.info(
            '%s "%s %s" %s %.1fms %s',
            self.client_address[0],
            self.command,
            target,
            outcome,
            elapsed,
            request_id,
        )

    # BaseHTTPRequestHandler dispatches on these names.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: Callable[[Request], Response]) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        self.app = app
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket, opened: bool) -> None:
        with self._connections_lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class NovaSimulator:
    """A Nova (Compute API v2.1) simulator, served over real HTTP.

    ::

        with NovaSimulator(build_delay=0.1, delete_delay=0.1) as sim:
            nova = sim.client("2.1")            # python-novaclient, token auth
            server = nova.servers.create("web-1", CIRROS_IMAGE_ID, "1")
            ...
            assert len(sim.live_servers()) == 1

    ``config`` is a :class:`SimulatorConfig`; keyword arguments override its
    fields (``build_delay=0.1``, ``faults={...}``, ``state_file=path``, ...).
    ``clock`` replaces ``time.time`` (tests of the lifecycle without sleeping).
    The state API (``live_servers()``, ``reset()``, ``set_faults()``, ...) works
    whether or not the HTTP server is started.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        **settings: Any,
    ) -> None:
        base = config or SimulatorConfig()
        try:
            self.config = dataclasses.replace(base, **settings) if settings else base
        except TypeError as exc:
            raise SimulatorConfigError(f"invalid simulator setting: {exc}") from exc
        self.faults = FaultInjector(self.config.faults)
        self.state = CloudState(self.config, self.faults, clock=clock)
        self.app = SimulatorApp(self.state, self.faults, self.config)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> Self:
        """Bind (``127.0.0.1``, port 0 = any free port by default) and serve in a thread."""
        if self._server is not None:
            raise SimulatorError("the simulator is already running")
        try:
            server = _Server((self.config.host, self.config.port), self.app)
        except OSError as exc:
            raise SimulatorError(
                f"cannot listen on {self.config.host}:{self.config.port}: {exc}"
            ) from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"nova-sim-{self.port}",
            daemon=True,
        )
        self._thread.start()
        LOG.info("nova-sim listening on %s (compute endpoint %s)", self.url, self.endpoint)
        return self

    def stop(self) -> None:
        """Stop serving; open connections are closed, delayed answers abandoned."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- addresses --------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise SimulatorError("the simulator is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The root URL (compute version discovery), e.g. ``http://127.0.0.1:40123``."""
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The compute endpoint, e.g. ``http://127.0.0.1:40123/v2.1``."""
        return f"{self.url}/v2.1"

    @property
    def image_endpoint(self) -> str:
        return f"{self.url}{IMAGE_PREFIX}"

    @property
    def network_endpoint(self) -> str:
        """The catalog's network endpoint, e.g. ``http://127.0.0.1:40123/networking``."""
        return f"{self.url}{NETWORK_PREFIX}"

    @property
    def lb_endpoint(self) -> str:
        """The catalog's load-balancer endpoint, e.g. ``http://127.0.0.1:40123/load-balancer``."""
        return f"{self.url}{LB_PREFIX}"

    @property
    def identity_url(self) -> str:
        return f"{self.url}/identity/v3"

    # -- clients ----------------------------------------------------------------
    def session(
        self,
        token: str = "nova-sim-token",  # noqa: S107 - any token is accepted
        timeout: float | None = None,
    ) -> Any:
        """A keystoneauth session with token-endpoint auth on :attr:`endpoint`."""
        from keystoneauth1 import session as ks_session
        from keystoneauth1 import token_endpoint

        return ks_session.Session(auth=token_endpoint.Token(self.endpoint, token), timeout=timeout)

    def client(self, version: str = "2.1", *, timeout: float | None = None, **kwargs: Any) -> Any:
        """A python-novaclient ``Client`` talking to this simulator."""
        from novaclient import client as nova_client

        return nova_client.Client(version, session=self.session(timeout=timeout), **kwargs)

    def lb_client(self, *, timeout: float | None = None) -> Any:
        """openstacksdk's load-balancer proxy (``Connection(...).load_balancer``) on this simulator.

        Token-endpoint auth as :meth:`session`; the endpoint is fixed, so no
        catalog or Keystone is involved.
        """
        from openstack import connection

        conn = connection.Connection(
            session=self.session(timeout=timeout),
            load_balancer_endpoint_override=self.lb_endpoint,
            load_balancer_api_version="2",
        )
        return conn.load_balancer

    # -- state (tests) ----------------------------------------------------------
    def all_servers(self) -> list[dict[str, Any]]:
        """Every server ever created, deleted ones included (admin records, oldest first)."""
        return self.state.admin_records()

    def live_servers(self) -> list[dict[str, Any]]:
        """Servers that exist right now (building, active, error or being deleted)."""
        return self.state.admin_records(live_only=True)

    def server(self, server_id: str) -> dict[str, Any]:
        for record in self.state.admin_records():
            if record["id"] == server_id:
                return record
        raise KeyError(server_id)

    def fail_server(self, server_id: str, message: str = "Compute host failed") -> None:
        """Turn a server to ERROR with a fault from now on (a host failure, for tests)."""
        self.state.fail_server(server_id, message)

    # -- load balancers (tests) -------------------------------------------------
    def loadbalancers(self, *, live_only: bool = False) -> list[dict[str, Any]]:
        """Every load balancer ever created (admin records, pools and members nested)."""
        return lb_admin.loadbalancers(self.app.lb.ops, live_only=live_only)

    def loadbalancer(self, lb_id: str) -> dict[str, Any]:
        return lb_admin.loadbalancer(self.app.lb.ops, lb_id)

    def pool_members(self, pool_id: str, *, live_only: bool = True) -> list[dict[str, Any]]:
        """A pool's members (admin records, creation order); ``live_only=False`` adds gone ones."""
        return lb_admin.pool_members(self.app.lb.ops, pool_id, live_only=live_only)

    def lb_events(self, *, after: int = 0, **filters: str) -> list[dict[str, Any]]:
        """The event log, ``seq`` order: LB, pool, member changes and server deletes.

        ``filters`` match event keys exactly (``kind="member"``, ``pool_id=...``,
        ``event="member-delete"``, ``server_id=...``); ``after`` skips ``seq <= after``.
        """
        return lb_admin.events(self.app.lb.ops, after, **filters)

    def create_loadbalancer(
        self,
        name: str = "lb",
        *,
        pools: list[dict[str, Any]] | None = None,
        members: list[dict[str, Any]] | None = None,
        settled: bool = True,
        project_id: str | None = None,
        **attributes: Any,
    ) -> dict[str, Any]:
        """Make a load balancer without the API, ACTIVE at once unless ``settled=False``.

        By default it gets one HTTP ROUND_ROBIN pool ``<name>-pool``
        (``lb["pools"][0]["id"]``); ``members`` (``[{"address", "protocol_port"}]``)
        go into the first pool. Returns the admin record.
        """
        spec: dict[str, Any] = {"name": name, "settled": settled, **attributes}
        if pools is not None:
            spec["pools"] = pools
        if members is not None:
            spec["members"] = members
        owner = project_id or self.config.project_id
        return lb_admin.quick_create(self.app.lb.ops, spec, owner)

    def fail_loadbalancer(self, lb_id: str, message: str = "Amphora failed") -> None:
        """Turn a load balancer to provisioning_status ERROR from now on (for tests)."""
        self.app.lb.ops.fail_loadbalancer(lb_id, message)

    def reset(self, *, faults: bool = True) -> None:
        """Forget all servers, keypairs and load balancers; with ``faults`` clear faults too."""
        self.state.reset()
        if faults:
            self.faults.clear()

    def set_faults(self, config: FaultConfig | dict[str, Any] | None = None, **kinds: Any) -> None:
        """Replace the fault configuration (``set_faults(build_errors=[{"every_nth": 2}])``)."""
        data = config.to_dict(counters=False) if isinstance(config, FaultConfig) else config
        self.faults.set(merge_fault_dicts(data or {}, kinds) if kinds else data)

    def add_faults(self, **kinds: Any) -> None:
        """Add rules to the current configuration, keeping the existing ones."""
        self.faults.update(kinds)

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def fault_config(self) -> dict[str, Any]:
        """The current faults, with each rule's ``seen``/``fired`` counters."""
        return self.faults.snapshot()

    def set_delays(
        self,
        build_delay: float | None = None,
        delete_delay: float | None = None,
        *,
        lb_provision_delay: float | None = None,
        lb_update_delay: float | None = None,
    ) -> None:
        """Change the delays for what is created / changed / deleted from now on."""
        given = {
            "build_delay": build_delay,
            "delete_delay": delete_delay,
            "lb_provision_delay": lb_provision_delay,
            "lb_update_delay": lb_update_delay,
        }
        with self.state.lock:
            for name in DELAY_SETTINGS:
                if given[name] is not None:
                    setattr(self.state, name, float(given[name]))
