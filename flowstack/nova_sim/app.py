"""The whole simulator as one function from :class:`Request` to :class:`Response`.

URL layout (one port, distinct prefixes)::

    /                      compute version discovery (``{"versions": [...]}``)
    /v2.1[/{project_id}]   Compute API v2.1     (compute_api, server_routes, catalog_routes)
    /v2.1[/{project}]/v2/images
                           Image API v2 for fixed-endpoint sessions (image_api)
    /v2.1[/{project}]/v2.0/networks
                           Networking API v2.0 for fixed-endpoint sessions (network_api)
    /image                 Image API v2, the catalog's image endpoint (image_api)
    /networking            Networking API v2.0, the catalog's network endpoint (network_api)
    /load-balancer         Load-balancer API v2 (Octavia subset), the catalog's
                           load-balancer endpoint                (lb_api)
    /identity              optional Identity API v3              (identity_api)
    /_admin                the simulator's admin endpoint        (admin_api)

Injected API errors are answered before dispatch; lost responses are decided
after a successful dispatch (the work is done, the answer is spoiled). The
admin and identity endpoints never have faults injected. ``api_errors`` rules
never touch ``/load-balancer``; ``lb_errors`` rules act there only.

A compute API server delete that was accepted (204) is also written to the
load-balancer event log, so that server and member changes share one sequence.
"""

from __future__ import annotations

from flowstack.nova_sim import views
from flowstack.nova_sim.admin_api import ADMIN_PREFIX, AdminApi
from flowstack.nova_sim.compute_api import PREFIX, ComputeApi
from flowstack.nova_sim.compute_common import fault_response
from flowstack.nova_sim.config import SimulatorConfig
from flowstack.nova_sim.context import new_request_id
from flowstack.nova_sim.faults import DEFAULT_API_MESSAGES, FaultInjector
from flowstack.nova_sim.identity_api import IDENTITY_PREFIX, IdentityApi
from flowstack.nova_sim.image_api import IMAGE_PREFIX, ImageApi, glance_error
from flowstack.nova_sim.lb_api import LB_PREFIX, LbApi, octavia_error
from flowstack.nova_sim.microversion import requested_version, response_headers
from flowstack.nova_sim.network_api import (
    NETWORK_PREFIX,
    VERSION_SEGMENT,
    NetworkApi,
    neutron_error,
)
from flowstack.nova_sim.routing import Request, Response
from flowstack.nova_sim.state import CloudState


def _under(path: str, prefix: str) -> str | None:
    """The rest of ``path`` below ``prefix`` (``/`` at least), or None."""
    if path == prefix or path.startswith(prefix + "/"):
        return path[len(prefix) :] or "/"
    return None


_NEUTRON_TYPES = {500: "HTTPInternalServerError", 503: "HTTPServiceUnavailable"}
_LB_MESSAGES = {500: "Internal Server Error", 503: "Service Unavailable"}


def _api_of(path: str) -> str:
    """Which API's dialect an answer on ``path`` speaks: compute, image, network or lb."""
    if _under(path, LB_PREFIX) is not None:
        return "lb"
    if _under(path, IMAGE_PREFIX) is not None:
        return "image"
    if _under(path, NETWORK_PREFIX) is not None:
        return "network"
    if _under(path, PREFIX) is not None:
        _project, route = ComputeApi.split_path(path)
        if _under(route, "/v2") is not None:
            return "image"
        if _under(route, "/" + VERSION_SEGMENT) is not None:
            return "network"
    return "compute"


