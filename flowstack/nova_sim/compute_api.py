"""The Compute API v2.1 edge: microversion, caller, routing, errors -> Nova faults.

Served under ``/v2.1`` and ``/v2.1/{project_id}`` (both forms, as Nova does:
a first path segment that is not a known collection is a project id):

=========  ==========================================  ================================
method     path                                        where
=========  ==========================================  ================================
GET        ``/v2.1``, ``/v2.1/``                       here (version document)
\\*         ``/servers...``                             :mod:`.server_routes`
GET        ``/flavors...``                             :mod:`.catalog_routes`
\\*         ``/os-keypairs...``                         :mod:`.catalog_routes`
GET        ``/limits``, ``/os-availability-zone``      :mod:`.catalog_routes`
GET        ``/images...`` (deprecated proxy)           :mod:`.catalog_routes`
=========  ==========================================  ================================

Every answer carries ``OpenStack-API-Version``, ``X-OpenStack-Nova-API-Version``,
``Vary``, ``x-openstack-request-id`` and ``x-compute-request-id``, as Nova's do.
This is the only place simulator errors become HTTP statuses.
"""

from __future__ import annotations

from flowstack.nova_sim import errors, views
from flowstack.nova_sim.catalog_routes import CatalogRoutes
from flowstack.nova_sim.compute_common import Call, fault_response
from flowstack.nova_sim.config import SimulatorConfig
from flowstack.nova_sim.context import context_for
from flowstack.nova_sim.microversion import (
    InvalidVersionString,
    VersionNotSupported,
    requested_version,
    response_headers,
)
from flowstack.nova_sim.routing import MalformedBody, Request, Response, Router
from flowstack.nova_sim.server_routes import ServerRoutes
from flowstack.nova_sim.state import CloudState

PREFIX = "/v2.1"
COLLECTIONS = frozenset(
    {"servers", "flavors", "os-keypairs", "limits", "images", "os-availability-zone", "v2", "v2.0"}
)
_STATUS_OF: dict[type[errors.ComputeError], int] = {
    errors.ServerNotFound: 404,
    errors.FlavorNotFound: 404,
    errors.ImageNotFound: 404,
    errors.KeypairNotFound: 404,
    errors.MetadataItemNotFound: 404,
    errors.MarkerNotFound: 400,
    errors.NetworkNotFound: 400,
    errors.BadRequest: 400,
    errors.InvalidAvailabilityZone: 400,
    errors.FixedIpUnavailable: 400,
    errors.KeypairExists: 409,
    errors.NetworkAmbiguous: 409,
    errors.QuotaExceeded: 403,
    errors.PolicyNotAuthorized: 403,
}


class ComputeApi:
    def __init__(self, state: CloudState, config: SimulatorConfig) -> None:
        self.state = state
        self.config = config
        self.router = Router()
        self.router.add(r"/?", GET=self.show_version)
        ServerRoutes(state, config).register(self.router)
        CatalogRoutes(state, config).register(self.router)

    @staticmethod
    def split_path(path: str) -> tuple[str | None, str]:
        """``/v2.1/{project}/servers`` -> (project, ``/servers``)."""
        rest = path[len(PREFIX) :]
        parts = rest.strip("/").split("/", 1)
        if parts[0] and parts[0] not in COLLECTIONS:
            return parts[0], "/" + (parts[1] if len(parts) > 1 else "")
        return None, rest or "/"

    def handle(self, request: Request, project_id: str | None, route_path: str) -> Response:
        low, high = self.config.microversion_range
        try:
            version = requested_version(request.headers, low, high)
        except InvalidVersionString as exc:
            return fault_response(400, str(exc))
        except VersionNotSupported as exc:
            return fault_response(406, str(exc))
        ctx = context_for(request, self.config, project_id)
        call = Call(request, ctx, version, views.Links(request.base_url, project_id))
        handler, args, _known = self.router.match(request.method, route_path)
        if handler is None:
            # Nova's router answers 404 for an unknown path and for a wrong method.
            response = fault_response(404, "The resource could not be found.")
        else:
            try:
                response = handler(call, **args)
            except errors.InjectedFault as exc:
                response = fault_response(exc.status, str(exc))
                if exc.retry_after is not None:
                    response.headers.append(("Retry-After", str(exc.retry_after)))
            except errors.ComputeError as exc:
                response = fault_response(_STATUS_OF.get(type(exc), 500), str(exc))
            except MalformedBody as exc:
                response = fault_response(400, str(exc))
        response.headers.extend(response_headers(version))
        response.headers.append(("x-openstack-request-id", ctx.request_id))
        response.headers.append(("x-compute-request-id", ctx.request_id))
        return response

    def show_version(self, call: Call) -> Response:
        entry = views.version_entry(call.request.base_url, self.config, detailed=True)
        return Response(200, {"version": entry})
