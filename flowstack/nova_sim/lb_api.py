"""A Load-balancer API v2 (Octavia) subset: load balancers, pools and members.

Served at ``/load-balancer`` (the catalog's ``load-balancer`` endpoint, as
DevStack lays it out), so openstacksdk's ``load_balancer`` proxy talks to it
with ``load_balancer_endpoint_override=sim.lb_endpoint``. Routes, below the
prefix, with ``/v2.0`` accepted for ``/v2``::

    GET                /                                  version discovery
    GET                /v2                                the v2 version document
    GET POST           /v2/lbaas/loadbalancers            (DELETE takes ?cascade=true)
    GET PUT DELETE     /v2/lbaas/loadbalancers/{id}
    GET POST           /v2/lbaas/pools                    (create with loadbalancer_id)
    GET PUT DELETE     /v2/lbaas/pools/{id}
    GET POST           /v2/lbaas/pools/{pool_id}/members
    GET PUT DELETE     /v2/lbaas/pools/{pool_id}/members/{id}

Bodies are wrapped as Octavia wraps them (``{"member": {...}}``, lists as
``{"members": [...], "members_links": []}``); lists take attribute filters
(``?address=10.0.0.5``), tag filters, ``fields``, ``limit`` and ``marker``.
Errors are Octavia's (WSME) body ``{"faultcode", "faultstring", "debuginfo"}``.
Listeners, health monitors and L7 policies are not simulated.
"""

from __future__ import annotations

from typing import Any

from flowstack.nova_sim import lb_validation as check
from flowstack.nova_sim.config import SimulatorConfig
from flowstack.nova_sim.context import context_for
from flowstack.nova_sim.lb_core import LbError
from flowstack.nova_sim.lb_ops import LbOperations
from flowstack.nova_sim.model import RequestContext
from flowstack.nova_sim.routing import MalformedBody, Request, Response, Router
from flowstack.nova_sim.state import CloudState

LB_PREFIX = "/load-balancer"
_V2 = r"/v2(?:\.0)?"
_LBAAS = _V2 + "/lbaas"
_ID = r"(?P<{}>[^/]+)"


def octavia_error(status: int, message: str) -> Response:
    """How Octavia (WSME) renders an error."""
    code = "Server" if status >= 500 else "Client"
    return Response(status, {"faultcode": code, "faultstring": message, "debuginfo": None})


