"""What every Compute API route shares: the call value, Nova faults, paging."""

from __future__ import annotations

from dataclasses import dataclass

from flowstack.nova_sim import errors
from flowstack.nova_sim.microversion import APIVersion
from flowstack.nova_sim.model import RequestContext
from flowstack.nova_sim.routing import Request, Response, Router
from flowstack.nova_sim.views import Links

#: Nova's ``wsgi.Fault`` names the body's only key after the status code.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
_TRUE = {"1", "true", "yes", "on", "t", "y"}


def fault_response(status: int, message: str) -> Response:
    """``{"itemNotFound": {"code": 404, "message": ...}}`` and friends."""
    name = FAULT_NAMES.get(status, "computeFault")
    return Response(status, {name: {"code": status, "message": message}})


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def paging(request: Request, max_limit: int) -> tuple[int, str | None]:
    """Nova's ``limit``/``marker``: limit capped at ``max_limit``, negative is a 400."""
    limit = max_limit
    if request.param("limit") is not None:
        try:
            asked = int(request.param("limit") or "")
        except ValueError:
            raise errors.BadRequest("limit param must be an integer") from None
        if asked < 0:
            raise errors.BadRequest("limit param must be positive")
        limit = min(limit, asked)
    return limit, request.param("marker")


def next_params(request: Request) -> dict[str, str]:
    """The query of a ``next`` link: the request's own, minus its marker."""
    return {k: v[-1] for k, v in request.query.items() if k != "marker"}


@dataclass
class Call:
    """One Compute API call: request, caller, microversion, link builder."""

    request: Request
    ctx: RequestContext
    version: APIVersion
    links: Links


class RouteGroup:
    """A set of Compute API routes; :meth:`register` adds them to the router."""

    def register(self, router: Router) -> None:
        raise NotImplementedError
