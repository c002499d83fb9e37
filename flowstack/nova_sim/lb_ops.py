"""Load balancers and pools of the Octavia subset, and the shared event timeline.

Each public method runs in one :meth:`CloudState.writing` (or ``reading``)
block and returns rendered views, so a caller never sees a half-made change;
the rules are :mod:`.lb_core`'s. Members are :mod:`.lb_members`' (``ops.members``).
"""

from __future__ import annotations

import uuid
from typing import Any

from flowstack.nova_sim import lb_views as views
from flowstack.nova_sim.faults import LbSubject
from flowstack.nova_sim.lb_core import LbCore, LbError, apply_changes, not_found
from flowstack.nova_sim.lb_members import MemberOperations
from flowstack.nova_sim.lb_model import (
    DELETED,
    ERROR,
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_UPDATE,
    LoadBalancerRecord,
    PoolRecord,
)
from flowstack.nova_sim.model import RequestContext
from flowstack.nova_sim.state import CloudState


class LbOperations(LbCore):
    """Load balancers and pools; ``members`` handles the members below them."""

    def __init__(self, state: CloudState) -> None:
        super().__init__(state)
        self.members = MemberOperations(state)

    # -- load balancers -------------------------------------------------------
    def _vip(self, fields: dict[str, Any], now: float) -> tuple[str, str | None, str | None]:
        """(vip_address, vip_subnet_id, vip_network_id) for a new load balancer."""
        subnets = self._subnets()
        wanted_subnet, wanted_network = fields.get("vip_subnet_id"), fields.get("vip_network_id")
        if fields.get("vip_port_id"):
            raise LbError(400, f"Port {fields['vip_port_id']} not found.")
        if wanted_subnet is not None and wanted_subnet not in subnets:
            raise LbError(400, f"Subnet {wanted_subnet} not found.")
        if wanted_subnet is None:
            matches = [sid for sid, (net, _c) in subnets.items() if net == wanted_network]
            if not matches:
                raise LbError(400, f"Network {wanted_network} not found.")
            wanted_subnet = matches[0]
        network_id, cidr = subnets[wanted_subnet]
        address = fields.get("vip_address")
        if address is None:
            taken = {lb.vip_address for lb in self.store.loadbalancers.values() if not lb.gone(now)}
            top = cidr.broadcast_address
            free = (str(top - n) for n in range(1, cidr.num_addresses - 3))
            address = next((a for a in free if a not in taken), None)
            if address is None:
                raise LbError(409, f"No more IP addresses available on network {network_id}.")
        return address, wanted_subnet, network_id

    def create_loadbalancer(
        self, ctx: RequestContext, fields: dict[str, Any], *, settled: bool = False
    ) -> dict[str, Any]:
        """A new load balancer: PENDING_CREATE for ``lb_provision_delay`` (0 if ``settled``)."""
        with self.state.writing() as now:
            address, vip_subnet, vip_network = self._vip(fields, now)
            name = fields.get("name") or ""
            subject = LbSubject("loadbalancer", "create", name, address)
            lb = LoadBalancerRecord(
                id=str(uuid.uuid4()),
                project_id=fields.get("project_id") or ctx.project_id,
                created_at=now,
                name=name,
                description=fields.get("description") or "",
                admin_state_up=fields.get("admin_state_up", True),
                tags=list(fields.get("tags") or []),
                vip_address=address,
                vip_subnet_id=vip_subnet,
                vip_network_id=vip_network,
                vip_port_id=str(uuid.uuid4()),
                provider=fields.get("provider") or "amphora",
                flavor_id=fields.get("flavor_id"),
                availability_zone=fields.get("availability_zone"),
            )
            delay = 0.0 if settled else self.state.lb_provision_delay
            lb.begin(PENDING_CREATE, now, delay, self._outcome(subject))
            self.store.loadbalancers[lb.id] = lb
            self.log(
                now,
                "loadbalancer",
                "loadbalancer-create",
                loadbalancer_id=lb.id,
                name=lb.name,
                vip_address=address,
                outcome=lb.outcome,
                completes_at=lb.settles_at,
                request_id=ctx.request_id,
            )
            return views.loadbalancer_view(lb, self.store, now)

    def list_loadbalancers(self, ctx: RequestContext) -> list[dict[str, Any]]:
        with self.state.reading() as now:
            return [
                views.loadbalancer_view(lb, self.store, now)
                for lb in self.store.loadbalancers.values()
                if self._find(ctx, self.store.loadbalancers, lb.id, now) is not None
            ]

    def get_loadbalancer(self, ctx: RequestContext, lb_id: str) -> dict[str, Any]:
        with self.state.reading() as now:
            return views.loadbalancer_view(self._loadbalancer(ctx, lb_id, now), self.store, now)

    def update_loadbalancer(
        self, ctx: RequestContext, lb_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        with self.state.writing() as now:
            lb = self._loadbalancer(ctx, lb_id, now)
            subject = LbSubject("loadbalancer", "update", lb.name, lb.vip_address)
            self._check_mutable(lb, now, subject)
            diff = apply_changes(lb, changes, now)
            lb.begin(PENDING_UPDATE, now, self.state.lb_update_delay, self._outcome(subject))
            self.log(
                now,
                "loadbalancer",
                "loadbalancer-update",
                loadbalancer_id=lb.id,
                changes=diff,
                outcome=lb.outcome,
                completes_at=lb.settles_at,
                request_id=ctx.request_id,
            )
            return views.loadbalancer_view(lb, self.store, now)

    def delete_loadbalancer(self, ctx: RequestContext, lb_id: str, cascade: bool) -> None:
        with self.state.writing() as now:
            lb = self._loadbalancer(ctx, lb_id, now)
            subject = LbSubject("loadbalancer", "delete", lb.name, lb.vip_address)
            self._check_mutable(lb, now, subject)
            pools = [p for i in lb.pool_ids if (p := self.store.pools.get(i)) and not p.gone(now)]
            if pools and not cascade:
                raise LbError(400, f"Cannot delete Load Balancer {lb.id} - it has children")
            delay = self.state.lb_provision_delay
            for pool in pools:
                for member_id in pool.member_ids:
                    member = self.store.members.get(member_id)
                    if member is not None and not member.gone(now):
                        member.begin(PENDING_DELETE, now, delay, DELETED)
                pool.begin(PENDING_DELETE, now, delay, DELETED)
            lb.begin(PENDING_DELETE, now, delay, self._outcome(subject))
            self.log(
                now,
                "loadbalancer",
                "loadbalancer-delete",
                loadbalancer_id=lb.id,
                cascade=cascade,
                outcome=lb.outcome,
                completes_at=lb.settles_at,
                request_id=ctx.request_id,
            )

    def fail_loadbalancer(self, lb_id: str, message: str) -> None:
        """Put a load balancer into ERROR now (an amphora failure, for tests)."""
        with self.state.writing() as now:
            lb = self.store.loadbalancers.get(lb_id)
            if lb is None or lb.gone(now):
                raise KeyError(lb_id)
            lb.pending, lb.settles_at, lb.outcome = None, now, ERROR
            self.log(
                now, "loadbalancer", "loadbalancer-failed", loadbalancer_id=lb.id, message=message
            )

    # -- pools ----------------------------------------------------------------
    def create_pool(
        self, ctx: RequestContext, fields: dict[str, Any], *, settled: bool = False
    ) -> dict[str, Any]:
        with self.state.writing() as now:
            if fields.get("listener_id") and not fields.get("loadbalancer_id"):
                raise not_found("Listener", fields["listener_id"])
            if not fields.get("loadbalancer_id"):
                raise LbError(
                    400, "Validation failure: loadbalancer_id or listener_id is required."
                )
            lb = self._loadbalancer(ctx, fields["loadbalancer_id"], now)
            name = fields.get("name") or ""
            subject = LbSubject("pool", "create", name)
            self._check_mutable(lb, now, subject)
            pool = PoolRecord(
                id=str(uuid.uuid4()),
                project_id=lb.project_id,
                created_at=now,
                name=name,
                description=fields.get("description") or "",
                admin_state_up=fields.get("admin_state_up", True),
                tags=list(fields.get("tags") or []),
                loadbalancer_id=lb.id,
                protocol=fields["protocol"],
                lb_algorithm=fields["lb_algorithm"],
                session_persistence=fields.get("session_persistence"),
                tls_enabled=fields.get("tls_enabled", False),
            )
            delay = 0.0 if settled else self.state.lb_update_delay
            pool.begin(PENDING_CREATE, now, delay, self._outcome(subject))
            if not settled:
                self._touch([lb], now)
            self.store.pools[pool.id] = pool
            lb.pool_ids.append(pool.id)
            self.log(
                now,
                "pool",
                "pool-create",
                loadbalancer_id=lb.id,
                pool_id=pool.id,
                name=pool.name,
                outcome=pool.outcome,
                completes_at=pool.settles_at,
                request_id=ctx.request_id,
            )
            return views.pool_view(pool, self.store, now)

    def list_pools(self, ctx: RequestContext) -> list[dict[str, Any]]:
        with self.state.reading() as now:
            return [
                views.pool_view(pool, self.store, now)
                for pool in self.store.pools.values()
                if self._find(ctx, self.store.pools, pool.id, now) is not None
            ]

    def get_pool(self, ctx: RequestContext, pool_id: str) -> dict[str, Any]:
        with self.state.reading() as now:
            return views.pool_view(self._pool(ctx, pool_id, now), self.store, now)

    def update_pool(
        self, ctx: RequestContext, pool_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        with self.state.writing() as now:
            pool = self._pool(ctx, pool_id, now)
            lb = self._loadbalancer(None, pool.loadbalancer_id, now)
            subject = LbSubject("pool", "update", pool.name)
            self._check_mutable(lb, now, subject)
            diff = apply_changes(pool, changes, now)
            pool.begin(PENDING_UPDATE, now, self.state.lb_update_delay, self._outcome(subject))
            self._touch([lb], now)
            self.log(
                now,
                "pool",
                "pool-update",
                loadbalancer_id=lb.id,
                pool_id=pool.id,
                changes=diff,
                outcome=pool.outcome,
                completes_at=pool.settles_at,
                request_id=ctx.request_id,
            )
            return views.pool_view(pool, self.store, now)

    def delete_pool(self, ctx: RequestContext, pool_id: str) -> None:
        with self.state.writing() as now:
            pool = self._pool(ctx, pool_id, now)
            lb = self._loadbalancer(None, pool.loadbalancer_id, now)
            subject = LbSubject("pool", "delete", pool.name)
            self._check_mutable(lb, now, subject)
            delay = self.state.lb_update_delay
            for member_id in pool.member_ids:
                member = self.store.members.get(member_id)
                if member is not None and not member.gone(now):
                    member.begin(PENDING_DELETE, now, delay, DELETED)
            pool.begin(PENDING_DELETE, now, delay, self._outcome(subject))
            self._touch([lb], now)
            self.log(
                now,
                "pool",
                "pool-delete",
                loadbalancer_id=lb.id,
                pool_id=pool.id,
                outcome=pool.outcome,
                completes_at=pool.settles_at,
                request_id=ctx.request_id,
            )

    # -- the shared timeline --------------------------------------------------
    def record_server_delete(self, server_id: str, request_id: str | None) -> None:
        """Log a compute API server delete in the same sequence as the LB events."""
        with self.state.writing() as now:
            record = self.state.servers.get(server_id)
            name = record.name if record is not None else None
            self.log(
                now,
                "server",
                "server-delete",
                server_id=server_id,
                name=name,
                request_id=request_id,
            )
