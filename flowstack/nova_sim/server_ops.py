"""Server operations on the simulated cloud: create, list, show, delete, update.

Each public method runs inside one :meth:`CloudState.reading` or
:meth:`CloudState.writing` block, so it sees and leaves a consistent state and,
with a state file, reads other processes' changes first and saves its own.
Creation decides everything up front — build delay, injected build fault,
addresses — and the status is derived later (:mod:`.lifecycle`).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from flowstack.nova_sim import errors
from flowstack.nova_sim.config import FlavorSpec, NetworkSpec
from flowstack.nova_sim.faults import (
    DEFAULT_API_MESSAGES,
    DEFAULT_DELETE_ASYNC_MESSAGE,
    BuildErrorRule,
    DeleteErrorRule,
    Subject,
)
from flowstack.nova_sim.lifecycle import ServerRecord, observe, settle_failed_delete
from flowstack.nova_sim.model import CreateRequest, RequestContext, ServerView
from flowstack.nova_sim.network import mac_address
from flowstack.nova_sim.state import CloudState
from flowstack.nova_sim.validation import sanitize_hostname

MULTI_NAME_TEMPLATE = "{name}-{count}"


class ServerOperations:
    """What the Compute API does to servers, over one shared :class:`CloudState`."""

    def __init__(self, state: CloudState) -> None:
        self.state = state

    def _holds_ports(self, now: float) -> Callable[[str], bool]:
        def holds(server_id: str) -> bool:
            record = self.state.servers.get(server_id)
            return record is not None and observe(record, now).holds_ports

        return holds

    def _visible(self, ctx: RequestContext, record: ServerRecord, all_tenants: bool) -> bool:
        return (all_tenants and ctx.is_admin) or record.project_id == ctx.project_id

    def get_server(self, ctx: RequestContext, server_id: str, now: float) -> ServerView:
        record = self.state.servers.get(server_id)
        if record is None or not self._visible(ctx, record, all_tenants=True):
            raise errors.ServerNotFound(server_id)
        seen = observe(record, now)
        if seen.gone:
            raise errors.ServerNotFound(server_id)
        return ServerView(record, seen)

    # -- servers --------------------------------------------------------------
    def _check_quota(
        self, ctx: RequestContext, flavor: FlavorSpec, req: CreateRequest, now: float
    ) -> int:
        """How many of ``min_count..max_count`` servers fit; raises QuotaExceeded if none."""
        limits = self.state.faults.quota
        if limits.instances is None and limits.cores is None and limits.ram is None:
            return req.max_count
        used = self.state.usage(ctx.project_id, now)
        per = {"instances": 1, "cores": flavor.vcpus, "ram": flavor.ram}
        limit = {"instances": limits.instances, "cores": limits.cores, "ram": limits.ram}
        allowed = req.max_count
        for resource, cap in limit.items():
            if cap is not None and per[resource]:
                allowed = min(allowed, max(0, cap - used[resource]) // per[resource])
        if allowed >= req.min_count:
            return allowed
        overs = [
            r
            for r, cap in limit.items()
            if cap is not None and used[r] + per[r] * req.max_count > cap
        ]
        resource = overs[0] if overs else "instances"
        if resource == "instances":
            requested: Any = (
                req.min_count
                if req.min_count == req.max_count
                else f"{req.min_count}-{req.max_count}"
            )
        else:
            requested = per[resource] * req.max_count
        raise errors.QuotaExceeded(resource, requested, used[resource], limit[resource] or 0)

    def _resolve_networks(self, req: CreateRequest) -> list[tuple[NetworkSpec, str | None]]:
        if req.networks == "none":
            return []
        if req.networks == "auto":
            specs = list(self.state.networks.values())
            if len(specs) > 1:
                raise errors.NetworkAmbiguous()
            return [(spec, None) for spec in specs]
        by_id = {spec.id: spec for spec in self.state.networks.values()}
        resolved = []
        requested = req.networks if isinstance(req.networks, list) else []
        for item in requested:
            if item.get("port"):
                raise errors.BadRequest(f"Port {item['port']} could not be found.")
            spec = by_id.get(item.get("uuid", ""))
            if spec is None:
                raise errors.NetworkNotFound(item.get("uuid", ""))
            resolved.append((spec, item.get("fixed_ip")))
        return resolved

    def create_servers(
        self, ctx: RequestContext, req: CreateRequest
    ) -> tuple[list[ServerRecord], str]:
        """Create ``min_count..max_count`` servers; returns them and the reservation id."""
        with self.state.writing() as now:
            flavor = self.state.flavor(req.flavor_id)
            image = self.state.image(req.image_id)
            if image.status != "active":
                raise errors.ImageNotFound(req.image_id)
            key = (
                None if req.key_name is None else self.state.keypair_key(ctx.user_id, req.key_name)
            )
            if key is not None and key not in self.state.keypairs:
                raise errors.KeypairNotFound(req.key_name or "", ctx.user_id)
            if req.availability_zone not in (None, self.state.config.availability_zone):
                raise errors.InvalidAvailabilityZone()
            networks = self._resolve_networks(req)
            count = self._check_quota(ctx, flavor, req, now)
            holds = self._holds_ports(now)
            for spec, fixed_ip in networks:
                if fixed_ip is None:
                    continue
                if count > 1:
                    raise errors.BadRequest(
                        "max_count cannot be greater than 1 if an fixed_ip is specified."
                    )
                owner = self.state.ipam[spec.name].owners.get(fixed_ip)
                if owner is not None and holds(owner):
                    raise errors.FixedIpUnavailable(fixed_ip)
            reservation_id = "r-" + secrets.token_hex(4)
            created = [
                self._create_one(ctx, req, flavor, networks, now, index, count, reservation_id)
                for index in range(count)
            ]
            return created, reservation_id

    def _create_one(
        self,
        ctx: RequestContext,
        req: CreateRequest,
        flavor: FlavorSpec,
        networks: list[tuple[NetworkSpec, str | None]],
        now: float,
        index: int,
        count: int,
        reservation_id: str,
    ) -> ServerRecord:
        self.state.seq += 1
        server_id = str(uuid.uuid4())
        name = MULTI_NAME_TEMPLATE.format(name=req.name, count=index + 1) if count > 1 else req.name
        record = ServerRecord(
            id=server_id,
            name=name,
            seq=self.state.seq,
            project_id=ctx.project_id,
            user_id=ctx.user_id,
            request_id=ctx.request_id,
            global_request_id=ctx.global_request_id,
            created_at=now,
            build_delay=self.state.build_delay,
            flavor={
                "id": flavor.id,
                "name": flavor.name,
                "ram": flavor.ram,
                "disk": flavor.disk,
                "vcpus": flavor.vcpus,
                "ephemeral": flavor.ephemeral,
                "swap": flavor.swap,
                "extra_specs": dict(flavor.extra_specs),
            },
            image_id=req.image_id,
            metadata=dict(req.metadata),
            key_name=req.key_name,
            description=req.description,
            tags=list(req.tags),
            availability_zone=req.availability_zone,
            hostname=req.hostname or sanitize_hostname(name, server_id),
            security_groups=list(req.security_groups) if networks else [],
            access_ipv4=req.access_ipv4,
            access_ipv6=req.access_ipv6,
            config_drive="True" if req.config_drive else "",
            disk_config=req.disk_config,
            reservation_id=reservation_id,
            launch_index=index,
        )
        record.add_event(
            now,
            "create",
            request_id=ctx.request_id,
            project_id=ctx.project_id,
            user_id=ctx.user_id,
        )
        fault: BuildErrorRule | _NoAddressFault | None = self.state.faults.build_error(
            Subject(name, record.metadata)
        )
        holds = self._holds_ports(now)
        for spec, fixed_ip in networks:
            ipam = self.state.ipam[spec.name]
            if fixed_ip is not None and ipam.claim(server_id, fixed_ip, holds):
                address: str | None = fixed_ip
            else:
                address = ipam.allocate(server_id, holds)
            if address is None:
                fault = fault or _NoAddressFault(server_id, spec.name)
                continue
            record.ports.append(
                {
                    "network": spec.name,
                    "network_id": spec.id,
                    "addr": address,
                    "version": 4,
                    "mac": mac_address(spec.mac_prefix, server_id, spec.name),
                }
            )
        if fault is not None:
            record.build_fault = {
                "code": fault.code,
                "message": fault.message,
                "created": record.active_at,
                **({"details": fault.details} if fault.details else {}),
            }
            record.add_event(now, "build-fault-injected", message=fault.message)
        self.state.servers[server_id] = record
        return record

    def list_servers(
        self,
        ctx: RequestContext,
        now: float,
        *,
        name: str | None = None,
        vm_states: set[str] | None = None,
        all_tenants: bool = False,
        include_deleted: bool = False,
        project_id: str | None = None,
        image: str | None = None,
        flavor: str | None = None,
        ip: str | None = None,
        changes_since: float | None = None,
        limit: int,
        marker: str | None = None,
        sort_key: str = "created_at",
        sort_dir: str = "desc",
    ) -> list[ServerView]:
        """Nova's ``GET /servers`` semantics: regex ``name``, newest first, marker paging."""
        try:
            name_re = re.compile(name) if name else None
            ip_re = re.compile(ip) if ip else None
        except re.error as exc:
            raise errors.BadRequest(f"Invalid regular expression in filter: {exc}") from exc
        matched: list[ServerView] = []
        for record in self.state.servers.values():
            if not self._visible(ctx, record, all_tenants):
                continue
            if all_tenants and project_id and record.project_id != project_id:
                continue
            seen = observe(record, now)
            if seen.gone and not (include_deleted or changes_since is not None):
                continue
            if changes_since is not None and seen.updated_at < changes_since:
                continue
            if name_re is not None and not name_re.search(record.name):
                continue
            if vm_states is not None and seen.vm_state not in vm_states:
                continue
            if image is not None and record.image_id != image:
                continue
            if flavor is not None and record.flavor.get("id") != flavor:
                continue
            if ip_re is not None and not any(ip_re.search(p["addr"]) for p in record.ports):
                continue
            matched.append(ServerView(record, seen))
        key_funcs: dict[str, Callable[[ServerView], Any]] = {
            "created_at": lambda v: v.record.created_at,
            "display_name": lambda v: v.record.name,
            "uuid": lambda v: v.record.id,
            "updated_at": lambda v: v.now.updated_at,
            "vm_state": lambda v: v.now.vm_state,
            "launched_at": lambda v: v.now.launched_at or 0.0,
        }
        key = key_funcs.get(sort_key, key_funcs["created_at"])
        matched.sort(key=lambda v: (key(v), v.record.id), reverse=sort_dir != "asc")
        if marker is not None:
            marker_record = self.state.servers.get(marker)
            if marker_record is None or not self._visible(ctx, marker_record, all_tenants):
                raise errors.MarkerNotFound(marker)
            ids = [v.record.id for v in matched]
            if marker in ids:
                matched = matched[ids.index(marker) + 1 :]
            else:
                pivot = ServerView(marker_record, observe(marker_record, now))
                pivot_key = (key(pivot), marker)
                if sort_dir != "asc":
                    matched = [v for v in matched if (key(v), v.record.id) < pivot_key]
                else:
                    matched = [v for v in matched if (key(v), v.record.id) > pivot_key]
        return matched[:limit]

    def delete_server(self, ctx: RequestContext, server_id: str) -> ServerRecord:
        """Start deleting a server (Nova answers 204 at once; it disappears later)."""
        with self.state.writing() as now:
            view = self.get_server(ctx, server_id, now)
            record = view.record
            subject = Subject(record.name, record.metadata)
            rule = self.state.faults.delete_error(subject)
            if rule is not None and rule.mode == "api":
                record.add_event(now, "delete-rejected", status=rule.status)
                raise errors.InjectedFault(rule.status, rule.message or _delete_message(rule))
            if view.now.task_state == "deleting":
                record.add_event(now, "delete-requested-again", request_id=ctx.request_id)
                return record
            settle_failed_delete(record, now)
            record.delete_requested_at = now
            record.delete_completes_at = now + self.state.delete_delay
            record.delete_fault = None
            hang = self.state.faults.delete_hang(subject)
            if hang is not None:
                record.delete_completes_at = None if hang.seconds is None else now + hang.seconds
            if rule is not None and rule.mode == "async":
                record.delete_fault = {
                    "code": rule.status,
                    "message": rule.message or _delete_message(rule),
                    "created": record.delete_completes_at,
                }
            record.add_event(
                now,
                "delete-requested",
                request_id=ctx.request_id,
                user_id=ctx.user_id,
                completes_at=record.delete_completes_at,
                will_fail=record.delete_fault is not None,
            )
            return record

    def update_server(
        self, ctx: RequestContext, server_id: str, changes: dict[str, Any]
    ) -> ServerView:
        with self.state.writing() as now:
            record = self.get_server(ctx, server_id, now).record
            for key, value in changes.items():
                setattr(record, key, value)
            record.add_event(now, "update", request_id=ctx.request_id, fields=sorted(changes))
            return self.get_server(ctx, server_id, now)

    def set_metadata(
        self, ctx: RequestContext, server_id: str, items: dict[str, str], replace: bool
    ) -> dict[str, str]:
        with self.state.writing() as now:
            record = self.get_server(ctx, server_id, now).record
            record.metadata = dict(items) if replace else {**record.metadata, **items}
            record.add_event(now, "metadata", request_id=ctx.request_id)
            return dict(record.metadata)

    def delete_metadata_key(self, ctx: RequestContext, server_id: str, key: str) -> None:
        with self.state.writing() as now:
            record = self.get_server(ctx, server_id, now).record
            if key not in record.metadata:
                raise errors.MetadataItemNotFound()
            del record.metadata[key]
            record.add_event(now, "metadata", request_id=ctx.request_id)


class _NoAddressFault:
    """The build fault Nova shows when Neutron has no address left."""

    code = 500
    details = None

    def __init__(self, server_id: str, network: str) -> None:
        self.message = (
            f"Build of instance {server_id} aborted: Failed to allocate the network(s) "
            f"with error No more IP addresses available on network {network}., "
            "not rescheduling."
        )


def _delete_message(rule: DeleteErrorRule) -> str:
    if rule.mode == "async":
        return DEFAULT_DELETE_ASYNC_MESSAGE
    return DEFAULT_API_MESSAGES.get(rule.status, "Injected delete failure")
