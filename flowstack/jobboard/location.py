"""``[jobboard] url`` taken apart: scheme, servers, credentials, path and options.

One parser for every backend, so that each error names the option and its
fault the same way, and so that what is shown of a URL (in errors and logs)
never carries a password: :meth:`Location.safe` masks it, and the options
whose name ends in ``password``.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse

from flowstack import exceptions

OPTION = "[jobboard] url"
MASK = "***"
_HOST = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9_.-]+))(?::(?P<port>.*))?$"
)
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.:-]+$")


def invalid(problem: str) -> exceptions.ConfigError:
    """The one error for a jobboard URL that cannot work: names the option."""
    return exceptions.ConfigError(f"{OPTION}: {problem}")


@dataclasses.dataclass(frozen=True)
class Location:
    """Where a jobboard lives, as ``scheme://[user[:password]@]host[:port][,host...][/path][?k=v]``."""

    scheme: str
    servers: tuple[tuple[str, int | None], ...]
    username: str | None
    password: str | None
    path: str
    options: dict[str, list[str]]

    def safe(self) -> str:
        """The URL as an operator may see it: passwords replaced by ``***``."""
        user = ""
        if self.username is not None or self.password is not None:
            user = urllib.parse.quote(self.username or "", safe="")
            if self.password is not None:
                user += ":" + MASK
            user += "@"
        servers = ",".join(
            (f"[{h}]" if ":" in h else h) + (f":{p}" if p is not None else "")
            for h, p in self.servers
        )
        query = urllib.parse.urlencode(
            [
                (key, MASK if key.endswith("password") else value)
                for key, values in self.options.items()
                for value in values
            ],
            safe="/:*",
        )
        return f"{self.scheme}://{user}{servers}{self.path}" + (f"?{query}" if query else "")

    def servers_with(self, default_port: int) -> list[tuple[str, int]]:
        """Each server as (host, port), the default port filled in."""
        return [(host, default_port if port is None else port) for host, port in self.servers]

    def check_options(self, known: set[str], repeatable: frozenset[str] = frozenset()) -> None:
        """Refuse an option this backend does not know, or one given twice.

        :raises flowstack.exceptions.ConfigError: naming the option and the known ones.
        """
        for key, values in self.options.items():
            if key not in known:
                names = ", ".join(sorted(known)) or "none"
                raise invalid(f"unknown option {key!r} for {self.scheme}:// (known: {names})")
            if len(values) > 1 and key not in repeatable:
                raise invalid(f"option {key!r} is given {len(values)} times")

    def option(self, key: str, default: str | None = None) -> str | None:
        values = self.options.get(key)
        return values[-1] if values else default

    def flag(self, key: str, default: bool = False) -> bool:
        """A yes/no option (true/false, yes/no, 1/0, on/off)."""
        value = self.option(key)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise invalid(f"option {key!r} must be true or false, not {value!r}")


def parse(url: str) -> Location:
    """Take ``url`` apart, checking only its syntax (each backend checks its meaning).

    :raises flowstack.exceptions.ConfigError: naming the option and what is wrong,
        never the password.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme:
        raise invalid(f"{_without_password(url)!r} is not a URL (expected scheme://host:port)")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) if colon else None
    servers = tuple(_server(part) for part in hosts.split(",")) if hosts else ()
    if not servers:
        raise invalid(f"no server in {scheme}:// URL (expected {scheme}://host:port)")
    try:
        options = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise invalid(f"the query {query!r} is not key=value pairs joined by '&'") from None
    return Location(
        scheme=scheme.lower(),
        servers=servers,
        username=username,
        password=password,
        path=slash + path,
        options=options,
    )


def check_namespace(namespace: str) -> None:
    """``[jobboard] namespace`` becomes a key prefix or a path element: keep it plain."""
    if not _NAMESPACE.match(namespace) or namespace in (".", ".."):
        raise exceptions.ConfigError(
            f"[jobboard] namespace: {namespace!r} cannot name keys and paths on every "
            "jobboard; use letters, digits and '-', '_', '.', ':'"
        )


def _server(part: str) -> tuple[str, int | None]:
    match = _HOST.match(part.strip())
    if match is None:
        raise invalid(f"{part!r} is not a host or host:port")
    host = match.group("ipv6") or match.group("name")
    port_text = match.group("port")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise invalid(f"port {port_text!r} of {host} is not a number from 1 to 65535")
    return host, int(port_text)


def _without_password(url: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@/]*@", rf"\1{MASK}@", url)
