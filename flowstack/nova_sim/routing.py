"""Transport-free request/response values and a small regex router.

The HTTP server turns a socket into a :class:`Request`, the apps turn a
:class:`Request` into a :class:`Response`; the apps can therefore be tested and
reused without sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from flowstack.nova_sim.faults import Subject


class MalformedBody(ValueError):
    """The request body is not the JSON object the route needs."""


@dataclass
class Request:
    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    client: str = ""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in self.headers.items()}
        self.query: dict[str, list[str]] = parse_qs(self.query_string, keep_blank_values=True)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def base_url(self) -> str:
        host = self.header("host") or "localhost"
        proto = self.header("x-forwarded-proto") or "http"
        return f"{proto}://{host}"

    def json(self) -> Any:
        if not self.body:
            raise MalformedBody("Malformed request body")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise MalformedBody("Malformed request body") from exc


@dataclass
class Response:
    status: int
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"
    #: lost-response faults: close the connection without answering...
    drop: bool = False
    #: ...or answer only after this many seconds.
    delay: float = 0.0
    #: the server this response is about (lost-response rules select on it).
    subject: Subject | None = None

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[..., Response]


class Router:
    """Maps (method, path regex) to handlers; path groups become keyword arguments."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []

    def add(self, pattern: str, **methods: Handler) -> None:
        self._routes.append((re.compile(f"^{pattern}$"), methods))

    def match(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """(handler, path args, path_known): path_known without handler means 405."""
        for regex, methods in self._routes:
            found = regex.match(path)
            if found:
                return methods.get(method), found.groupdict(), True
        return None, {}, False
