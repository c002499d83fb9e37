"""The WSGI application of flowstack-api: webhooks in, receipts out.

Routes::

    POST /v1/webhooks/{token}   signal the webhook's policy: 202 and a receipt
    GET  /healthz               liveness: 200 {"status": "ok"}

A webhook that is unknown, disabled or malformed gets the very same 404, so
that nothing can be learned by probing.  Every answer carries
``X-Openstack-Request-Id`` (the caller's own when it sends a well-formed
one) and errors are JSON: ``{"error": {"code", "title", "message"}}``.

The token never leaves this module in clear: it is hashed as soon as the
path is read, the engine gets the hash, and logs show the fingerprint.  One
access log line per request (logger ``flowstack.api.access``) carries the
method, the redacted path, the status, the duration and the request id.
"""

from __future__ import annotations

import http
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from flowstack import exceptions
from flowstack.api import bodies, ratelimit
from flowstack.autoscaling import webhook_tokens as webhooks

LOG = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("flowstack.api.access")

#: The engine's ``signal_webhook(token_hash, idempotency_key, source, details) -> receipt``.
Signal = Callable[[str, str | None, str, dict[str, Any]], dict[str, Any]]
StartResponse = Callable[..., Any]

REQUEST_ID_HEADER = "X-Openstack-Request-Id"
_REQUEST_ID = re.compile(
    r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
#: Path segments that look like a secret (a token sent to the wrong path) are not logged.
_SECRET_LOOKING = re.compile(r"[A-Za-z0-9_-]{20,}")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")
MAX_LOGGED_PATH = 200
READ_CHUNK = 65536

HEALTH_PATH = "/healthz"
_current = threading.local()
WEBHOOK_NOT_FOUND = "Webhook not found"


@dataclass
class Response:
    status: int
    body: dict[str, Any] | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def error(status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A JSON error answer in the one shape every error has."""
    title = http.HTTPStatus(status).phrase
    return Response(
        status, {"error": {"code": status, "title": title, "message": message}}, list(headers)
    )


class BodyTooLarge(Exception):
    """The request body is above ``[api] max_body_bytes``."""


class WebhookApp:
    """The WSGI callable; thread-safe (one instance serves every server thread)."""

    def __init__(
        self, signal: Signal, *, max_body_bytes: int, limiter: ratelimit.RateLimiter
    ) -> None:
        self.signal = signal
        self.max_body_bytes = max_body_bytes
        self.limiter = limiter
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Requests being handled now (a graceful shutdown waits for 0)."""
        with self._lock:
            return self._in_flight

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        started = time.monotonic()
        request_id = request_id_from(environ)
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        _current.request_id = request_id
        with self._lock:
            self._in_flight += 1
        try:
            response = self._route(environ, method, request_id)
        except Exception:  # a bug here: answer, never let the server log the path
            LOG.exception("flowstack-api failed unexpectedly (request %s)", request_id)
            response = internal_error(request_id)
        finally:
            with self._lock:
                self._in_flight -= 1
            _current.request_id = None
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            (REQUEST_ID_HEADER, request_id),
            *response.headers,
        ]
        start_response(f"{response.status} {http.HTTPStatus(response.status).phrase}", headers)
        ACCESS_LOG.info(
            "%s %s %s %d %.1fms %s",
            environ.get("REMOTE_ADDR", "-"),
            _printable(method, 16),
            redact_path(str(environ.get("PATH_INFO", ""))),
            response.status,
            (time.monotonic() - started) * 1000.0,
            request_id,
        )
        return [b"" if method == "HEAD" else payload]

    # -- routing ---------------------------------------------------------------------------

    def _route(self, environ: dict[str, Any], method: str, request_id: str) -> Response:
        path = str(environ.get("PATH_INFO", ""))
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return error(405, "Use GET", [("Allow", "GET, HEAD")])
            return Response(200, {"status": "ok"})
        if path.startswith(webhooks.WEBHOOK_PATH_PREFIX):
            token = path[len(webhooks.WEBHOOK_PATH_PREFIX) :]
            if "/" not in token:
                if method != "POST":
                    return error(405, "Webhooks accept POST only", [("Allow", "POST")])
                return self._webhook(environ, token, request_id)
        return error(404, "No such resource")

    def _webhook(self, environ: dict[str, Any], token: str, request_id: str) -> Response:
        if not webhooks.is_well_formed(token):
            return webhook_not_found()
        digest = webhooks.token_hash(token)
        del token  # from here on only the hash exists
        fingerprint = webhooks.fingerprint(digest)
        wait = self.limiter.acquire(digest)
        if wait > 0:
            return error(
                429,
                "Too many requests for this webhook; retry later",
                [("Retry-After", str(ratelimit.retry_after(wait)))],
            )
        try:
            body = read_body(environ, self.max_body_bytes)
            parsed = bodies.parse(
                body, environ.get("CONTENT_TYPE"), environ.get("HTTP_IDEMPOTENCY_KEY")
            )
        except BodyTooLarge:
            return error(413, f"The request body is larger than {self.max_body_bytes} bytes")
        except exceptions.InvalidInput as exc:
            return error(400, exc.message)
        try:
            receipt = self.signal(digest, parsed.idempotency_key, parsed.source, parsed.details)
        except exceptions.NotFound:
            return webhook_not_found()
        except exceptions.InvalidInput as exc:
            return error(400, exc.message)
        except exceptions.Conflict as exc:
            return error(409, exc.message)
        except exceptions.EngineInternalError as exc:
            LOG.error("Webhook %s: %s (request %s)", fingerprint, exc.message, request_id)
            return internal_error(request_id)
        except (exceptions.EngineError, exceptions.DatabaseUnavailable) as exc:
            LOG.warning("Webhook %s: %s (request %s)", fingerprint, exc.message, request_id)
            return error(503, "The scaling engine is unavailable; retry later")
        except Exception:
            LOG.exception(
                "Signalling webhook %s failed unexpectedly (request %s)", fingerprint, request_id
            )
            return internal_error(request_id)
        duplicate = bool(receipt.get("duplicate"))
        LOG.info(
            "Webhook %s: %s signal, receipt %s%s (request %s)",
            fingerprint,
            parsed.source,
            receipt.get("receipt_id"),
            " (duplicate)" if duplicate else "",
            request_id,
        )
        return Response(202, {"receipt_id": receipt.get("receipt_id"), "duplicate": duplicate})


def make_app(signal: Signal, conf: cfg.ConfigOpts) -> WebhookApp:
    """The application for ``conf``'s [api] options; ``signal`` reaches the engine."""
    return WebhookApp(
        signal,
        max_body_bytes=conf.api.max_body_bytes,
        limiter=ratelimit.RateLimiter(conf.api.rate_limit_per_webhook, conf.api.rate_limit_burst),
    )


def webhook_not_found() -> Response:
    """Unknown, disabled, deleted and malformed webhooks all get exactly this."""
    return error(404, WEBHOOK_NOT_FOUND)


def internal_error(request_id: str) -> Response:
    return error(500, f"Internal error; the service log has the details under {request_id}")


def current_request_id() -> str | None:
    """The id of the request this thread is handling (for the engine call's context)."""
    return getattr(_current, "request_id", None)


def request_id_from(environ: dict[str, Any]) -> str:
    """The caller's ``req-<uuid>`` when well-formed (Aodh sends one), else a new one."""
    given = str(environ.get("HTTP_X_OPENSTACK_REQUEST_ID", "")).strip()
    if _REQUEST_ID.fullmatch(given):
        return given.lower()
    return f"req-{uuid.uuid4()}"


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes before reading them all.

    With a ``Content-Length`` the length decides; without one (a chunked
    request on a server that does not set it), reading stops one byte past
    the limit.
    """
    stream = environ.get("wsgi.input")
    given = str(environ.get("CONTENT_LENGTH") or "").strip()
    if given:
        if not given.isdigit():
            raise exceptions.InvalidRequest("Content-Length is not a number", field="headers")
        length = int(given)
        if length > limit:
            raise BodyTooLarge()
        return _read(stream, length) if length else b""
    chunked = "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if stream is None or not (chunked or environ.get("wsgi.input_terminated")):
        return b""  # PEP 3333: no length, no body
    data = _read(stream, limit + 1)
    if len(data) > limit:
        raise BodyTooLarge()
    return data


def _read(stream: Any, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(remaining, READ_CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def redact_path(path: str) -> str:
    """The path as logs may show it: a webhook token becomes its fingerprint."""
    if path.startswith(webhooks.WEBHOOK_PATH_PREFIX):
        token, slash, rest = path[len(webhooks.WEBHOOK_PATH_PREFIX) :].partition("/")
        shown = f"<redacted:{webhooks.fingerprint(webhooks.token_hash(token))}>"
        return webhooks.WEBHOOK_PATH_PREFIX + shown + (slash + "<redacted>" if rest else "")
    segments = [
        "<redacted>" if _SECRET_LOOKING.search(segment) else segment for segment in path.split("/")
    ]
    return _printable("/".join(segments), MAX_LOGGED_PATH)


def _printable(text: str, limit: int) -> str:
    """No control characters or spaces in a log line (they could forge entries)."""
    text = _UNPRINTABLE.sub("?", text)
    return text if len(text) <= limit else text[:limit] + "..."
