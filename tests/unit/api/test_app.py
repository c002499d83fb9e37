"""The webhook API over real HTTP: statuses, headers, bodies, and what the logs may hold."""

from __future__ import annotations

import io
import logging
import re
import uuid
from typing import Any

import pytest
from oslo_config import cfg

from flowstack import exceptions
from flowstack.api import app as api_app
from flowstack.api.app import make_app
from flowstack.autoscaling import webhook_tokens as webhooks
from tests.unit.api import samples
from tests.unit.api.conftest import Client, Engine, serving

REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def path(token: str) -> str:
    return f"/v1/webhooks/{token}"


# -- signalling ------------------------------------------------------------------------------


def test_a_post_signals_the_engine_with_the_hash_and_answers_202(
    client: Client, engine: Engine
) -> None:
    token = engine.webhook()
    reply = client.request("POST", path(token))
    assert reply.status == 202
    body = reply.json()
    assert set(body) == {"receipt_id", "duplicate"}
    assert body["duplicate"] is False
    assert reply.header("Content-Type") == "application/json"
    [call] = engine.calls
    assert call.token_hash == webhooks.token_hash(token)
    assert (call.idempotency_key, call.source, call.details) == (None, "generic", {})


def test_the_idempotency_header_is_passed_through_and_wins_over_the_body(
    client: Client, engine: Engine
) -> None:
    token = engine.webhook()
    first = client.post_json(path(token), samples.aodh(), {"Idempotency-Key": "deploy-42"})
    again = client.post_json(path(token), samples.aodh(), {"Idempotency-Key": "deploy-42"})
    assert [c.idempotency_key for c in engine.calls] == ["deploy-42", "deploy-42"]
    assert first.json()["receipt_id"] == again.json()["receipt_id"]
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)


def test_a_bad_idempotency_header_is_400(client: Client, engine: Engine) -> None:
    token = engine.webhook()
    reply = client.request("POST", path(token), b"", {"Idempotency-Key": "x" * 256})
    assert reply.status == 400
    assert "Idempotency-Key" in reply.json()["error"]["message"]
    assert engine.calls == []


def test_aodh_notifications_get_stable_keys(client: Client, engine: Engine) -> None:
    token = engine.webhook()
    for body in (samples.aodh(), samples.aodh(), samples.aodh(current="ok", previous="alarm")):
        assert client.post_json(path(token), body).status == 202
    first, repeated, recovered = engine.calls
    assert first.source == "aodh"
    assert first.idempotency_key is not None and first.idempotency_key.startswith("aodh:")
    assert repeated.idempotency_key == first.idempotency_key
    assert recovered.idempotency_key != first.idempotency_key
    assert first.details["alarm_name"] == "web-cpu-high"
    assert first.details["current"] == "alarm"


def test_alertmanager_notifications_get_stable_keys(client: Client, engine: Engine) -> None:
    token = engine.webhook()
    bodies = (samples.alertmanager(), samples.alertmanager(), samples.alertmanager_resolved())
    replies = [client.post_json(path(token), body) for body in bodies]
    assert [r.status for r in replies] == [202, 202, 202]
    assert replies[1].json() == {"receipt_id": replies[0].json()["receipt_id"], "duplicate": True}
    firing, repeated, resolved = engine.calls
    assert firing.source == "alertmanager"
    assert firing.idempotency_key is not None and firing.idempotency_key.startswith("alertmanager:")
    assert repeated.idempotency_key == firing.idempotency_key
    assert resolved.idempotency_key != firing.idempotency_key
    assert firing.details["alert_names"] == ["HighCPU"]
    assert firing.details["firing"] == 2


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"alarm_id": ', "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object, not an array"),
        (b'"up"', "application/json", "must be a JSON object, not a string"),
        (b"alarm=1", "application/x-www-form-urlencoded", "send application/json"),
        (b"\xff\xfe{}", "application/json", "not valid UTF-8"),
    ],
)
def test_a_bad_body_is_400_naming_the_problem(
    client: Client, engine: Engine, body: bytes, content_type: str, expected: str
) -> None:
    token = engine.webhook()
    reply = client.request("POST", path(token), body, {"Content-Type": content_type})
    assert reply.status == 400
    error = reply.json()["error"]
    assert (error["code"], error["title"]) == (400, "Bad Request")
    assert expected in error["message"]
    assert engine.calls == []


