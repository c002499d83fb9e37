"""JSON shapes of the Compute API v2.1 (per microversion), as Nova's view builders make them."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flowstack.nova_sim.config import FlavorSpec, ImageSpec, SimulatorConfig
from flowstack.nova_sim.microversion import APIVersion
from flowstack.nova_sim.model import ServerView

VERSION_UPDATED = "2013-07-23T11:33:21Z"


def isotime(at: float | None) -> str | None:
    """Nova's ``utils.isotime``: seconds precision, ``Z`` suffix."""
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def naive_time(at: float | None) -> str | None:
    """How ``OS-SRV-USG:launched_at`` is serialised: naive, with microseconds."""
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).replace(tzinfo=None).isoformat()


@dataclass(frozen=True)
class Links:
    """Builds ``self``/``bookmark``/``next`` hrefs the way Nova does for a request."""

    base_url: str
    project_id: str | None  # only when the request URL carried one

    def _prefix(self, versioned: bool) -> str:
        parts = [self.base_url + ("/v2.1" if versioned else "")]
        if self.project_id:
            parts.append(self.project_id)
        return "/".join(parts)

    def pair(self, collection: str, identifier: str) -> list[dict[str, str]]:
        return [
            {"rel": "self", "href": f"{self._prefix(True)}/{collection}/{identifier}"},
            {"rel": "bookmark", "href": f"{self._prefix(False)}/{collection}/{identifier}"},
        ]

    def bookmark(self, collection: str, identifier: str) -> list[dict[str, str]]:
        return [{"rel": "bookmark", "href": f"{self._prefix(False)}/{collection}/{identifier}"}]

    def next(self, collection: str, params: dict[str, str], marker: str) -> list[dict[str, str]]:
        query = dict(sorted(params.items()))
        query["marker"] = marker
        return [{"rel": "next", "href": f"{self._prefix(True)}/{collection}?{urlencode(query)}"}]


# -- versions ----------------------------------------------------------------
def version_entry(base_url: str, config: SimulatorConfig, detailed: bool) -> dict[str, Any]:
    low, high = config.microversion_range
    links: list[dict[str, str]] = [{"rel": "self", "href": f"{base_url}/v2.1/"}]
    entry: dict[str, Any] = {"id": "v2.1", "links": links}
    if detailed:
        links.append(
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        )
        entry["media-types"] = [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ]
    entry.update(
        {"status": "CURRENT", "version": str(high), "min_version": str(low)},
    )
    entry["updated"] = VERSION_UPDATED
    return entry


# -- servers -----------------------------------------------------------------
def _flavor_ref(view: ServerView, links: Links, version: APIVersion) -> dict[str, Any]:
    flavor = view.record.flavor
    if version.at_least("2.47"):
        return {
            "vcpus": flavor["vcpus"],
            "ram": flavor["ram"],
            "disk": flavor["disk"],
            "ephemeral": flavor.get("ephemeral", 0),
            "swap": flavor.get("swap", 0),
            "original_name": flavor["name"],
            "extra_specs": dict(flavor.get("extra_specs") or {}),
        }
    return {"id": str(flavor["id"]), "links": links.bookmark("flavors", str(flavor["id"]))}


def addresses(view: ServerView) -> dict[str, list[dict[str, Any]]]:
    """Fixed IPs by network name; hidden while building, as Nova does."""
    if view.now.vm_state == "building" or not view.now.holds_ports:
        return {}
    addresses: dict[str, list[dict[str, Any]]] = {}
    for port in view.record.ports:
        addresses.setdefault(port["network"], []).append(
            {
                "version": port["version"],
                "addr": port["addr"],
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": port["mac"],
            }
        )
    return addresses


def server_basic(view: ServerView, links: Links) -> dict[str, Any]:
    return {
        "id": view.record.id,
        "name": view.record.name,
        "links": links.pair("servers", view.record.id),
    }


