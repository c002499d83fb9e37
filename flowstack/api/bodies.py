"""What a webhook request says: an idempotency key, its source and a few details.

Monitoring systems retry and repeat notifications. The key lets the engine
recognise a notification it already acted on: a client's ``Idempotency-Key``
header when there is one, else a key derived from the body of the two
senders flowstack knows:

* **Aodh** (its ``http``/``https`` alarm actions): ``alarm_id``,
  ``alarm_name``, ``severity``, ``previous``, ``current``, ``reason``,
  ``reason_data``. The key is the alarm and its state change time when the
  body carries one, else the alarm, its new state and the reason.
* **Prometheus Alertmanager** (``webhook_config``, payload ``version`` 4):
  ``groupKey``, ``status``, ``receiver`` and ``alerts``. The key is the group,
  its status and each alert's fingerprint, start time and status, so a
  repeated notification of the same alerts maps to the same key.

Any other JSON object (or an empty body) is a generic signal without a key.
``details`` keeps only short descriptive fields, never the body itself: it
ends up in the scale event that users read back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from flowstack import exceptions

SOURCE_AODH = "aodh"
SOURCE_ALERTMANAGER = "alertmanager"
SOURCE_GENERIC = "generic"

MAX_IDEMPOTENCY_KEY = 255
MAX_TEXT = 255
MAX_NAMES = 10
#: Most characters ``details`` may take as JSON (the engine's RPC API accepts 4096).
MAX_DETAILS_JSON = 2048
#: Hex characters of sha256 kept in a body-derived key (128 bits).
KEY_HASH_LENGTH = 32
#: Aodh fields that may carry the time of the state change (forks and proxies add them).
AODH_TIME_FIELDS = ("state_timestamp", "timestamp")


class ParsedBody(NamedTuple):
    idempotency_key: str | None
    source: str
    details: dict[str, Any]


def parse(
    body: bytes, content_type: str | None, idempotency_header: str | None = None
) -> ParsedBody:
    """Read a webhook request; :class:`~flowstack.exceptions.InvalidRequest` says what is wrong.

    ``idempotency_header`` (the ``Idempotency-Key`` header) wins over a key
    derived from the body.
    """
    header_key = None
    if idempotency_header is not None:
        header_key = check_idempotency_key(idempotency_header)
    if not body.strip():
        return ParsedBody(header_key, SOURCE_GENERIC, {})
    document = _json_object(body, content_type)
    if "alarm_id" in document:
        key, source, details = _aodh(document)
    elif "groupKey" in document and "alerts" in document:
        key, source, details = _alertmanager(document)
    else:
        key, source, details = None, SOURCE_GENERIC, _generic(document)
    return ParsedBody(header_key or key, source, details)


def check_idempotency_key(value: str) -> str:
    """A client's key as given: 1 to 255 printable ASCII characters."""
    if not value.strip():
        raise exceptions.InvalidRequest("The Idempotency-Key header is empty", field="headers")
    if len(value) > MAX_IDEMPOTENCY_KEY:
        raise exceptions.InvalidRequest(
            f"The Idempotency-Key header is longer than {MAX_IDEMPOTENCY_KEY} characters",
            field="headers",
        )
    if not all(" " <= ch <= "~" for ch in value):
        raise exceptions.InvalidRequest(
            "The Idempotency-Key header must be printable ASCII characters", field="headers"
        )
    return value


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type, parameters (charset) aside."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _json_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    if not content_type:
        raise exceptions.InvalidRequest(
            "A request body needs Content-Type: application/json", field="body"
        )
    if not is_json_media_type(content_type):
        media = content_type.split(";", 1)[0].strip()[:64]
        raise exceptions.InvalidRequest(
            f"Content-Type {media!r} is not accepted; send application/json", field="body"
        )
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise exceptions.InvalidRequest("The body is not valid UTF-8", field="body") from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise exceptions.InvalidRequest(
            f"The body is not valid JSON{where}", field="body"
        ) from None
    except RecursionError:
        raise exceptions.InvalidRequest("The body is nested too deeply", field="body") from None
    if not isinstance(document, dict):
        raise exceptions.InvalidRequest(
            f"The body must be a JSON object, not {_json_type(document)}", field="body"
        )
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


# -- Aodh ---------------------------------------------------------------------------------


