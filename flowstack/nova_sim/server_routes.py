"""Compute API server routes: create, list, show, update, delete, ips, metadata.

Lists follow Nova: ``name`` is a regular expression (``re.search``, as Nova's
database ``REGEXP``), newest first (``created_at`` then ``id``, descending),
``limit`` capped by ``max_limit`` and ``marker`` paging with a ``next`` link
when a page is full. Nova has no server-side metadata filter; neither has this.
Server actions (``POST /servers/{id}/action``) are not simulated: they answer
Nova's 400 for an unknown action.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from typing import Any

from flowstack.nova_sim import errors, views
from flowstack.nova_sim.compute_common import (
    Call,
    RouteGroup,
    fault_response,
    is_true,
    next_params,
    paging,
)
from flowstack.nova_sim.config import SimulatorConfig
from flowstack.nova_sim.faults import Subject
from flowstack.nova_sim.routing import Response, Router
from flowstack.nova_sim.server_ops import ServerOperations
from flowstack.nova_sim.state import CloudState
from flowstack.nova_sim.validation import check_name, parse_create

_STATUS_TO_VM_STATE = {
    "ACTIVE": "active",
    "BUILD": "building",
    "ERROR": "error",
    "DELETED": "deleted",
    "SHUTOFF": "stopped",
    "PAUSED": "paused",
    "SUSPENDED": "suspended",
    "RESCUE": "rescued",
    "VERIFY_RESIZE": "resized",
    "SHELVED": "shelved",
    "SHELVED_OFFLOADED": "shelved_offloaded",
    "SOFT_DELETED": "soft-delete",
}
# Statuses Nova knows that only exist with a task in progress: never matched here.
_TASK_STATUSES = {
    "REBOOT",
    "HARD_REBOOT",
    "PASSWORD",
    "REBUILD",
    "MIGRATING",
    "RESIZE",
    "REVERT_RESIZE",
}
# Query parameters GET /servers accepts (from 2.75 anything else is a 400).
_SERVER_QUERY = {
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "kernel_id",
    "ramdisk_id", "hostname", "key_name", "power_state", "vm_state", "task_state", "host",
    "node", "flavor", "reservation_id", "launched_at", "terminated_at", "availability_zone",
    "name", "display_name", "description", "display_description", "locked_by", "uuid",
    "root_device_name", "config_drive", "access_ip_v4", "access_ip_v6", "auto_disk_config",
    "progress", "sort_key", "sort_dir", "all_tenants", "soft_deleted", "deleted", "status",
    "changes-since", "changes-before", "ip", "ip6", "tag", "tag-any", "not-tags",
    "not-tags-any", "limit", "marker", "locked", "created_at", "updated_at",
    "pinned_availability_zone",
}  # fmt: skip
_SORT_KEYS = {"created_at", "display_name", "uuid", "updated_at", "vm_state", "launched_at"}


class ServerRoutes(RouteGroup):
    def __init__(self, state: CloudState, config: SimulatorConfig) -> None:
        self.state = state
        self.config = config
        self.ops = ServerOperations(state)

    def register(self, router: Router) -> None:
        r = router
        r.add(r"/servers", GET=self.list_servers, POST=self.create_server)
        r.add(r"/servers/detail", GET=self.list_servers_detail)
        r.add(
            r"/servers/(?P<server_id>[^/]+)",
            GET=self.show_server,
            PUT=self.update_server,
            DELETE=self.delete_server,
        )
        r.add(r"/servers/(?P<server_id>[^/]+)/action", POST=self.server_action)
        r.add(r"/servers/(?P<server_id>[^/]+)/ips", GET=self.server_ips)
        r.add(r"/servers/(?P<server_id>[^/]+)/ips/(?P<network>[^/]+)", GET=self.server_ips)
        r.add(
            r"/servers/(?P<server_id>[^/]+)/metadata",
            GET=self.get_metadata,
            POST=self.update_metadata,
            PUT=self.replace_metadata,
        )
        r.add(
            r"/servers/(?P<server_id>[^/]+)/metadata/(?P<key>[^/]+)",
            GET=self.get_metadata_item,
            PUT=self.set_metadata_item,
            DELETE=self.delete_metadata_item,
        )

    def create_server(self, call: Call) -> Response:
        create, want_reservation = parse_create(call.request.json(), call.version)
        try:
            created, reservation_id = self.ops.create_servers(call.ctx, create)
        except errors.ImageNotFound:
            raise errors.BadRequest("Can not find requested image") from None
        except errors.KeypairNotFound:
            raise errors.BadRequest("Invalid key_name provided.") from None
        except errors.FlavorNotFound as exc:
            raise errors.BadRequest(str(exc)) from None
        first = created[0]
        subject = Subject(first.name, first.metadata)
        if want_reservation:
            return Response(202, {"reservation_id": reservation_id}, subject=subject)
        with self.state.reading() as now:
            view = self.ops.get_server(call.ctx, first.id, now)
        alphabet = string.ascii_letters + string.digits
        password = "".join(secrets.choice(alphabet) for _ in range(12))
        body = views.server_created(view, call.links, password)
        self_link = body["links"][0]["href"]
        return Response(202, {"server": body}, headers=[("Location", self_link)], subject=subject)

    def _list(self, call: Call, detailed: bool) -> Response:
        request, ctx = call.request, call.ctx
        if call.version.at_least("2.75"):
            unknown = sorted(set(request.query) - _SERVER_QUERY)
            if unknown:
                raise errors.BadRequest(
                    f"Invalid input for query parameters {unknown[0]}. Value: "
                    f"{request.param(unknown[0])}. Additional properties are not allowed "
                    f"({', '.join(repr(u) for u in unknown)} "
                    f"{'was' if len(unknown) == 1 else 'were'} unexpected)"
                )
        limit, marker = paging(request, self.config.max_limit)
        all_tenants = "all_tenants" in request.query and (
            request.param("all_tenants") in ("", None) or is_true(request.param("all_tenants"))
        )
        if all_tenants and not ctx.is_admin:
            which = "detail" if detailed else "index"
            raise errors.PolicyNotAuthorized(
                f"Policy doesn't allow os_compute_api:servers:{which}:get_all_tenants "
                "to be performed.",
            )
        vm_states = None
        include_deleted = ctx.is_admin and is_true(request.param("deleted"))
        if "status" in request.query:
            statuses = [s.upper() for s in request.query["status"]]
            vm_states = {_STATUS_TO_VM_STATE[s] for s in statuses if s in _STATUS_TO_VM_STATE}
            vm_states |= {"task-only"} if set(statuses) & _TASK_STATUSES else set()
            if not vm_states:
                if call.version.at_least("2.38"):
                    raise errors.BadRequest("Invalid status value")
                return Response(200, {"servers": []})
            if "deleted" in vm_states:
                if not ctx.is_admin:
                    raise errors.PolicyNotAuthorized(
                        "Only administrators may list deleted instances"
                    )
                include_deleted = True
        changes_since = None
        if request.param("changes-since"):
            changes_since = self._parse_time(request.param("changes-since"), "changes-since")
        sort_key = request.param("sort_key") or "created_at"
        sort_dir = request.param("sort_dir") or "desc"
        if sort_dir not in ("asc", "desc"):
            raise errors.BadRequest(
                f"Invalid input for query parameters sort_dir. Value: {sort_dir}. "
                f"'{sort_dir}' is not one of ['asc', 'desc']"
            )
        with self.state.reading() as now:
            found = self.ops.list_servers(
                ctx,
                now,
                name=request.param("name"),
                vm_states=vm_states,
                all_tenants=all_tenants,
                include_deleted=include_deleted,
                project_id=(request.param("project_id") or request.param("tenant_id"))
                if all_tenants
                else None,
                image=request.param("image"),
                flavor=request.param("flavor"),
                ip=request.param("ip"),
                changes_since=changes_since,
                limit=limit,
                marker=marker,
                sort_key=sort_key if sort_key in _SORT_KEYS else "created_at",
                sort_dir=sort_dir,
            )
            if detailed:
                items = [
                    views.server_detail(
                        v, call.links, call.version, self.config, is_admin=ctx.is_admin
                    )
                    for v in found
                ]
            else:
                items = [views.server_basic(v, call.links) for v in found]
        body: dict[str, Any] = {"servers": items}
        collection = "servers/detail" if detailed else "servers"
        if limit and len(found) == limit:
            params = next_params(request)
            body["servers_links"] = call.links.next(collection, params, found[-1].record.id)
        return Response(200, body)

    @staticmethod
    def _parse_time(text: str | None, name: str) -> float:
        try:
            parsed = dt.datetime.fromisoformat((text or "").replace("Z", "+00:00"))
        except ValueError:
            raise errors.BadRequest(f"Invalid filter field: {name}.") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()

    def list_servers(self, call: Call) -> Response:
        return self._list(call, detailed=False)

    def list_servers_detail(self, call: Call) -> Response:
        return self._list(call, detailed=True)

    def _show(self, call: Call, server_id: str) -> dict[str, Any]:
        with self.state.reading() as now:
            view = self.ops.get_server(call.ctx, server_id, now)
            return views.server_detail(
                view,
                call.links,
                call.version,
                self.config,
                is_admin=call.ctx.is_admin,
                show_server_groups=True,
            )

    def show_server(self, call: Call, server_id: str) -> Response:
        return Response(200, {"server": self._show(call, server_id)})

    def update_server(self, call: Call, server_id: str) -> Response:
        body = call.request.json()
        if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
            raise errors.BadRequest("'server' is a required property")
        allowed = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
        if call.version.at_least("2.19"):
            allowed.add("description")
        if call.version.at_least("2.90"):
            allowed.add("hostname")
        fields = body["server"]
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise errors.BadRequest(
                f"Invalid input for field/attribute server. Value: {fields}. Additional "
                f"properties are not allowed ({', '.join(repr(u) for u in unknown)} unexpected)"
            )
        renames = {
            "name": "name",
            "description": "description",
            "hostname": "hostname",
            "accessIPv4": "access_ipv4",
            "accessIPv6": "access_ipv6",
            "OS-DCF:diskConfig": "disk_config",
        }
        changes = {renames[k]: v for k, v in fields.items()}
        if "name" in changes:
            check_name(changes["name"])
        self.ops.update_server(call.ctx, server_id, changes)
        return Response(200, {"server": self._show(call, server_id)})

    def delete_server(self, call: Call, server_id: str) -> Response:
        record = self.ops.delete_server(call.ctx, server_id)
        return Response(204, subject=Subject(record.name, record.metadata))

    def server_action(self, call: Call, server_id: str) -> Response:
        body = call.request.json()
        with self.state.reading() as now:
            self.ops.get_server(call.ctx, server_id, now)
        action = next(iter(body), "") if isinstance(body, dict) else ""
        raise errors.BadRequest(f"There is no such action: {action}")

    def server_ips(self, call: Call, server_id: str, network: str | None = None) -> Response:
        with self.state.reading() as now:
            view = self.ops.get_server(call.ctx, server_id, now)
            addresses = {
                net: [{"version": a["version"], "addr": a["addr"]} for a in items]
                for net, items in views.addresses(view).items()
            }
        if network is None:
            return Response(200, {"addresses": addresses})
        if network not in addresses:
            return fault_response(404, "Instance is not a member of specified network")
        return Response(200, {network: addresses[network]})

    # -- metadata ---------------------------------------------------------------
    def get_metadata(self, call: Call, server_id: str) -> Response:
        with self.state.reading() as now:
            view = self.ops.get_server(call.ctx, server_id, now)
            return Response(200, {"metadata": dict(view.record.metadata)})

    def _metadata_body(self, call: Call, key: str = "metadata") -> dict[str, str]:
        body = call.request.json()
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise errors.BadRequest(f"'{key}' is a required property")
        items = body[key]
        for name, value in items.items():
            if not isinstance(value, str) or len(value) > 255 or not 1 <= len(name) <= 255:
                raise errors.BadRequest(
                    f"Invalid input for field/attribute {name}. Value: {value}. is not valid"
                )
        return dict(items)

    def update_metadata(self, call: Call, server_id: str) -> Response:
        items = self._metadata_body(call)
        merged = self.ops.set_metadata(call.ctx, server_id, items, replace=False)
        return Response(200, {"metadata": merged})

    def replace_metadata(self, call: Call, server_id: str) -> Response:
        items = self._metadata_body(call)
        return Response(
            200, {"metadata": self.ops.set_metadata(call.ctx, server_id, items, replace=True)}
        )

    def get_metadata_item(self, call: Call, server_id: str, key: str) -> Response:
        with self.state.reading() as now:
            view = self.ops.get_server(call.ctx, server_id, now)
            if key not in view.record.metadata:
                raise errors.MetadataItemNotFound()
            return Response(200, {"meta": {key: view.record.metadata[key]}})

    def set_metadata_item(self, call: Call, server_id: str, key: str) -> Response:
        items = self._metadata_body(call, "meta")
        if list(items) != [key]:
            raise errors.BadRequest("Request body and URI mismatch")
        self.ops.set_metadata(call.ctx, server_id, items, replace=False)
        return Response(200, {"meta": items})

    def delete_metadata_item(self, call: Call, server_id: str, key: str) -> Response:
        self.ops.delete_metadata_key(call.ctx, server_id, key)
        return Response(204)

    # -- flavors ----------------------------------------------------------------