class SimulatorApp:
    def __init__(self, state: CloudState, faults: FaultInjector, config: SimulatorConfig) -> None:
        self.config = config
        self.faults = faults
        self.compute = ComputeApi(state, config)
        self.image = ImageApi(state, config)
        self.network = NetworkApi(state, config)
        self.lb = LbApi(state, config)
        self.identity = IdentityApi(config)
        self.admin = AdminApi(state, faults, self.lb.ops)

    def __call__(self, request: Request) -> Response:
        path = request.path
        rest = _under(path, ADMIN_PREFIX)
        if rest is not None:
            return self.admin.handle(request, rest)
        rest = _under(path, IDENTITY_PREFIX)
        if rest is not None:
            return self.identity.handle(request, rest)
        if _under(path, LB_PREFIX) is not None:
            rule = self.faults.lb_error(request.method, path)
        else:
            rule = self.faults.api_error(request.method, path)
        if rule is not None:
            return self._spoiled(
                request, rule.status, rule.message, rule.retry_after, Response(rule.status)
            )
        response = self._dispatch(request, path)
        if request.method == "DELETE" and response.status == 204:
            self._log_server_delete(path, response)
        if 200 <= response.status < 300:
            lost = self.faults.lost_response(request.method, path, response.subject)
            if lost is not None:
                if lost.mode == "drop":
                    response.drop = True
                elif lost.mode == "delay":
                    response.delay = lost.delay
                else:
                    return self._spoiled(request, lost.status, lost.message, None, response)
        return response

    def _log_server_delete(self, path: str, response: Response) -> None:
        """Put an accepted ``DELETE /servers/{id}`` into the shared event sequence."""
        if _under(path, PREFIX) is None:
            return
        _project, route = ComputeApi.split_path(path)
        parts = route.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "servers":
            request_id = dict(response.headers).get("x-openstack-request-id")
            self.lb.ops.record_server_delete(parts[1], request_id)

    def _dispatch(self, request: Request, path: str) -> Response:
        if path in ("", "/"):
            entry = views.version_entry(request.base_url, self.config, detailed=False)
            return Response(200, {"versions": [entry]})
        rest = _under(path, IMAGE_PREFIX)
        if rest is not None:
            return self.image.handle(request, rest, IMAGE_PREFIX)
        rest = _under(path, NETWORK_PREFIX)
        if rest is not None:
            return self.network.handle(request, rest, NETWORK_PREFIX)
        rest = _under(path, LB_PREFIX)
        if rest is not None:
            return self.lb.handle(request, rest)
        if _under(path, PREFIX) is not None:
            project_id, route = ComputeApi.split_path(path)
            root = PREFIX + (f"/{project_id}" if project_id else "")
            if _under(route, "/v2") is not None:
                return self.image.handle(request, route, root)
            if _under(route, "/" + VERSION_SEGMENT) is not None:
                return self.network.handle(request, route, root)
            return self.compute.handle(request, project_id, route)
        return fault_response(404, "The resource could not be found.")

    def _spoiled(
        self,
        request: Request,
        status: int,
        message: str | None,
        retry_after: int | None,
        original: Response,
    ) -> Response:
        """An error answer in the right dialect, keeping the original's ids and versions."""
        path = request.path
        text = message or DEFAULT_API_MESSAGES.get(status, "Injected fault")
        api = _api_of(path)
        if api == "image":
            response = glance_error(status, text)
        elif api == "network":
            response = neutron_error(status, _NEUTRON_TYPES.get(status, "HTTPError"), text)
        elif api == "lb":
            response = octavia_error(status, message or _LB_MESSAGES.get(status, text))
        else:
            response = fault_response(status, text)
        kept = [(k, v) for k, v in original.headers if k.lower() != "location"]
        if not kept and api == "compute" and _under(path, PREFIX) is not None:
            request_id = new_request_id()
            low, high = self.config.microversion_range
            try:
                version = requested_version(request.headers, low, high)
            except ValueError:
                version = low
            kept = [
                *response_headers(version),
                ("x-openstack-request-id", request_id),
                ("x-compute-request-id", request_id),
            ]
        elif not kept and api != "compute":
            kept = [("x-openstack-request-id", new_request_id())]
        response.headers.extend(kept)
        if retry_after is not None:
            response.headers.append(("Retry-After", str(retry_after)))
        return response
