"""JSON shapes of the Octavia subset: what the API answers and what the admin endpoint shows.

The API shapes carry the attributes Octavia v2 returns (openstacksdk maps
them onto its resources); the admin shapes add the simulator's bookkeeping
(``live``, epoch timestamps, nested pools and members) for tests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flowstack.nova_sim.lb_model import (
    DELETED,
    ERROR,
    PENDING_CREATE,
    LbObject,
    LbStore,
    LoadBalancerRecord,
    MemberRecord,
    PoolRecord,
)


def stamp(at: float | None) -> str | None:
    """Octavia's timestamp form (UTC, seconds, no zone suffix)."""
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def operating_status(obj: LbObject, now: float) -> str:
    """What Octavia reports without health monitors: ONLINE once provisioned."""
    status = obj.provisioning_status(now)
    if status == ERROR:
        return ERROR
    if status == PENDING_CREATE:
        return "NO_MONITOR" if isinstance(obj, MemberRecord) else "OFFLINE"
    if status == DELETED or not obj.admin_state_up:
        return "OFFLINE"
    return "ONLINE"


def _common(obj: LbObject, now: float) -> dict[str, Any]:
    return {
        "id": obj.id,
        "name": obj.name,
        "description": obj.description,
        "project_id": obj.project_id,
        "provisioning_status": obj.provisioning_status(now),
        "operating_status": operating_status(obj, now),
        "admin_state_up": obj.admin_state_up,
        "tags": list(obj.tags),
        "created_at": stamp(obj.created_at),
        "updated_at": stamp(obj.updated_at),
    }


def _live_ids(ids: list[str], table: dict[str, Any], now: float) -> list[dict[str, str]]:
    return [{"id": i} for i in ids if i in table and not table[i].gone(now)]


def loadbalancer_view(lb: LoadBalancerRecord, store: LbStore, now: float) -> dict[str, Any]:
    return {
        **_common(lb, now),
        "vip_address": lb.vip_address,
        "vip_port_id": lb.vip_port_id,
        "vip_subnet_id": lb.vip_subnet_id,
        "vip_network_id": lb.vip_network_id,
        "vip_qos_policy_id": None,
        "vip_vnic_type": "normal",
        "additional_vips": [],
        "provider": lb.provider,
        "flavor_id": lb.flavor_id,
        "availability_zone": lb.availability_zone,
        "listeners": [],
        "pools": _live_ids(lb.pool_ids, store.pools, now),
    }


def pool_view(pool: PoolRecord, store: LbStore, now: float) -> dict[str, Any]:
    return {
        **_common(pool, now),
        "protocol": pool.protocol,
        "lb_algorithm": pool.lb_algorithm,
        "session_persistence": pool.session_persistence,
        "loadbalancers": [{"id": pool.loadbalancer_id}],
        "listeners": [],
        "members": _live_ids(pool.member_ids, store.members, now),
        "healthmonitor_id": None,
        "tls_enabled": pool.tls_enabled,
        "tls_container_ref": None,
        "ca_tls_container_ref": None,
        "crl_container_ref": None,
        "tls_ciphers": None,
        "tls_versions": None,
        "alpn_protocols": None,
    }


def member_view(member: MemberRecord, now: float) -> dict[str, Any]:
    view = _common(member, now)
    del view["description"]
    return {
        **view,
        "address": member.address,
        "protocol_port": member.protocol_port,
        "weight": member.weight,
        "subnet_id": member.subnet_id,
        "monitor_address": member.monitor_address,
        "monitor_port": member.monitor_port,
        "backup": member.backup,
        "vnic_type": "normal",
    }


def _admin_extra(obj: LbObject, now: float) -> dict[str, Any]:
    return {
        "live": not obj.gone(now),
        "created_at": obj.created_at,
        "updated_at": obj.updated_at,
        "settles_at": obj.settles_at,
    }


def admin_member(member: MemberRecord, now: float) -> dict[str, Any]:
    return {**member_view(member, now), "pool_id": member.pool_id, **_admin_extra(member, now)}


def admin_pool(pool: PoolRecord, store: LbStore, now: float) -> dict[str, Any]:
    """A pool with every member ever added (``live`` tells which still exist)."""
    members = [admin_member(store.members[i], now) for i in pool.member_ids if i in store.members]
    return {
        **pool_view(pool, store, now),
        "loadbalancer_id": pool.loadbalancer_id,
        **_admin_extra(pool, now),
        "members": members,
    }


def admin_loadbalancer(lb: LoadBalancerRecord, store: LbStore, now: float) -> dict[str, Any]:
    """A load balancer with its pools and their members nested."""
    pools = [admin_pool(store.pools[i], store, now) for i in lb.pool_ids if i in store.pools]
    return {**loadbalancer_view(lb, store, now), **_admin_extra(lb, now), "pools": pools}
