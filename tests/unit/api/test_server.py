"""flowstack-api as a process: waitress, the engine link, shutdown, the WSGI module."""

from __future__ import annotations

import http.client
import inspect
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

from flowstack import context, exceptions
from flowstack.api import app as api_app
from flowstack.api import backend
from flowstack.api.app import make_app
from flowstack.autoscaling import webhook_tokens as webhooks
from flowstack.cmd import api as api_cmd
from flowstack.rpc.client import MessagingChannel
from flowstack.rpc.local import LocalChannel
from tests.unit.api.conftest import Client, Engine, serving

ROOT = Path(__file__).resolve().parents[3]
LISTENING = re.compile(r"flowstack-api listening on http://([\d.]+):(\d+)")


class SlowEngine(Engine):
    """Holds every signal until released: a request in progress during shutdown."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, *args: Any) -> dict[str, Any]:
        self.entered.set()
        assert self.release.wait(10)
        return super().__call__(*args)


def test_shutdown_refuses_new_connections_and_answers_those_in_progress(
    conf: cfg.ConfigOpts,
) -> None:
    conf.set_override("bind_port", 0, group="api")
    engine = SlowEngine()
    token = engine.webhook()
    server = api_cmd.ApiServer(make_app(engine, conf), conf)
    serving = threading.Thread(target=server.serve, name="api", daemon=True)
    serving.start()
    [(host, port)] = server.addresses
    client = Client(host, port)
    assert client.request("GET", "/healthz").status == 200

    answers: list[int] = []
    slow = threading.Thread(
        target=lambda: answers.append(client.request("POST", f"/v1/webhooks/{token}").status)
    )
    slow.start()
    assert engine.entered.wait(5)
    server.begin_shutdown()
    deadline = time.monotonic() + 60  # generous: the machine may be busy
    while True:  # the listening socket closes from inside the server loop
        probe = http.client.HTTPConnection(host, port, timeout=5)
        try:
            probe.connect()
        except ConnectionRefusedError:
            break
        finally:
            probe.close()
        assert time.monotonic() < deadline, "still accepting connections"
        time.sleep(0.05)
    assert serving.is_alive()  # still answering what it took in
    engine.release.set()
    slow.join(10)
    serving.join(10)
    assert answers == [202]
    assert not serving.is_alive()


def test_flowstack_api_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "flowstack.conf"
    config.write_text(
        f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\n"
        "[api]\nbind_port = 0\nrun_engine_in_process = true\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flowstack.cmd.api", "--config-file", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            found = LISTENING.search(line)
            if found:
                break
        else:
            pytest.fail("flowstack-api did not start:\n" + "".join(output))
        client = Client(found.group(1), int(found.group(2)))
        assert client.request("GET", "/healthz").status == 200
        unknown = client.request("POST", "/v1/webhooks/not-a-token")
        assert unknown.status == 404
        assert unknown.header("Server") == "flowstack-api"
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
        output.append(rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(output)
    assert "SIGTERM received" in "".join(output)
    assert "flowstack-api stopped" in "".join(output)


def test_the_wsgi_module_builds_the_application_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "flowstack.conf"
    config.write_text(
        f"[DEFAULT]\nstate_path = {tmp_path / 'state'}\n"
        "[api]\nmax_body_bytes = 7\nrun_engine_in_process = true\n"
    )
    probe = (
        "from flowstack.api import wsgi; "
        "print(type(wsgi.application).__name__, wsgi.application.max_body_bytes)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "OS_FLOWSTACK_CONFIG_FILES": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["WebhookApp", "7"]


# -- the engine link --------------------------------------------------------------------


class RpcEngine:
    """An EngineClient's signal_webhooks, recording what it would send."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, list[dict[str, Any]]]] = []

    def signal_webhooks(self, ctx: Any, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.sent.append((ctx, calls))
        return [{"receipt": {"receipt_id": "r-1", "duplicate": False}} for _ in calls]


def test_over_rpc_the_api_calls_as_itself(conf: cfg.ConfigOpts) -> None:
    engine = RpcEngine()
    batcher = backend.rpc_batches(engine)
    try:
        app = make_app(batcher, conf)
        token = webhooks.new_token()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": f"/v1/webhooks/{token}",
            "HTTP_IDEMPOTENCY_KEY": "k-1",
        }
        started: list[str] = []
        app(environ, lambda status, headers: started.append(status))
    finally:
        batcher.close()
    assert started == ["202 Accepted"]
    [(ctx, sent)] = engine.sent
    assert isinstance(ctx, context.RequestContext)
    assert (ctx.project_id, ctx.user_id) == (backend.SERVICE_PROJECT, backend.SERVICE_USER)
    assert sent == [
        {
            "token_hash": webhooks.token_hash(token),
            "idempotency_key": "k-1",
            "source": "generic",
            "details": {},
        }
    ]
    assert api_app.current_request_id() is None  # not left behind on the thread


def test_the_transport_decides_between_rpc_and_embedded(conf: cfg.ConfigOpts) -> None:
    def channel(signal: Any) -> type:
        engine = inspect.getclosurevars(signal._send).nonlocals["engine"]
        return type(engine._channel)

    conf.set_override("run_engine_in_process", True, group="api")
    signal, close = backend.engine_signal(conf)  # no transport: the embedded engine
    try:
        assert channel(signal) is LocalChannel
    finally:
        close()
    conf.set_override("transport_url", "fake:/")
    signal, close = backend.engine_signal(conf)
    try:
        assert channel(signal) is MessagingChannel
    finally:
        close()


def test_without_a_bus_the_api_refuses_unless_asked_to_run_an_engine(
    conf: cfg.ConfigOpts,
) -> None:
    with pytest.raises(exceptions.ConfigError, match=r"\[api\] run_engine_in_process = true"):
        backend.engine_signal(conf)


def test_the_embedded_engine_answers_an_unknown_webhook_with_404(conf: cfg.ConfigOpts) -> None:
    conf.set_override("run_engine_in_process", True, group="api")
    signal, close = backend.engine_signal(conf)
    try:
        with serving(make_app(signal, conf)) as client:
            reply = client.request("POST", f"/v1/webhooks/{webhooks.new_token()}")
    finally:
        close()
    assert reply.status == 404
    assert reply.json()["error"]["message"] == "Webhook not found"
