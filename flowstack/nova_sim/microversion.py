"""Compute API microversions: parsing the request headers, echoing them back.

Nova reads ``OpenStack-API-Version: compute 2.x`` first and falls back to the
legacy ``X-OpenStack-Nova-API-Version: 2.x``; no header means 2.1, ``latest``
means the maximum. A malformed version is a 400, one outside [min, max] a 406.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Self

HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE_TYPE = "compute"

_VERSION_RE = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


class InvalidVersionString(ValueError):
    def __init__(self, version: str) -> None:
        super().__init__(
            f"API Version String {version} is of invalid format. "
            "Must be of format MajorNum.MinorNum."
        )


class VersionNotSupported(ValueError):
    def __init__(self, requested: APIVersion, low: APIVersion, high: APIVersion) -> None:
        super().__init__(
            f"Version {requested} is not supported by the API. "
            f"Minimum is {low} and maximum is {high}."
        )


@dataclass(frozen=True, order=True)
class APIVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Self:
        match = _VERSION_RE.match(text.strip())
        if not match:
            raise InvalidVersionString(text)
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, text: str) -> bool:
        """True when this request's version is ``text`` or newer."""
        return self >= APIVersion.parse(text)


def _from_new_header(value: str) -> str | None:
    """The compute entry of ``OpenStack-API-Version`` (may list several services)."""
    for item in value.split(","):
        parts = item.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
            return parts[1].strip()
    return None


def requested_version(headers: dict[str, str], low: APIVersion, high: APIVersion) -> APIVersion:
    """The microversion a request asks for.

    ``headers`` maps lower-cased header names to values.

    :raises InvalidVersionString: the header is not ``Major.Minor`` or ``latest``.
    :raises VersionNotSupported: the version is outside [low, high].
    """
    text = None
    if HEADER.lower() in headers:
        text = _from_new_header(headers[HEADER.lower()])
    if text is None and LEGACY_HEADER.lower() in headers:
        text = headers[LEGACY_HEADER.lower()].strip()
    if text is None:
        return low
    if text.lower() == "latest":
        return high
    version = APIVersion.parse(text)
    if not low <= version <= high:
        raise VersionNotSupported(version, low, high)
    return version


def response_headers(version: APIVersion) -> list[tuple[str, str]]:
    """The headers Nova adds to every versioned response (errors included)."""
    return [
        (HEADER, f"{SERVICE_TYPE} {version}"),
        (LEGACY_HEADER, str(version)),
        ("Vary", f"{HEADER}, {LEGACY_HEADER}"),
    ]
