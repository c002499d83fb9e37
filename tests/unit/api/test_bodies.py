"""Webhook bodies: which sender, which idempotency key, which few details."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowstack import exceptions
from flowstack.api import bodies
from tests.unit.api import samples

JSON = "application/json"


def parse(document: Any, header: str | None = None) -> bodies.ParsedBody:
    return bodies.parse(json.dumps(document).encode(), JSON, header)


def test_an_empty_body_is_a_generic_signal_whatever_its_type() -> None:
    for content_type in (None, "text/plain", JSON):
        assert bodies.parse(b"", content_type) == (None, "generic", {})
        assert bodies.parse(b" \r\n", content_type) == (None, "generic", {})


def test_any_other_object_is_generic_and_only_its_field_names_are_kept() -> None:
    parsed = parse({"message": "scale please", "secret": "s3cr3t"})
    assert parsed == (None, "generic", {"fields": ["message", "secret"]})
    assert "s3cr3t" not in json.dumps(parsed.details)


def test_aodh_key_is_the_alarm_its_state_and_reason() -> None:
    key = parse(samples.aodh()).idempotency_key
    assert key is not None and key.startswith("aodh:") and len(key) == len("aodh:") + 32
    assert parse(samples.aodh()).idempotency_key == key
    assert parse(samples.aodh(severity="critical")).idempotency_key == key
    assert parse(samples.aodh(current="ok")).idempotency_key != key
    assert parse(samples.aodh(reason="most recent: 95.0")).idempotency_key != key
    assert parse(samples.aodh(alarm_id="another")).idempotency_key != key


def test_aodh_key_prefers_the_state_change_time() -> None:
    at = "2025-05-01T10:00:00.000000"
    key = parse(samples.aodh(state_timestamp=at)).idempotency_key
    # the same state change, however the reason is worded, is one signal
    assert parse(samples.aodh(state_timestamp=at, reason="other words")).idempotency_key == key
    assert parse(samples.aodh(state_timestamp="2025-05-01T10:05:00")).idempotency_key != key
    assert parse(samples.aodh()).idempotency_key != key


def test_aodh_details_are_short_and_descriptive() -> None:
    parsed = parse(samples.aodh(reason="r" * 10000))
    assert parsed.source == "aodh"
    assert parsed.details == {
        "alarm_id": samples.AODH_ALARM["alarm_id"],
        "alarm_name": "web-cpu-high",
        "severity": "moderate",
        "previous": "ok",
        "current": "alarm",
        "reason": "r" * 252 + "...",
    }


def test_details_stay_small_whatever_the_text() -> None:
    wide = "\u00e9\u4e2d" * 500
    fields = ("alarm_name", "severity", "previous", "current", "reason")
    parsed = parse(samples.aodh(alarm_id=wide, **{name: wide for name in fields}))
    assert set(parsed.details) == {"alarm_id", *fields}
    assert len(json.dumps(parsed.details)) <= bodies.MAX_DETAILS_JSON
    document = samples.alertmanager(receiver=wide, groupKey=wide)
    document["commonAnnotations"]["summary"] = wide
    for i, alert in enumerate(document["alerts"] * 20):
        document["alerts"].append({**alert, "labels": {"alertname": f"{wide}{i}"}})
    assert len(json.dumps(parse(document).details)) <= bodies.MAX_DETAILS_JSON


def test_alertmanager_key_is_the_group_its_status_and_its_alerts() -> None:
    firing = samples.alertmanager()
    key = parse(firing).idempotency_key
    assert key is not None and key.startswith("alertmanager:")
    reordered = samples.alertmanager(alerts=list(reversed(firing["alerts"])))
    assert parse(reordered).idempotency_key == key
    assert parse(samples.alertmanager(receiver="other")).idempotency_key == key
    assert parse(samples.alertmanager_resolved()).idempotency_key != key
    restarted = samples.alertmanager()
    restarted["alerts"][0]["startsAt"] = "2025-05-01T11:00:00Z"
    assert parse(restarted).idempotency_key != key
    one_more = samples.alertmanager()
    one_more["alerts"].append({**firing["alerts"][0], "fingerprint": "0000000000000001"})
    assert parse(one_more).idempotency_key != key


def test_alertmanager_without_fingerprints_uses_the_labels() -> None:
    document = samples.alertmanager()
    for alert in document["alerts"]:
        del alert["fingerprint"]
    key = parse(document).idempotency_key
    document["alerts"][1]["labels"]["instance"] = "web-3"
    assert parse(document).idempotency_key != key


def test_alertmanager_details() -> None:
    parsed = parse(samples.alertmanager())
    assert parsed.source == "alertmanager"
    assert parsed.details == {
        "receiver": "flowstack-scale-out",
        "status": "firing",
        "group_key": '{}:{alertname="HighCPU"}',
        "alerts": 2,
        "firing": 2,
        "resolved": 0,
        "alert_names": ["HighCPU"],
        "summary": "CPU above 80% on the web tier",
    }
    assert parse(samples.alertmanager_resolved()).details["resolved"] == 2


def test_the_header_key_wins() -> None:
    assert parse(samples.aodh(), "my-key").idempotency_key == "my-key"
    assert bodies.parse(b"", None, "k-1").idempotency_key == "k-1"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 256, "longer than 255"),
        ("caf\u00e9", "printable ASCII"),
        ("a\tb", "printable ASCII"),
    ],
)
def test_bad_header_keys(header: str, expected: str) -> None:
    with pytest.raises(exceptions.InvalidRequest, match=expected):
        bodies.parse(b"", None, header)
    assert bodies.check_idempotency_key("x" * 255) == "x" * 255


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{}", None, "needs Content-Type: application/json"),
        (b"{}", "text/plain", "'text/plain' is not accepted"),
        (b"{", JSON, r"not valid JSON \(line 1, column 2\)"),
        (b"[]", JSON, "not an array"),
        (b"3", JSON, "not a number"),
        (b"null", JSON, "not null"),
        (b"true", JSON, "not a boolean"),
        (b'{"a": NaN}', JSON, "not valid JSON"),
        (b"\xc3\x28", JSON, "not valid UTF-8"),
        (b"[" * 100000 + b"]" * 100000, JSON, "nested too deeply|not an array"),
        (b'{"alarm_id": 3}', JSON, "alarm_id must be a non-empty string"),
        (b'{"alarm_id": "a", "current": {}}', JSON, "current must be a string"),
        (b'{"groupKey": "g", "alerts": {}}', JSON, "alerts must be a list of objects"),
        (b'{"groupKey": 1, "alerts": []}', JSON, "groupKey must be a string"),
    ],
)
def test_bad_bodies_say_what_is_wrong(body: bytes, content_type: str | None, expected: str) -> None:
    with pytest.raises(exceptions.InvalidRequest, match=expected):
        bodies.parse(body, content_type)


def test_json_media_types() -> None:
    assert bodies.is_json_media_type("application/json; charset=utf-8")
    assert bodies.is_json_media_type("Application/JSON")
    assert bodies.is_json_media_type("application/vnd.alert+json")
    assert not bodies.is_json_media_type("text/json+plain")
    assert not bodies.is_json_media_type(None)
    assert parse({}).source == "generic"
    assert bodies.parse(b"\xef\xbb\xbf{}", JSON).source == "generic"  # a UTF-8 BOM is fine
