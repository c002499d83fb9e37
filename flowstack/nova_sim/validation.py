"""Request-body validation with Nova's error messages (its JSON-schema wording).

Only the rules that matter to a client are checked — required keys, unknown
keys per microversion, types, the name format, uuid ``imageRef``, metadata
limits, ``networks`` (mandatory from 2.37) — each answering the 400 text a
real Nova gives, so that client code that handles one handles the other.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flowstack.nova_sim.errors import BadRequest
from flowstack.nova_sim.microversion import APIVersion
from flowstack.nova_sim.model import CreateRequest

_SERVER_KEYS = {
    "name",
    "imageRef",
    "flavorRef",
    "adminPass",
    "metadata",
    "networks",
    "OS-DCF:diskConfig",
    "accessIPv4",
    "accessIPv6",
    "personality",
    "availability_zone",
    "block_device_mapping",
    "block_device_mapping_v2",
    "config_drive",
    "key_name",
    "min_count",
    "max_count",
    "return_reservation_id",
    "security_groups",
    "user_data",
}
_SINCE = {
    "description": "2.19",
    "tags": "2.52",
    "trusted_image_certificates": "2.63",
    "host": "2.74",
    "hypervisor_hostname": "2.74",
    "hostname": "2.90",
}
_METADATA_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_KEYPAIR_NAME = re.compile(r"^[_\- a-zA-Z0-9]+$")
_KEYPAIR_NAME_V292 = re.compile(r"^[_\-@. a-zA-Z0-9]+$")
_HOSTNAME_BAD = re.compile(r"[^a-z0-9-]+")
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def _field_error(path: str, value: Any, message: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {path}. Value: {value}. {message}")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


def check_name(value: Any, path: str = "name") -> str:
    """Nova's ``name`` format: 1-255 printable characters, no surrounding whitespace."""
    if not isinstance(value, str):
        raise _field_error(path, value, f"{value!r} is not of type 'string'")
    if not 1 <= len(value) <= 255 or value != value.strip() or not value.isprintable():
        raise BadRequest(
            "An invalid 'name' value was provided. The name must be: "
            "printable characters. Can not start or end with whitespace."
        )
    return value


def _bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _field_error(path, value, f"{value!r} is not one of the allowed boolean values")


def _positive_int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _field_error(path, value, f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, str) and not re.fullmatch(r"[0-9]+", value):
        raise _field_error(path, value, f"{value!r} does not match '^[0-9]*$'")
    number = int(value)
    if number < 1:
        raise _field_error(path, value, f"{value} is less than the minimum of 1")
    return number


def _metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _field_error("metadata", value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not _METADATA_KEY.match(str(key)):
            raise _field_error(
                "metadata",
                value,
                f"Additional properties are not allowed ({key!r} was unexpected)",
            )
        if not isinstance(item, str):
            raise _field_error(key, item, f"{item!r} is not of type 'string'")
        if len(item) > 255:
            raise _field_error(key, item, f"{item!r} is too long")
    return dict(value)


def _networks(value: Any, version: APIVersion) -> str | list[dict[str, Any]]:
    if isinstance(value, str):
        if version.at_least("2.37") and value in ("auto", "none"):
            return value
        raise _field_error("networks", value, f"{value!r} is not of type 'array'")
    if not isinstance(value, list):
        raise _field_error("networks", value, f"{value!r} is not of type 'array'")
    result = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"uuid", "fixed_ip", "port", "tag"}:
            raise _field_error("networks", item, "Additional properties are not allowed")
        if "uuid" in item and not _is_uuid(str(item["uuid"])):
            raise BadRequest(
                f"Bad networks format: network uuid is not in proper format ({item['uuid']})"
            )
        result.append(dict(item))
    if version.at_least("2.37") and not result:
        raise _field_error("networks", value, "[] is too short")
    return result


