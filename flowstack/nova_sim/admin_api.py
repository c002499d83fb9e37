"""The simulator's own admin endpoint (``/_admin``): JSON in, JSON out, no auth.

It is not part of the Compute API and never has faults injected.

=======  ========================  ===========================================================
method   path                      what
=======  ========================  ===========================================================
GET      ``/_admin/servers``       every server ever created, deleted ones included, oldest
                                   first: ``{"servers": [...], "live_count": n,
                                   "total_count": m}``; ``?live=true`` only live ones,
                                   ``?name=REGEX`` by name
GET      ``/_admin/servers/{id}``  ``{"server": {...}}`` with its full ``history``
POST     ``/_admin/servers/{id}/fail``  the server goes to ERROR with a fault (body:
                                   ``{"message": ...}``), as after a compute host failure
GET      ``/_admin/faults``        the fault configuration, with each rule's ``seen``/``fired``
PUT      ``/_admin/faults``        replace it (body: a fault configuration, see ``faults``)
PATCH    ``/_admin/faults``        add rules (lists are appended; ``seed``/``quota`` replaced)
DELETE   ``/_admin/faults``        clear every fault (204)
GET      ``/_admin/loadbalancers`` every load balancer ever created, pools and members nested:
                                   ``{"loadbalancers": [...], "live_count", "total_count"}``;
                                   ``?live=true`` only live ones
POST     ``/_admin/loadbalancers`` quick setup (body: load-balancer attributes plus
                                   ``pools``, ``members``, ``settled``; see
                                   ``lb_admin.quick_create``): 201 ``{"loadbalancer": {...}}``
GET      ``/_admin/loadbalancers/{id}``  ``{"loadbalancer": {...}}``
POST     ``/_admin/loadbalancers/{id}/fail``  the load balancer goes to ERROR (body:
                                   ``{"message": ...}``), as after an amphora failure
GET      ``/_admin/pools/{id}/members``  ``{"members": [...]}`` that exist; ``?live=false``
                                   includes deleted ones
GET      ``/_admin/lb-events``     the event log: ``{"events": [{"seq", "at", "kind",
                                   "event", ...}], "last_seq"}``; member, pool, load-balancer
                                   changes and accepted server deletes share ``seq``;
                                   ``?after=SEQ`` and exact filters (``kind``, ``event``,
                                   ``loadbalancer_id``, ``pool_id``, ``member_id``,
                                   ``server_id``)
GET      ``/_admin/config``        the delays: ``build_delay``, ``delete_delay``,
                                   ``lb_provision_delay``, ``lb_update_delay``
PATCH    ``/_admin/config``        change any of them for what is created/changed from now on
POST     ``/_admin/reset``         forget all servers, keypairs and load balancers and clear
                                   faults (204)
GET      ``/_admin/health``        ``{"status": "ok"}``
=======  ========================  ===========================================================

A server record: ``id, name, status, vm_state, task_state, live, project_id,
user_id, request_id, global_request_id, created_at, delete_requested_at,
deleted_at`` (epoch seconds), ``flavor_id, image_id, metadata, addresses,
fault, history`` (``[{"at", "event", ...}]``). Errors: ``{"error": {"code",
"message"}}`` with 400/404.
"""

from __future__ import annotations

import re
from typing import Any

from flowstack.nova_sim import lb_admin
from flowstack.nova_sim.config import DELAY_SETTINGS
from flowstack.nova_sim.errors import SimulatorConfigError
from flowstack.nova_sim.faults import FaultInjector
from flowstack.nova_sim.lb_core import LbError
from flowstack.nova_sim.lb_ops import LbOperations
from flowstack.nova_sim.routing import MalformedBody, Request, Response, Router
from flowstack.nova_sim.state import CloudState

ADMIN_PREFIX = "/_admin"


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": {"code": status, "message": message}})


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.lower() in ("1", "true", "yes")


def servers_document(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "servers": records,
        "live_count": sum(1 for r in records if r["live"]),
        "total_count": len(records),
    }