def test_a_body_over_the_limit_is_413_and_never_reaches_the_engine(
    client: Client, engine: Engine
) -> None:
    token = engine.webhook()
    just_enough = b'{"pad": "' + b"x" * (1024 - 11) + b'"}'
    assert len(just_enough) == 1024
    headers = {"Content-Type": "application/json"}
    assert client.request("POST", path(token), just_enough, headers).status == 202
    too_big = client.request("POST", path(token), just_enough + b" ", headers)
    assert too_big.status == 413
    assert too_big.json()["error"]["code"] == 413
    chunked = client.request(
        "POST",
        path(token),
        iter([just_enough, b" " * 10]),
        {**headers, "Transfer-Encoding": "chunked"},
        chunked=True,
    )
    assert chunked.status == 413
    assert len(engine.calls) == 1


# -- nothing to probe ------------------------------------------------------------------------


def test_unknown_disabled_and_malformed_webhooks_look_exactly_alike(
    client: Client, engine: Engine
) -> None:
    disabled = engine.webhook(enabled=False)
    unknown = webhooks.new_token()
    request_id = f"req-{uuid.uuid4()}"
    headers = {"X-Openstack-Request-Id": request_id, "Content-Type": "application/json"}
    replies = [
        client.request("POST", path(token), b"{}", headers)
        for token in (unknown, disabled, "too-short", unknown + "A", "%2E%2E")
    ]
    assert replies[0].status == 404
    assert replies[0].json()["error"]["message"] == "Webhook not found"
    assert all(r.comparable() == replies[0].comparable() for r in replies[1:])
    # malformed tokens are refused before the engine is asked
    assert [c.token_hash for c in engine.calls] == [
        webhooks.token_hash(unknown),
        webhooks.token_hash(disabled),
    ]


def test_other_methods_on_a_webhook_are_405(client: Client, engine: Engine) -> None:
    token = engine.webhook()
    for method in ("GET", "PUT", "DELETE"):
        reply = client.request(method, path(token))
        assert reply.status == 405
        assert reply.header("Allow") == "POST"
    assert client.request("GET", path("not-even-a-token")).header("Allow") == "POST"
    assert engine.calls == []


def test_unknown_paths_are_json_404s(client: Client) -> None:
    for where in ("/", "/v1", "/v1/webhooks", "/v2/webhooks/abc", "/v1/webhooks/a/b"):
        reply = client.request("POST", where)
        assert reply.status == 404, where
        assert reply.json()["error"] == {
            "code": 404,
            "title": "Not Found",
            "message": "No such resource",
        }


# -- limits and failures ---------------------------------------------------------------------


def test_a_webhook_sending_too_fast_gets_429_with_retry_after(
    engine: Engine, api_conf: cfg.ConfigOpts
) -> None:
    api_conf.set_override("rate_limit_per_webhook", 0.01, group="api")
    api_conf.set_override("rate_limit_burst", 3, group="api")
    noisy, quiet = engine.webhook(), engine.webhook()
    with serving(make_app(engine, api_conf)) as client:
        statuses = [client.request("POST", path(noisy)).status for _ in range(4)]
        limited = client.request("POST", path(noisy))
        other = client.request("POST", path(quiet))
    assert statuses == [202, 202, 202, 429]
    assert limited.status == 429
    assert int(limited.header("Retry-After") or "0") >= 1
    assert limited.json()["error"]["code"] == 429
    assert other.status == 202  # one bucket per webhook
    assert len(engine.calls) == 4


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (exceptions.EngineUnavailable(method="signal_webhook", timeout=60), 503),
        (exceptions.DatabaseUnavailable("database down"), 503),
        (exceptions.GroupBusy(group="web/asg", state="DELETING", why="being deleted"), 409),
        (exceptions.InvalidRequest("details too large", field="details"), 400),
        (exceptions.GroupNotFound(group="g-1"), 404),
    ],
)
def test_engine_errors_map_to_statuses(
    client: Client, engine: Engine, raised: Exception, status: int
) -> None:
    token = engine.webhook()
    engine.fail_with = raised
    reply = client.request("POST", path(token))
    assert reply.status == status
    assert reply.json()["error"]["code"] == status
    if status == 404:  # whatever the engine could not find, the caller learns nothing more
        assert reply.json()["error"]["message"] == "Webhook not found"
    if status == 503:  # the engine's own words are for the operator's log
        assert "[rpc]" not in reply.json()["error"]["message"]