def server_detail(
    view: ServerView,
    links: Links,
    version: APIVersion,
    config: SimulatorConfig,
    *,
    is_admin: bool = False,
    show_server_groups: bool = False,
) -> dict[str, Any]:
    record, now = view.record, view.now
    host = config.compute_host if now.scheduled else None
    server: dict[str, Any] = {
        "accessIPv4": record.access_ipv4,
        "accessIPv6": record.access_ipv6,
        "addresses": addresses(view),
        "created": isotime(record.created_at),
        "flavor": _flavor_ref(view, links, version),
        "hostId": (hashlib.sha224((record.project_id + host).encode()).hexdigest() if host else ""),
        "id": record.id,
        "image": {"id": record.image_id, "links": links.bookmark("images", record.image_id)},
        "links": links.pair("servers", record.id),
        "metadata": dict(record.metadata),
        "name": record.name,
        "status": now.status,
        "tenant_id": record.project_id,
        "user_id": record.user_id,
        "updated": isotime(now.updated_at),
        "OS-DCF:diskConfig": record.disk_config,
    }
    if now.status in ("ERROR", "DELETED") and now.fault:
        server["fault"] = {
            "code": now.fault["code"],
            "created": isotime(now.fault.get("created")),
            "message": now.fault["message"],
        }
        if now.fault.get("details") and (is_admin or now.fault["code"] != 500):
            server["fault"]["details"] = now.fault["details"]
    if now.status in ("ACTIVE", "BUILD"):
        server["progress"] = 0
    server["OS-EXT-AZ:availability_zone"] = (
        (record.availability_zone or config.availability_zone) if host else ""
    )
    server["config_drive"] = record.config_drive
    server["key_name"] = record.key_name
    server["OS-SRV-USG:launched_at"] = naive_time(now.launched_at)
    server["OS-SRV-USG:terminated_at"] = naive_time(now.terminated_at)
    if record.security_groups and now.holds_ports:
        server["security_groups"] = [{"name": name} for name in record.security_groups]
    if is_admin:
        server["OS-EXT-SRV-ATTR:host"] = host
        server["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{record.seq:08x}"
        server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = host
        if version.at_least("2.3"):
            server.update(
                {
                    "OS-EXT-SRV-ATTR:hostname": record.hostname,
                    "OS-EXT-SRV-ATTR:kernel_id": "",
                    "OS-EXT-SRV-ATTR:launch_index": record.launch_index,
                    "OS-EXT-SRV-ATTR:ramdisk_id": "",
                    "OS-EXT-SRV-ATTR:reservation_id": record.reservation_id,
                    "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda" if host else None,
                    "OS-EXT-SRV-ATTR:user_data": None,
                }
            )
    server["OS-EXT-STS:task_state"] = now.task_state
    server["OS-EXT-STS:vm_state"] = now.vm_state
    server["OS-EXT-STS:power_state"] = now.power_state
    server["os-extended-volumes:volumes_attached"] = []
    if version.at_least("2.9"):
        server["locked"] = False
    if version.at_least("2.19"):
        server["description"] = record.description
    if version.at_least("2.26"):
        server["tags"] = list(record.tags)
    if version.at_least("2.63"):
        server["trusted_image_certificates"] = None
    if show_server_groups and version.at_least("2.71"):
        server["server_groups"] = []
    if version.at_least("2.73"):
        server["locked_reason"] = None
    if version.at_least("2.90") and not is_admin:
        server["OS-EXT-SRV-ATTR:hostname"] = record.hostname
    if version.at_least("2.96"):
        server["pinned_availability_zone"] = record.availability_zone
    return server


def server_created(view: ServerView, links: Links, admin_pass: str) -> dict[str, Any]:
    return {
        "id": view.record.id,
        "links": links.pair("servers", view.record.id),
        "OS-DCF:diskConfig": view.record.disk_config,
        "security_groups": [{"name": name} for name in view.record.security_groups]
        or [{"name": "default"}],
        "adminPass": admin_pass,
    }


# -- flavors -----------------------------------------------------------------
def flavor_basic(flavor: FlavorSpec, links: Links, version: APIVersion) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "links": links.pair("flavors", flavor.id),
    }
    if version.at_least("2.55"):
        body["description"] = flavor.description
    return body