class AdminApi:
    def __init__(self, state: CloudState, faults: FaultInjector, lb: LbOperations) -> None:
        self.state = state
        self.faults = faults
        self.lb = lb
        self.router = Router()
        r = self.router
        r.add(r"/servers", GET=self.list_servers)
        r.add(r"/servers/(?P<server_id>[^/]+)", GET=self.show_server)
        r.add(r"/servers/(?P<server_id>[^/]+)/fail", POST=self.fail_server)
        r.add(
            r"/faults",
            GET=self.get_faults,
            PUT=self.put_faults,
            PATCH=self.patch_faults,
            DELETE=self.clear_faults,
        )
        r.add(r"/loadbalancers", GET=self.list_lbs, POST=self.create_lb)
        r.add(r"/loadbalancers/(?P<lb_id>[^/]+)", GET=self.show_lb)
        r.add(r"/loadbalancers/(?P<lb_id>[^/]+)/fail", POST=self.fail_lb)
        r.add(r"/pools/(?P<pool_id>[^/]+)/members", GET=self.pool_members)
        r.add(r"/lb-events", GET=self.lb_events)
        r.add(r"/config", GET=self.get_config, PATCH=self.patch_config)
        r.add(r"/reset", POST=self.reset)
        r.add(r"/health", GET=self.health)

    def handle(self, request: Request, route_path: str) -> Response:
        handler, args, known = self.router.match(request.method, route_path)
        if handler is None:
            return _error(405 if known else 404, "no such admin route")
        try:
            return handler(request, **args)
        except MalformedBody as exc:
            return _error(400, str(exc))
        except SimulatorConfigError as exc:
            return _error(400, str(exc))
        except LbError as exc:
            return _error(exc.status, exc.message)

    def list_servers(self, request: Request) -> Response:
        live_only = (request.param("live") or "").lower() in ("1", "true", "yes")
        records = self.state.admin_records(live_only=live_only)
        pattern = request.param("name")
        if pattern:
            try:
                name_re = re.compile(pattern)
            except re.error as exc:
                return _error(400, f"invalid name regex: {exc}")
            records = [r for r in records if name_re.search(r["name"])]
        return Response(200, servers_document(records))

    def show_server(self, request: Request, server_id: str) -> Response:
        for record in self.state.admin_records():
            if record["id"] == server_id:
                return Response(200, {"server": record})
        return _error(404, f"no server {server_id} was ever created")

    def fail_server(self, request: Request, server_id: str) -> Response:
        """A compute host failure: the server goes to ERROR with the given fault message."""
        body = request.json() or {}
        message = body.get("message") if isinstance(body, dict) else None
        try:
            self.state.fail_server(server_id, str(message or "Compute host failed"))
        except KeyError:
            return _error(404, f"no server {server_id} was ever created")
        return Response(202, {"server_id": server_id})

    def list_lbs(self, request: Request) -> Response:
        live_only = _flag(request.param("live"), False)
        records = lb_admin.loadbalancers(self.lb, live_only=live_only)
        return Response(
            200,
            {
                "loadbalancers": records,
                "live_count": sum(1 for r in records if r["live"]),
                "total_count": len(records),
            },
        )

    def create_lb(self, request: Request) -> Response:
        spec = request.json()
        if not isinstance(spec, dict):
            return _error(400, "the body must be an object of load-balancer attributes")
        project_id = spec.pop("project_id", None) or self.state.config.project_id
        record = lb_admin.quick_create(self.lb, spec, project_id)
        return Response(201, {"loadbalancer": record})

    def show_lb(self, request: Request, lb_id: str) -> Response:
        try:
            return Response(200, {"loadbalancer": lb_admin.loadbalancer(self.lb, lb_id)})
        except KeyError:
            return _error(404, f"no load balancer {lb_id} was ever created")

    def fail_lb(self, request: Request, lb_id: str) -> Response:
        """An amphora failure: the load balancer goes to ERROR."""
        body = request.json() if request.body else {}
        message = body.get("message") if isinstance(body, dict) else None
        try:
            self.lb.fail_loadbalancer(lb_id, str(message or "Amphora failed"))
        except KeyError:
            return _error(404, f"no live load balancer {lb_id}")
        return Response(202, {"loadbalancer_id": lb_id})

    def pool_members(self, request: Request, pool_id: str) -> Response:
        live_only = _flag(request.param("live"), True)
        try:
            members = lb_admin.pool_members(self.lb, pool_id, live_only=live_only)
        except KeyError:
            return _error(404, f"no pool {pool_id} was ever created")
        return Response(200, {"members": members})

    def lb_events(self, request: Request) -> Response:
        filters = {k: v[-1] for k, v in request.query.items() if k != "after"}
        try:
            after = int(request.param("after") or 0)
            found = lb_admin.events(self.lb, after, **filters)
        except ValueError as exc:
            return _error(400, str(exc))
        with self.state.reading():
            last = self.state.lb.seq
        return Response(200, {"events": found, "last_seq": last})

    def get_faults(self, request: Request) -> Response:
        return Response(200, self.faults.snapshot())

    def put_faults(self, request: Request) -> Response:
        self.faults.set(request.json())
        return Response(200, self.faults.snapshot())

    def patch_faults(self, request: Request) -> Response:
        self.faults.update(request.json())
        return Response(200, self.faults.snapshot())

    def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response(204)

    def _config(self) -> dict[str, float]:
        return {name: getattr(self.state, name) for name in DELAY_SETTINGS}

    def get_config(self, request: Request) -> Response:
        return Response(200, self._config())

    def patch_config(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict) or set(body) - set(DELAY_SETTINGS):
            raise SimulatorConfigError(f"config accepts only {', '.join(DELAY_SETTINGS)}")
        for key, value in body.items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise SimulatorConfigError(f"{key} must be a number of seconds >= 0")
        with self.state.lock:
            for key, value in body.items():
                setattr(self.state, key, float(value))
        return Response(200, self._config())

    def reset(self, request: Request) -> Response:
        self.state.reset()
        self.faults.clear()
        return Response(204)

    def health(self, request: Request) -> Response:
        return Response(200, {"status": "ok"})