def _aodh(document: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    alarm_id = document["alarm_id"]
    if not isinstance(alarm_id, str) or not alarm_id:
        raise exceptions.InvalidRequest(
            "Aodh notification: alarm_id must be a non-empty string", field="alarm_id"
        )
    for name in ("current", "previous", "reason", "alarm_name", "severity"):
        value = document.get(name)
        if value is not None and not isinstance(value, str):
            raise exceptions.InvalidRequest(
                f"Aodh notification: {name} must be a string", field=name
            )
    changed_at = next(
        (
            str(document[name])
            for name in AODH_TIME_FIELDS
            if isinstance(document.get(name), str | int | float) and document[name] != ""
        ),
        None,
    )
    if changed_at is not None:
        material: list[Any] = [alarm_id, "at", changed_at, document.get("current")]
    else:
        material = [alarm_id, "state", document.get("current"), document.get("reason")]
    details = _compact(
        {
            "alarm_id": _text(alarm_id),
            "alarm_name": _text(document.get("alarm_name")),
            "severity": _text(document.get("severity")),
            "previous": _text(document.get("previous")),
            "current": _text(document.get("current")),
            "reason": _text(document.get("reason")),
        }
    )
    return _derived_key(SOURCE_AODH, material), SOURCE_AODH, details


# -- Prometheus Alertmanager -------------------------------------------------------------


def _alertmanager(document: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    group_key, status, alerts = document["groupKey"], document.get("status"), document["alerts"]
    if not isinstance(group_key, str):
        raise exceptions.InvalidRequest(
            "Alertmanager notification: groupKey must be a string", field="groupKey"
        )
    if status is not None and not isinstance(status, str):
        raise exceptions.InvalidRequest(
            "Alertmanager notification: status must be a string", field="status"
        )
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise exceptions.InvalidRequest(
            "Alertmanager notification: alerts must be a list of objects", field="alerts"
        )
    identities = sorted(
        [
            _identity(alert),
            str(alert.get("startsAt") or ""),
            str(alert.get("status") or ""),
        ]
        for alert in alerts
    )
    names = sorted(
        {
            name
            for alert in alerts
            if isinstance(alert.get("labels"), dict)
            and isinstance(name := alert["labels"].get("alertname"), str)
        }
    )
    common = document.get("commonAnnotations")
    summary = common.get("summary") if isinstance(common, dict) else None
    details = _compact(
        {
            "receiver": _text(document.get("receiver")),
            "status": _text(status),
            "group_key": _text(group_key),
            "alerts": len(alerts),
            "firing": sum(1 for a in alerts if a.get("status") == "firing"),
            "resolved": sum(1 for a in alerts if a.get("status") == "resolved"),
            "alert_names": [_text(n, 64) for n in names[:MAX_NAMES]] or None,
            "summary": _text(summary),
        }
    )
    material = [group_key, status, identities]
    return _derived_key(SOURCE_ALERTMANAGER, material), SOURCE_ALERTMANAGER, details


def _identity(alert: Mapping[str, Any]) -> str:
    """Alertmanager's fingerprint of the alert, or its labels when it sends none."""
    fp = alert.get("fingerprint")
    if isinstance(fp, str) and fp:
        return fp
    labels = alert.get("labels")
    return json.dumps(labels if isinstance(labels, dict) else None, sort_keys=True, default=str)


# -- any other JSON object ---------------------------------------------------------------


def _generic(document: Mapping[str, Any]) -> dict[str, Any]:
    """Only which top-level fields were sent: enough to recognise the sender later."""
    fields = sorted(str(name)[:64] for name in document)[:MAX_NAMES]
    return {"fields": fields} if fields else {}


# -- helpers -------------------------------------------------------------------------------


def _derived_key(source: str, material: Any) -> str:
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{source}:{digest[:KEY_HASH_LENGTH]}"


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """A short string for ``details``: scalars only, cut at ``limit`` characters."""
    if value is None or isinstance(value, dict | list):
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _compact(details: dict[str, Any]) -> dict[str, Any]:
    """The fields that have a value, shortened until they fit in MAX_DETAILS_JSON.

    Non-ASCII text takes up to six characters per character as JSON, so the
    per-field limit alone does not bound the whole.
    """
    details = {name: value for name, value in details.items() if value is not None}
    limit = MAX_TEXT
    while len(json.dumps(details)) > MAX_DETAILS_JSON and limit > 8:
        limit //= 2
        details = {name: _shorter(value, limit) for name, value in details.items()}
    return details


def _shorter(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return _text(value, limit)
    if isinstance(value, list):
        return [_text(item, limit) for item in value]
    return value