class LbApi:
    def __init__(self, state: CloudState, config: SimulatorConfig) -> None:
        self.config = config
        self.ops = LbOperations(state)
        r = self.router = Router()
        r.add(r"/?", GET=self.versions)
        r.add(_V2 + "/?", GET=self.version)
        r.add(_LBAAS + "/loadbalancers/?", GET=self.list_lbs, POST=self.create_lb)
        lb = _LBAAS + "/loadbalancers/" + _ID.format("lb_id")
        r.add(lb, GET=self.show_lb, PUT=self.update_lb, DELETE=self.delete_lb)
        r.add(_LBAAS + "/pools/?", GET=self.list_pools, POST=self.create_pool)
        pool = _LBAAS + "/pools/" + _ID.format("pool_id")
        r.add(pool, GET=self.show_pool, PUT=self.update_pool, DELETE=self.delete_pool)
        r.add(pool + "/members/?", GET=self.list_members, POST=self.create_member)
        member = pool + "/members/" + _ID.format("member_id")
        r.add(member, GET=self.show_member, PUT=self.update_member, DELETE=self.delete_member)

    def handle(self, request: Request, route_path: str) -> Response:
        handler, args, known = self.router.match(request.method, route_path)
        ctx = context_for(request, self.config)
        if handler is None and known:
            response = octavia_error(405, "The method specified is not allowed.")
        elif handler is None:
            response = octavia_error(404, "The resource could not be found.")
        else:
            try:
                response = handler(request, ctx, **args)
            except LbError as exc:
                response = octavia_error(exc.status, exc.message)
            except MalformedBody:
                response = octavia_error(400, "Malformed request body")
        response.headers.append(("x-openstack-request-id", ctx.request_id))
        return response

    # -- discovery ------------------------------------------------------------
    def _v2_entry(self, request: Request) -> dict[str, Any]:
        return {
            "id": "v2.0",
            "status": "CURRENT",
            "updated": "2024-01-01T00:00:00Z",
            "links": [{"rel": "self", "href": f"{request.base_url}{LB_PREFIX}/v2"}],
        }

    def versions(self, request: Request, ctx: RequestContext) -> Response:
        return Response(200, {"versions": [self._v2_entry(request)]})

    def version(self, request: Request, ctx: RequestContext) -> Response:
        return Response(200, {"version": self._v2_entry(request)})

    # -- helpers --------------------------------------------------------------
    def _list(
        self, request: Request, items: list[dict[str, Any]], key: str, **aliases: str
    ) -> Response:
        items = check.filter_views(items, request.query, aliases)
        url = f"{request.base_url}{request.path}"
        return Response(200, check.page(items, request.query, url, key))

    # -- load balancers -------------------------------------------------------
    def create_lb(self, request: Request, ctx: RequestContext) -> Response:
        fields = check.body(request.json(), "loadbalancer", check.LOADBALANCER_CREATE)
        if not any(fields.get(k) for k in ("vip_subnet_id", "vip_network_id", "vip_port_id")):
            raise LbError(
                400,
                "Validation failure: VIP must contain one of: "
                "vip_port_id, vip_network_id, vip_subnet_id.",
            )
        view = self.ops.create_loadbalancer(ctx, fields)
        return Response(201, {"loadbalancer": view})

    def list_lbs(self, request: Request, ctx: RequestContext) -> Response:
        return self._list(request, self.ops.list_loadbalancers(ctx), "loadbalancers")

    def show_lb(self, request: Request, ctx: RequestContext, lb_id: str) -> Response:
        return Response(200, {"loadbalancer": self.ops.get_loadbalancer(ctx, lb_id)})

    def update_lb(self, request: Request, ctx: RequestContext, lb_id: str) -> Response:
        changes = check.body(request.json(), "loadbalancer", check.LOADBALANCER_UPDATE)
        view = self.ops.update_loadbalancer(ctx, lb_id, changes)
        return Response(200, {"loadbalancer": view})

    def delete_lb(self, request: Request, ctx: RequestContext, lb_id: str) -> Response:
        cascade = (request.param("cascade") or "").lower() in ("1", "true", "yes")
        self.ops.delete_loadbalancer(ctx, lb_id, cascade)
        return Response(204)

    # -- pools ----------------------------------------------------------------
    def create_pool(self, request: Request, ctx: RequestContext) -> Response:
        fields = check.body(request.json(), "pool", check.POOL_CREATE, check.REQUIRED["pool"])
        return Response(201, {"pool": self.ops.create_pool(ctx, fields)})

    def list_pools(self, request: Request, ctx: RequestContext) -> Response:
        pools = self.ops.list_pools(ctx)
        return self._list(request, pools, "pools", loadbalancer_id="loadbalancers")

    def show_pool(self, request: Request, ctx: RequestContext, pool_id: str) -> Response:
        return Response(200, {"pool": self.ops.get_pool(ctx, pool_id)})

    def update_pool(self, request: Request, ctx: RequestContext, pool_id: str) -> Response:
        changes = check.body(request.json(), "pool", check.POOL_UPDATE)
        return Response(200, {"pool": self.ops.update_pool(ctx, pool_id, changes)})

    def delete_pool(self, request: Request, ctx: RequestContext, pool_id: str) -> Response:
        self.ops.delete_pool(ctx, pool_id)
        return Response(204)

    # -- members --------------------------------------------------------------
    def create_member(self, request: Request, ctx: RequestContext, pool_id: str) -> Response:
        required = check.REQUIRED["member"]
        fields = check.body(request.json(), "member", check.MEMBER_CREATE, required)
        view = self.ops.members.create_member(ctx, pool_id, fields)
        return Response(201, {"member": view})

    def list_members(self, request: Request, ctx: RequestContext, pool_id: str) -> Response:
        members = self.ops.members.list_members(ctx, pool_id)
        return self._list(request, members, "members")

    def show_member(
        self, request: Request, ctx: RequestContext, pool_id: str, member_id: str
    ) -> Response:
        view = self.ops.members.get_member(ctx, pool_id, member_id)
        return Response(200, {"member": view})

    def update_member(
        self, request: Request, ctx: RequestContext, pool_id: str, member_id: str
    ) -> Response:
        changes = check.body(request.json(), "member", check.MEMBER_UPDATE)
        view = self.ops.members.update_member(ctx, pool_id, member_id, changes)
        return Response(200, {"member": view})

    def delete_member(
        self, request: Request, ctx: RequestContext, pool_id: str, member_id: str
    ) -> Response:
        self.ops.members.delete_member(ctx, pool_id, member_id)
        return Response(204)