def test_an_unexpected_error_is_500_with_the_request_id(client: Client, engine: Engine) -> None:
    token = engine.webhook()
    engine.fail_with = RuntimeError("engine bug")
    reply = client.request("POST", path(token))
    assert reply.status == 500
    request_id = reply.header("X-Openstack-Request-Id")
    assert request_id is not None
    assert request_id in reply.json()["error"]["message"]
    assert "engine bug" not in reply.body.decode()


# -- health, request ids ---------------------------------------------------------------------


def test_healthz(client: Client) -> None:
    reply = client.request("GET", "/healthz")
    assert (reply.status, reply.json()) == (200, {"status": "ok"})
    head = client.request("HEAD", "/healthz")
    assert (head.status, head.body) == (200, b"")
    assert client.request("POST", "/healthz").status == 405


def test_every_answer_has_a_request_id_and_a_good_one_is_echoed(
    client: Client, engine: Engine
) -> None:
    token = engine.webhook()
    mine = f"req-{uuid.uuid4()}"
    for method, where in (("GET", "/healthz"), ("POST", path(token)), ("GET", "/nowhere")):
        reply = client.request(method, where)
        assert REQUEST_ID.match(reply.header("X-Openstack-Request-Id") or ""), where
        echoed = client.request(method, where, headers={"X-Openstack-Request-Id": mine})
        assert echoed.header("X-Openstack-Request-Id") == mine
    forged = client.request("GET", "/healthz", headers={"X-Openstack-Request-Id": "req-1234"})
    assert REQUEST_ID.match(forged.header("X-Openstack-Request-Id") or "")
    assert forged.header("X-Openstack-Request-Id") != "req-1234"


# -- logs --------------------------------------------------------------------------------


def test_no_log_line_ever_holds_a_token(
    client: Client, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token, unknown = engine.webhook(), webhooks.new_token()
    client.post_json(path(token), samples.aodh())
    client.request("POST", path(unknown))
    client.request("GET", path(token))
    client.request("POST", path(token), b"{", {"Content-Type": "application/json"})
    client.request("POST", path(token) + "/extra")
    client.request("POST", f"/v2/hooks/{token}?token={token}")
    engine.fail_with = RuntimeError("engine bug")
    client.request("POST", path(token))

    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert token not in logged
    assert unknown not in logged
    access = [r.getMessage() for r in caplog.records if r.name == "flowstack.api.access"]
    assert len(access) == 7
    fingerprint = webhooks.fingerprint(webhooks.token_hash(token))
    assert f"POST /v1/webhooks/<redacted:{fingerprint}> 202" in access[0]
    assert "Traceback" in caplog.text and "engine bug" in caplog.text  # the 500 is logged


def test_redacted_paths() -> None:
    token = webhooks.new_token()
    fingerprint = webhooks.fingerprint(webhooks.token_hash(token))
    assert api_app.redact_path(path(token)) == f"/v1/webhooks/<redacted:{fingerprint}>"
    assert api_app.redact_path(path(token) + "/x") == (
        f"/v1/webhooks/<redacted:{fingerprint}>/<redacted>"
    )
    assert api_app.redact_path(f"/hooks/{token}") == "/hooks/<redacted>"
    assert api_app.redact_path("/healthz") == "/healthz"
    assert api_app.redact_path("/a b\r\nforged") == "/a?b??forged"


# -- reading bodies without a Content-Length ------------------------------------------------


def _environ(body: bytes, **extra: Any) -> dict[str, Any]:
    return {"wsgi.input": io.BytesIO(body), **extra}


def test_a_body_without_content_length_is_read_up_to_the_limit() -> None:
    terminated = {"wsgi.input_terminated": True}
    assert api_app.read_body(_environ(b"x" * 10, **terminated), 10) == b"x" * 10
    with pytest.raises(api_app.BodyTooLarge):
        api_app.read_body(_environ(b"x" * 11, **terminated), 10)
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked"}
    with pytest.raises(api_app.BodyTooLarge):
        api_app.read_body(_environ(b"x" * 11, **chunked), 10)
    # PEP 3333: no length and no end-of-input promise means no body
    assert api_app.read_body(_environ(b"ignored"), 10) == b""


def test_a_content_length_decides_before_reading() -> None:
    assert api_app.read_body(_environ(b"abcdef", CONTENT_LENGTH="3"), 10) == b"abc"
    with pytest.raises(api_app.BodyTooLarge):
        api_app.read_body(_environ(b"", CONTENT_LENGTH="11"), 10)
    with pytest.raises(exceptions.InvalidRequest):
        api_app.read_body(_environ(b"", CONTENT_LENGTH="-1"), 10)
