"""Pool members of the Octavia subset: create, list, show, update, delete.

Each public method runs in one :meth:`CloudState.writing` (or ``reading``)
block and returns rendered views; the rules are :mod:`.lb_core`'s. Every change
is logged with the member's address, port, weight and admin state, so a test
can replay what the load balancer was told, in order.
"""

from __future__ import annotations

import uuid
from typing import Any

from flowstack.nova_sim import lb_views as views
from flowstack.nova_sim.faults import LbSubject
from flowstack.nova_sim.lb_core import LbCore, LbError, apply_changes
from flowstack.nova_sim.lb_model import (
    PENDING_CREATE,
    PENDING_DELETE,
    PENDING_UPDATE,
    MemberRecord,
)
from flowstack.nova_sim.model import RequestContext


class MemberOperations(LbCore):
    """What the API does to members (``/v2/lbaas/pools/{pool_id}/members``)."""

    def _member_event(
        self, now: float, event: str, ctx: RequestContext, member: MemberRecord, **extra: Any
    ) -> None:
        pool = self.store.pools[member.pool_id]
        self.log(
            now,
            "member",
            event,
            loadbalancer_id=pool.loadbalancer_id,
            pool_id=pool.id,
            member_id=member.id,
            name=member.name,
            address=member.address,
            protocol_port=member.protocol_port,
            weight=member.weight,
            admin_state_up=member.admin_state_up,
            **extra,
            outcome=member.outcome,
            completes_at=member.settles_at,
            request_id=ctx.request_id,
        )

    def create_member(
        self, ctx: RequestContext, pool_id: str, fields: dict[str, Any], *, settled: bool = False
    ) -> dict[str, Any]:
        with self.state.writing() as now:
            pool = self._pool(ctx, pool_id, now)
            lb = self._loadbalancer(None, pool.loadbalancer_id, now)
            name, address = fields.get("name") or "", fields["address"]
            subject = LbSubject("member", "create", name, address)
            self._check_mutable(lb, now, subject)
            port = fields["protocol_port"]
            for other_id in pool.member_ids:
                other = self.store.members.get(other_id)
                if (
                    other
                    and not other.gone(now)
                    and (other.address, other.protocol_port)
                    == (
                        address,
                        port,
                    )
                ):
                    raise LbError(
                        409,
                        f"Another member on this pool is already using ip {address} "
                        f"on protocol_port {port}",
                    )
            wanted_subnet = fields.get("subnet_id")
            if wanted_subnet is not None and wanted_subnet not in self._subnets():
                raise LbError(400, f"Subnet {wanted_subnet} not found.")
            member = MemberRecord(
                id=str(uuid.uuid4()),
                project_id=pool.project_id,
                created_at=now,
                name=name,
                admin_state_up=fields.get("admin_state_up", True),
                tags=list(fields.get("tags") or []),
                pool_id=pool.id,
                address=address,
                protocol_port=port,
                weight=fields.get("weight", 1),
                subnet_id=wanted_subnet,
                monitor_address=fields.get("monitor_address"),
                monitor_port=fields.get("monitor_port"),
                backup=fields.get("backup", False),
            )
            delay = 0.0 if settled else self.state.lb_update_delay
            member.begin(PENDING_CREATE, now, delay, self._outcome(subject))
            if not settled:
                self._touch([pool, lb], now)
            self.store.members[member.id] = member
            pool.member_ids.append(member.id)
            self._member_event(now, "member-create", ctx, member)
            return views.member_view(member, now)

    def list_members(self, ctx: RequestContext, pool_id: str) -> list[dict[str, Any]]:
        with self.state.reading() as now:
            pool = self._pool(ctx, pool_id, now)
            found = (self.store.members.get(i) for i in pool.member_ids)
            return [views.member_view(m, now) for m in found if m and not m.gone(now)]

    def get_member(self, ctx: RequestContext, pool_id: str, member_id: str) -> dict[str, Any]:
        with self.state.reading() as now:
            pool = self._pool(ctx, pool_id, now)
            return views.member_view(self._member(ctx, pool, member_id, now), now)

    def update_member(
        self, ctx: RequestContext, pool_id: str, member_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        with self.state.writing() as now:
            pool = self._pool(ctx, pool_id, now)
            member = self._member(ctx, pool, member_id, now)
            lb = self._loadbalancer(None, pool.loadbalancer_id, now)
            subject = LbSubject("member", "update", member.name, member.address)
            self._check_mutable(lb, now, subject)
            diff = apply_changes(member, changes, now)
            member.begin(PENDING_UPDATE, now, self.state.lb_update_delay, self._outcome(subject))
            self._touch([pool, lb], now)
            self._member_event(now, "member-update", ctx, member, changes=diff)
            return views.member_view(member, now)

    def delete_member(self, ctx: RequestContext, pool_id: str, member_id: str) -> None:
        with self.state.writing() as now:
            pool = self._pool(ctx, pool_id, now)
            member = self._member(ctx, pool, member_id, now)
            lb = self._loadbalancer(None, pool.loadbalancer_id, now)
            subject = LbSubject("member", "delete", member.name, member.address)
            self._check_mutable(lb, now, subject)
            member.begin(PENDING_DELETE, now, self.state.lb_update_delay, self._outcome(subject))
            self._touch([pool, lb], now)
            self._member_event(now, "member-delete", ctx, member)
