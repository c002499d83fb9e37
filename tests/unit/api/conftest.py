"""The webhook API over real HTTP: a waitress server in a thread, and its engine peer.

The peer is a small ``signal`` function with the engine's contract: it knows
enabled and disabled webhooks by token hash, raises WebhookNotFound for the
others (and the disabled ones), and hands out one receipt per idempotency key.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from oslo_config import cfg
from waitress import wasyncore
from waitress.server import create_server

from flowstack import exceptions
from flowstack.api.app import WebhookApp, make_app
from flowstack.autoscaling import webhook_tokens as webhooks


@dataclass(frozen=True)
class Call:
    token_hash: str
    idempotency_key: str | None
    source: str
    details: dict[str, Any]


@dataclass
class Engine:
    """What ``signal_webhook`` promises, in memory."""

    enabled: set[str] = field(default_factory=set)
    disabled: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    receipts: dict[tuple[str, str], str] = field(default_factory=dict)
    fail_with: BaseException | None = None

    def webhook(self, *, enabled: bool = True) -> str:
        """A new webhook's token (the engine itself keeps only the hash)."""
        token = webhooks.new_token()
        (self.enabled if enabled else self.disabled).add(webhooks.token_hash(token))
        return token

    def __call__(
        self, token_hash: str, idempotency_key: str | None, source: str, details: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls.append(Call(token_hash, idempotency_key, source, details))
        if self.fail_with is not None:
            raise self.fail_with
        if token_hash not in self.enabled:
            raise exceptions.WebhookNotFound()
        duplicate = idempotency_key is not None and (token_hash, idempotency_key) in self.receipts
        if duplicate:
            receipt_id = self.receipts[(token_hash, idempotency_key)]  # type: ignore[index]
        else:
            receipt_id = str(uuid.uuid4())
            if idempotency_key is not None:
                self.receipts[(token_hash, idempotency_key)] = receipt_id
        return {
            "receipt_id": receipt_id,
            "group_id": "g-1",
            "status": "PENDING",
            "decision": "received -> coalesced",
            "desired_before": 2,
            "desired_after": 3,
            "flow_id": None,
            "duplicate": duplicate,
        }


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)

    def comparable(self) -> tuple[int, list[tuple[str, str]], bytes]:
        """Everything but the Date header, which only says when."""
        return self.status, [(k, v) for k, v in self.headers if k.lower() != "date"], self.body


@dataclass
class Client:
    host: str
    port: int

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        *,
        chunked: bool = False,
    ) -> Reply:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(
                method, path, body=body, headers=headers or {}, encode_chunked=chunked
            )
            response = connection.getresponse()
            return Reply(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    def post_json(self, path: str, document: Any, headers: dict[str, str] | None = None) -> Reply:
        return self.request(
            "POST",
            path,
            json.dumps(document).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )


@contextlib.contextmanager
def serving(app: WebhookApp) -> Iterator[Client]:
    """``app`` behind waitress on a free port of 127.0.0.1, for the ``with`` block."""
    socket_map: dict[Any, Any] = {}
    server = create_server(app, map=socket_map, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield Client("127.0.0.1", server.effective_port)
    finally:
        # Closed from inside the server loop, which then ends (its map is empty).
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))
        except OSError:  # the trigger's pipe is already gone: close from here
            wasyncore.close_all(socket_map)
        thread.join(10)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive()


@pytest.fixture
def engine() -> Engine:
    return Engine()


@pytest.fixture
def api_conf(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    conf.set_override("max_body_bytes", 1024, group="api")
    return conf


@pytest.fixture
def client(engine: Engine, api_conf: cfg.ConfigOpts) -> Iterator[Client]:
    with serving(make_app(engine, api_conf)) as running:
        yield running
