"""Request bodies and list queries of the Octavia subset, checked as Octavia's schema does.

Octavia (WSME) refuses an unknown or read-only attribute, a wrong type or an
out-of-range value with 400 ``Invalid input for field/attribute <name>.
Value: '<value>'. <reason>``; a client that gets such an answer from the
simulator would get it from a real cloud too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flowstack.nova_sim.lb_core import LbError

Check = Callable[[str, Any], Any]

PROTOCOLS = ("HTTP", "HTTPS", "PROXY", "PROXYV2", "SCTP", "TCP", "UDP")
ALGORITHMS = ("LEAST_CONNECTIONS", "ROUND_ROBIN", "SOURCE_IP", "SOURCE_IP_PORT")


def invalid(name: str, value: Any, reason: str) -> LbError:
    return LbError(400, f"Invalid input for field/attribute {name}. Value: '{value}'. {reason}")


def _string(name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(name, value, "Wrong type. Expected a string.")
    if len(value) > 255:
        raise invalid(name, value, "Value should have a maximum character requirement of 255")
    return value


def _boolean(name: str, value: Any) -> Any:
    if not isinstance(value, bool):
        raise invalid(name, value, "Wrong type. Expected a boolean.")
    return value


def _integer(low: int, high: int, nullable: bool = False) -> Check:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(name, value, "Wrong type. Expected an integer.")
        if value < low:
            raise invalid(name, value, f"Value should be greater or equal to {low}")
        if value > high:
            raise invalid(name, value, f"Value should be lower or equal to {high}")
        return value

    return check


def _address(nullable: bool) -> Check:
    def check(name: str, value: Any) -> Any:
        if value is None and nullable:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise invalid(name, value, "Value should be IPv4 or IPv6 format") from None

    return check


def _choice(choices: tuple[str, ...]) -> Check:
    def check(name: str, value: Any) -> Any:
        if value not in choices:
            raise invalid(name, value, f"Value should be one of: {', '.join(choices)}")
        return value

    return check


def _tags(name: str, value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise invalid(name, value, "Value should be a list of strings")
    return list(value)


def _object(name: str, value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise invalid(name, value, "Wrong type. Expected an object.")
    return value


_PORT = _integer(1, 65535)
_COMMON: dict[str, Check] = {"name": _string, "admin_state_up": _boolean, "tags": _tags}

LOADBALANCER_CREATE: dict[str, Check] = {
    **_COMMON,
    "description": _string,
    "project_id": _string,
    "vip_address": _address(nullable=True),
    "vip_subnet_id": _string,
    "vip_network_id": _string,
    "vip_port_id": _string,
    "vip_qos_policy_id": _string,
    "provider": _string,
    "flavor_id": _string,
    "availability_zone": _string,
}
LOADBALANCER_UPDATE: dict[str, Check] = {**_COMMON, "description": _string}
POOL_UPDATE: dict[str, Check] = {
    **_COMMON,
    "description": _string,
    "lb_algorithm": _choice(ALGORITHMS),
    "session_persistence": _object,
    "tls_enabled": _boolean,
}
POOL_CREATE: dict[str, Check] = {
    **POOL_UPDATE,
    "project_id": _string,
    "loadbalancer_id": _string,
    "listener_id": _string,
    "protocol": _choice(PROTOCOLS),
}
MEMBER_UPDATE: dict[str, Check] = {
    **_COMMON,
    "weight": _integer(0, 256),
    "monitor_address": _address(nullable=True),
    "monitor_port": _integer(1, 65535, nullable=True),
    "backup": _boolean,
}
MEMBER_CREATE: dict[str, Check] = {
    **MEMBER_UPDATE,
    "project_id": _string,
    "address": _address(nullable=False),
    "protocol_port": _PORT,
    "subnet_id": _string,
}
REQUIRED = {"pool": ("protocol", "lb_algorithm"), "member": ("address", "protocol_port")}
#: attributes an update may set to null (elsewhere a null means "not given").
_NULLABLE = frozenset({"monitor_address", "monitor_port", "session_persistence"})


def body(data: Any, key: str, schema: dict[str, Check], required: tuple[str, ...] = ()) -> dict:
    """The checked attributes of ``{key: {...}}``; nulls of non-nullable fields are dropped."""
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise invalid(key, data, f"Missing mandatory attribute {key}.")
    fields = data[key]
    unknown = sorted(set(fields) - set(schema))
    if unknown:
        raise invalid(key, fields, f"Unknown attribute for argument {key}: {', '.join(unknown)}")
    for name in required:
        if fields.get(name) is None:
            raise invalid(name, None, "Mandatory field missing.")
    checked = {}
    for name, value in fields.items():
        result = schema[name](name, value)
        if result is not None or name in _NULLABLE:
            checked[name] = result
    return checked


#: list parameters that are not attribute filters.
_NOT_FILTERS = frozenset({"fields", "limit", "marker", "page_reverse", "sort", "sort_dir",
                          "sort_key"})  # fmt: skip
_TAG_FILTERS = frozenset({"tags", "tags-any", "not-tags", "not-tags-any"})


def _matches(value: Any, wanted: str) -> bool:
    if isinstance(value, bool):
        return wanted.lower() in (("true", "1") if value else ("false", "0"))
    if isinstance(value, list):
        return wanted in [v.get("id") if isinstance(v, dict) else str(v) for v in value]
    return ("" if value is None else str(value)) == wanted


def _tag_match(key: str, tags: list[str], wanted: str) -> bool:
    asked = {t for t in wanted.split(",") if t}
    hit = asked <= set(tags) if key in ("tags", "not-tags") else bool(asked & set(tags))
    return hit if not key.startswith("not-") else not hit


def filter_views(
    items: list[dict[str, Any]], query: dict[str, list[str]], aliases: dict[str, str]
) -> list[dict[str, Any]]:
    """Octavia's list filters: attribute equality, tag filters; ``aliases`` rename keys."""
    for key, values in query.items():
        if key in _NOT_FILTERS:
            continue
        if key in _TAG_FILTERS:
            items = [i for i in items if _tag_match(key, i["tags"], values[-1])]
            continue
        attribute = aliases.get(key, key)
        if items and attribute not in items[0]:
            raise LbError(400, f"Invalid filter argument: {key}")
        items = [i for i in items if any(_matches(i[attribute], v) for v in values)]
    return items


def page(
    items: list[dict[str, Any]], query: dict[str, list[str]], url: str, key: str
) -> dict[str, Any]:
    """``{key: [...], key_links: [...]}`` after ``marker``/``limit``/``fields``."""
    marker = (query.get("marker") or [None])[-1]
    if marker is not None:
        ids = [i["id"] for i in items]
        if marker not in ids:
            raise LbError(404, f"Marker {marker} not found.")
        items = items[ids.index(marker) + 1 :]
    links = []
    limit_text = (query.get("limit") or [None])[-1]
    if limit_text is not None:
        try:
            limit = int(limit_text)
        except ValueError:
            raise LbError(400, f"Invalid limit {limit_text!r}") from None
        if 0 <= limit < len(items):
            items = items[:limit]
            rest = {k: v[-1] for k, v in query.items() if k != "marker"}
            rest["marker"] = items[-1]["id"] if items else ""
            links.append({"rel": "next", "href": f"{url}?{urlencode(rest)}"})
    fields = query.get("fields")
    if fields:
        wanted = {f for value in fields for f in value.split(",")}
        items = [{k: v for k, v in i.items() if k in wanted} for i in items]
    return {key: items, f"{key}_links": links}
