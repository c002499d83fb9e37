"""The load-balancer side of the admin view: records, members, events, quick setup.

Shared by ``/_admin`` (:mod:`.admin_api`) and :class:`~.server.NovaSimulator`,
so a test sees the same documents over HTTP and in process.
"""

from __future__ import annotations

from typing import Any

from flowstack.nova_sim import lb_validation as check
from flowstack.nova_sim import lb_views as views
from flowstack.nova_sim.context import new_request_id
from flowstack.nova_sim.lb_core import LbError
from flowstack.nova_sim.lb_ops import LbOperations
from flowstack.nova_sim.model import RequestContext

#: event keys a query may filter on (``seq`` is compared as ``after``).
EVENT_FILTERS = ("kind", "event", "loadbalancer_id", "pool_id", "member_id", "server_id")


def loadbalancers(ops: LbOperations, live_only: bool = False) -> list[dict[str, Any]]:
    """Every load balancer ever created (oldest first), pools and members nested."""
    with ops.state.reading() as now:
        store = ops.store
        found = sorted(store.loadbalancers.values(), key=lambda lb: lb.created_at)
        return [
            views.admin_loadbalancer(lb, store, now)
            for lb in found
            if not (live_only and lb.gone(now))
        ]


def loadbalancer(ops: LbOperations, lb_id: str) -> dict[str, Any]:
    with ops.state.reading() as now:
        lb = ops.store.loadbalancers.get(lb_id)
        if lb is None:
            raise KeyError(lb_id)
        return views.admin_loadbalancer(lb, ops.store, now)


def pool_members(ops: LbOperations, pool_id: str, live_only: bool = True) -> list[dict[str, Any]]:
    """A pool's members in creation order (by default only those that still exist)."""
    with ops.state.reading() as now:
        pool = ops.store.pools.get(pool_id)
        if pool is None:
            raise KeyError(pool_id)
        members = [views.admin_member(ops.store.members[i], now) for i in pool.member_ids]
        return [m for m in members if m["live"] or not live_only]


def events(ops: LbOperations, after: int = 0, **filters: str) -> list[dict[str, Any]]:
    """The event log in sequence order; ``filters`` are exact matches on event keys."""
    unknown = sorted(set(filters) - set(EVENT_FILTERS))
    if unknown:
        raise ValueError(f"unknown event filter(s): {', '.join(unknown)}")
    with ops.state.reading():
        return [
            dict(e)
            for e in ops.store.events
            if e["seq"] > after and all(e.get(k) == v for k, v in filters.items())
        ]


def quick_create(ops: LbOperations, spec: dict[str, Any], project_id: str) -> dict[str, Any]:
    """A load balancer with pools (and members in its first pool) in one call.

    ``spec``: load-balancer attributes plus ``pools`` (default: one HTTP
    ROUND_ROBIN pool named ``<name>-pool``), ``members`` and ``settled``
    (default true: everything ACTIVE at once, no PENDING_*; false: the load
    balancer alone, in PENDING_CREATE as after the API's POST). Attributes are
    checked as the API checks them; the event log records every creation.
    """
    spec = dict(spec)
    pools = spec.pop("pools", None)
    members = spec.pop("members", None) or []
    settled = bool(spec.pop("settled", True))
    spec.setdefault("name", "lb")
    if not any(spec.get(k) for k in ("vip_subnet_id", "vip_network_id", "vip_port_id")):
        spec["vip_network_id"] = next(iter(ops.state.networks.values())).id
    if pools is None:
        default = {
            "name": f"{spec['name']}-pool",
            "protocol": "HTTP",
            "lb_algorithm": "ROUND_ROBIN",
        }
        pools = [default] if settled else []
    if (pools or members) and not settled:
        raise LbError(400, "pools and members need a settled load balancer (settled: true)")
    fields = check.body({"loadbalancer": spec}, "loadbalancer", check.LOADBALANCER_CREATE)
    pool_fields = [
        check.body({"pool": p}, "pool", check.POOL_CREATE, check.REQUIRED["pool"]) for p in pools
    ]
    member_fields = [
        check.body({"member": m}, "member", check.MEMBER_CREATE, check.REQUIRED["member"])
        for m in members
    ]
    if member_fields and not pool_fields:
        raise LbError(400, "members need a pool")
    ctx = RequestContext(project_id, project_id, new_request_id(), is_admin=True)
    lb = ops.create_loadbalancer(ctx, fields, settled=settled)
    pool_ids = [
        ops.create_pool(ctx, {**p, "loadbalancer_id": lb["id"]}, settled=True)["id"]
        for p in pool_fields
    ]
    for member in member_fields:
        ops.members.create_member(ctx, pool_ids[0], member, settled=True)
    return loadbalancer(ops, lb["id"])