def parse_create(body: Any, version: APIVersion) -> tuple[CreateRequest, bool]:
    """A ``POST /servers`` body as a :class:`CreateRequest`, plus ``return_reservation_id``.

    :raises BadRequest: with the message Nova gives for the same body.
    """
    if not isinstance(body, dict):
        raise BadRequest(f"{body!r} is not of type 'object'")
    if "server" not in body:
        raise BadRequest("'server' is a required property")
    extra = sorted(set(body) - {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"})
    if extra:
        raise BadRequest(
            f"Additional properties are not allowed ({', '.join(repr(e) for e in extra)} "
            f"{'was' if len(extra) == 1 else 'were'} unexpected)"
        )
    server = body["server"]
    if not isinstance(server, dict):
        raise _field_error("server", server, f"{server!r} is not of type 'object'")
    allowed = set(_SERVER_KEYS)
    allowed |= {key for key, since in _SINCE.items() if version.at_least(since)}
    if version.at_least("2.57"):
        allowed.discard("personality")
    unknown = sorted(set(server) - allowed)
    if unknown:
        raise _field_error(
            "server",
            server,
            f"Additional properties are not allowed "
            f"({', '.join(repr(u) for u in unknown)} "
            f"{'was' if len(unknown) == 1 else 'were'} unexpected)",
        )
    required = ["name", "flavorRef"] + (["networks"] if version.at_least("2.37") else [])
    for key in required:
        if key not in server:
            raise _field_error("server", server, f"'{key}' is a required property")
    name = check_name(server["name"])
    flavor_ref = server["flavorRef"]
    if not isinstance(flavor_ref, str | int) or isinstance(flavor_ref, bool) or flavor_ref == "":
        raise _field_error("flavorRef", flavor_ref, f"{flavor_ref!r} is not valid")
    image_ref = server.get("imageRef", "")
    if not isinstance(image_ref, str) or (image_ref and not _is_uuid(image_ref)):
        raise _field_error(
            "imageRef", image_ref, f"{image_ref!r} is not valid under any of the given schemas"
        )
    if not image_ref:
        bdms = server.get("block_device_mapping_v2") or server.get("block_device_mapping")
        if bdms:
            raise BadRequest("Block Device Mapping is Invalid: boot from volume is not simulated.")
        raise BadRequest("Missing imageRef attribute")
    min_count = _positive_int(server.get("min_count", 1), "min_count")
    max_count = _positive_int(server.get("max_count", min_count), "max_count")
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    groups = server.get("security_groups", [{"name": "default"}])
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise _field_error("security_groups", groups, f"{groups!r} is not of type 'array'")
    description = server.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 255):
        raise _field_error("description", description, "is not valid")
    tags = server.get("tags", [])
    if (
        not isinstance(tags, list)
        or len(tags) > 50
        or any(
            not isinstance(t, str) or not 1 <= len(t) <= 60 or "/" in t or "," in t for t in tags
        )
    ):
        raise _field_error("tags", tags, "is not valid")
    key_name = server.get("key_name")
    if key_name is not None and not isinstance(key_name, str):
        raise _field_error("key_name", key_name, f"{key_name!r} is not of type 'string'")
    disk_config = server.get("OS-DCF:diskConfig", "MANUAL")
    if disk_config not in ("AUTO", "MANUAL"):
        raise _field_error(
            "OS-DCF:diskConfig", disk_config, f"{disk_config!r} is not one of ['AUTO', 'MANUAL']"
        )
    zone = server.get("availability_zone")
    request = CreateRequest(
        name=name,
        flavor_id=str(flavor_ref).rstrip("/").rsplit("/", 1)[-1],
        image_id=image_ref,
        metadata=_metadata(server.get("metadata", {})),
        key_name=key_name,
        description=description if version.at_least("2.19") else name,
        tags=list(tags),
        availability_zone=check_name(zone, "availability_zone") if zone else None,
        hostname=server.get("hostname"),
        security_groups=sorted({str(g["name"]) for g in groups if g.get("name")}),
        networks=_networks(server["networks"], version) if "networks" in server else "auto",
        access_ipv4=str(server.get("accessIPv4") or ""),
        access_ipv6=str(server.get("accessIPv6") or ""),
        config_drive=_bool(server.get("config_drive", False), "config_drive"),
        disk_config=disk_config,
        min_count=min_count,
        max_count=max_count,
    )
    reservation = _bool(server.get("return_reservation_id", False), "return_reservation_id")
    return request, reservation


def parse_keypair(body: Any, version: APIVersion) -> dict[str, Any]:
    """A ``POST /os-keypairs`` body: name, public_key, type, user_id."""
    if not isinstance(body, dict) or "keypair" not in body:
        raise BadRequest("'keypair' is a required property")
    if set(body) - {"keypair"}:
        raise BadRequest("Additional properties are not allowed")
    keypair = body["keypair"]
    if not isinstance(keypair, dict):
        raise _field_error("keypair", keypair, f"{keypair!r} is not of type 'object'")
    allowed = {"name", "public_key"}
    if version.at_least("2.2"):
        allowed.add("type")
    if version.at_least("2.10"):
        allowed.add("user_id")
    unknown = sorted(set(keypair) - allowed)
    if unknown:
        raise _field_error(
            "keypair",
            keypair,
            f"Additional properties are not allowed ({', '.join(repr(u) for u in unknown)} "
            f"{'was' if len(unknown) == 1 else 'were'} unexpected)",
        )
    required = ["name"] + (["public_key"] if version.at_least("2.92") else [])
    for key in required:
        if key not in keypair:
            raise _field_error("keypair", keypair, f"'{key}' is a required property")
    name = check_name(keypair["name"])
    pattern = _KEYPAIR_NAME_V292 if version.at_least("2.92") else _KEYPAIR_NAME
    if not pattern.match(name):
        raise _field_error("name", name, f"{name!r} does not match '{pattern.pattern}'")
    key_type = keypair.get("type", "ssh")
    if key_type not in ("ssh", "x509"):
        raise _field_error("type", key_type, f"{key_type!r} is not one of ['ssh', 'x509']")
    public_key = keypair.get("public_key")
    if public_key is not None and not isinstance(public_key, str):
        raise _field_error("public_key", public_key, f"{public_key!r} is not of type 'string'")
    return {
        "name": name,
        "public_key": public_key,
        "type": key_type,
        "user_id": keypair.get("user_id"),
    }


def sanitize_hostname(name: str, server_id: str) -> str:
    """Nova's hostname from a display name: lower-case, [a-z0-9-], at most 63 characters."""
    cleaned = _HOSTNAME_BAD.sub("-", name.lower().replace("_", "-")).strip("-.")[:63]
    return cleaned or f"server-{server_id}"