def flavor_detail(flavor: FlavorSpec, links: Links, version: APIVersion) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": flavor.id,
        "name": flavor.name,
        "ram": flavor.ram,
        "disk": flavor.disk,
        "swap": flavor.swap or "",
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor,
        "links": links.pair("flavors", flavor.id),
    }
    if version.at_least("2.55"):
        body["description"] = flavor.description
    if version.at_least("2.61"):
        body["extra_specs"] = dict(flavor.extra_specs)
    if version.at_least("2.75"):
        body["swap"] = flavor.swap or 0
    return body


# -- keypairs ----------------------------------------------------------------
def keypair_view(
    keypair: dict[str, Any], version: APIVersion, *, detail: bool, private_key: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": keypair["name"],
        "public_key": keypair["public_key"],
        "fingerprint": keypair["fingerprint"],
    }
    if detail:
        body["user_id"] = keypair["user_id"]
    if private_key is not None:
        body["private_key"] = private_key
    if version.at_least("2.2"):
        body["type"] = keypair["type"]
    return body


def keypair_show(keypair: dict[str, Any], version: APIVersion) -> dict[str, Any]:
    body = keypair_view(keypair, version, detail=True)
    body.update(
        {
            "created_at": naive_time(keypair["created_at"]),
            "deleted": False,
            "deleted_at": None,
            "id": keypair["id"],
            "updated_at": None,
        }
    )
    return body


# -- images ------------------------------------------------------------------
def glance_image(image: ImageSpec, owner: str) -> dict[str, Any]:
    """An Image API v2 image, as Glance answers ``GET /v2/images/{id}``."""
    digest = hashlib.sha512(image.id.encode()).hexdigest()
    body: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": False,
        "os_hidden": False,
        "owner": owner,
        "container_format": image.container_format,
        "disk_format": image.disk_format,
        "size": image.size,
        "virtual_size": None,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "checksum": hashlib.md5(image.id.encode(), usedforsecurity=False).hexdigest(),
        "os_hash_algo": "sha512",
        "os_hash_value": digest,
        "tags": [],
        "created_at": image.created_at,
        "updated_at": image.created_at,
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    }
    body.update(image.properties)
    return body


def nova_image(image: ImageSpec, links: Links, detail: bool) -> dict[str, Any]:
    """The deprecated image proxy (``/v2.1/images``, removed at 2.36)."""
    body: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "links": [
            *links.pair("images", image.id),
            {
                "rel": "alternate",
                "type": "application/vnd.openstack.image",
                "href": f"{links.base_url}/image/images/{image.id}",
            },
        ],
    }
    if detail:
        body.update(
            {
                "status": image.status.upper(),
                "progress": 100,
                "minDisk": image.min_disk,
                "minRam": image.min_ram,
                "created": image.created_at,
                "updated": image.created_at,
                "metadata": dict(image.properties),
                "OS-EXT-IMG-SIZE:size": image.size,
            }
        )
    return body


def absolute_limits(
    used: dict[str, int], quota: dict[str, int | None], version: APIVersion
) -> dict[str, Any]:
    def cap(value: int | None) -> int:
        return -1 if value is None else value

    absolute: dict[str, int] = {
        "maxServerMeta": 128,
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxImageMeta": 128,
        "maxTotalKeypairs": 100,
        "maxServerGroups": 10,
        "maxServerGroupMembers": 10,
        "maxTotalInstances": cap(quota.get("instances")),
        "maxTotalCores": cap(quota.get("cores")),
        "maxTotalRAMSize": cap(quota.get("ram")),
        "totalInstancesUsed": used["instances"],
        "totalCoresUsed": used["cores"],
        "totalRAMUsed": used["ram"],
        "totalServerGroupsUsed": 0,
        "maxSecurityGroups": -1,
        "maxSecurityGroupRules": -1,
        "maxTotalFloatingIps": -1,
        "totalFloatingIpsUsed": 0,
        "totalSecurityGroupsUsed": 0,
    }
    if version.at_least("2.36"):
        for key in (
            "maxSecurityGroups",
            "maxSecurityGroupRules",
            "maxTotalFloatingIps",
            "totalFloatingIpsUsed",
            "totalSecurityGroupsUsed",
        ):
            del absolute[key]
    if version.at_least("2.57"):
        del absolute["maxPersonality"], absolute["maxPersonalitySize"]
    return {"limits": {"rate": [], "absolute": absolute}}
