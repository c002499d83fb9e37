"""A minimal Networking API v2.0 (Neutron): what python-novaclient's network lookup calls.

novaclient 18 resolves a network name through the *network* service
(``novaclient.v2.networks.NeutronManager.find_network``): one
``GET /v2.0/networks?name=<name>`` relative to the network endpoint, whose
single match gives the id. It is served at two places, as the image API is:

* ``/networking`` — the network endpoint in the simulator's service catalog
  (``/identity/v3``), where Neutron's WSGI guide mounts the API:
  ``/networking/v2.0/networks``;
* ``/v2.1/v2.0/networks`` (and ``/v2.1/{project}/v2.0/networks``) — where
  novaclient sends the same lookup when the session has one fixed endpoint
  (``token_endpoint.Token(endpoint, token)`` or ``endpoint_override``).

Routes (relative to either root)::

    GET /                      the API versions (v2.0 only)
    GET /v2.0/networks         every network; any attribute filters (a key given
                               twice matches either value), ``fields`` selects keys
    GET /v2.0/networks/{id}    one network, or 404 NetworkNotFound

Errors carry Neutron's body, ``{"NeutronError": {"type", "message", "detail"}}``.
The networks are the configured ones (:class:`~.config.NetworkSpec`), owned by
the default project; every caller sees all of them, as every project may boot
on any of them through the compute API. Paging and sorting parameters are
accepted and ignored: a handful of networks always fits on one page.
"""

from __future__ import annotations

from typing import Any

from flowstack.nova_sim.config import NetworkSpec, SimulatorConfig
from flowstack.nova_sim.context import new_request_id
from flowstack.nova_sim.network import subnet_id
from flowstack.nova_sim.routing import Request, Response, Router
from flowstack.nova_sim.state import CloudState

NETWORK_PREFIX = "/networking"
#: Where novaclient's lookup lands below a fixed compute endpoint (``/v2.1/v2.0/...``).
VERSION_SEGMENT = "v2.0"
_CREATED = "2024-01-01T00:00:00Z"
_NOT_FILTERS = frozenset({"fields", "limit", "marker", "page_reverse", "sort_dir", "sort_key"})


def neutron_error(status: int, error_type: str, message: str) -> Response:
    """How Neutron renders an error (its fault wrapper, for every status)."""
    return Response(
        status, {"NeutronError": {"type": error_type, "message": message, "detail": ""}}
    )


def network_view(
    spec: NetworkSpec, subnets: list[str], project_id: str, zone: str
) -> dict[str, Any]:
    """A network as Neutron answers ``GET /v2.0/networks/{id}`` (ML2, DevStack defaults)."""
    return {
        "id": spec.id,
        "name": spec.name,
        "status": "ACTIVE",
        "admin_state_up": True,
        "subnets": [subnet_id(spec.id, cidr) for cidr in subnets],
        "shared": spec.shared,
        "router:external": False,
        "project_id": project_id,
        "tenant_id": project_id,
        "description": "",
        "mtu": 1442,
        "availability_zone_hints": [],
        "availability_zones": [zone],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "l2_adjacency": True,
        "port_security_enabled": True,
        "qos_policy_id": None,
        "is_default": False,
        "tags": [],
        "revision_number": 1,
        "created_at": _CREATED,
        "updated_at": _CREATED,
    }


def _matches(value: Any, wanted: list[str]) -> bool:
    """Whether an attribute equals one of a filter's values (Neutron's query semantics)."""
    if isinstance(value, bool):
        words = ("true", "1") if value else ("false", "0")
        return any(w.lower() in words for w in wanted)
    if isinstance(value, list):
        return any(str(item) in wanted for item in value)
    return ("" if value is None else str(value)) in wanted


def _select(network: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return {k: v for k, v in network.items() if k in fields} if fields else network


#: The attributes a list may be filtered on: every attribute of a network.
_ATTRIBUTES = frozenset(network_view(NetworkSpec("sample", "sample"), [], "", ""))


class NetworkApi:
    def __init__(self, state: CloudState, config: SimulatorConfig) -> None:
        self.state = state
        self.config = config
        self.router = Router()
        self.router.add(r"/?", GET=self.versions)
        self.router.add(r"/v2\.0/networks/?", GET=self.list_networks)
        self.router.add(r"/v2\.0/networks/(?P<network_id>[^/]+)", GET=self.show_network)

    def handle(self, request: Request, route_path: str, network_root: str) -> Response:
        handler, args, known = self.router.match(request.method, route_path)
        if handler is not None:
            response = handler(request, network_root, **args)
        elif known:
            response = neutron_error(405, "HTTPMethodNotAllowed", "Method not allowed.")
        else:
            response = neutron_error(404, "HTTPNotFound", "The resource could not be found.")
        response.headers.append(("x-openstack-request-id", new_request_id()))
        return response

    def versions(self, request: Request, network_root: str) -> Response:
        entry = {
            "id": "v2.0",
            "status": "CURRENT",
            "links": [{"rel": "self", "href": f"{request.base_url}{network_root}/v2.0/"}],
        }
        return Response(200, {"versions": [entry]})

    def _networks(self) -> list[dict[str, Any]]:
        with self.state.reading():
            subnets = {
                name: [str(s) for s in ipam.subnets] for name, ipam in self.state.ipam.items()
            }
        project_id, zone = self.config.project_id, self.config.availability_zone
        return [
            network_view(spec, subnets.get(spec.name, [spec.cidr]), project_id, zone)
            for spec in self.state.networks.values()
        ]

    def list_networks(self, request: Request, network_root: str) -> Response:
        filters = {k: v for k, v in request.query.items() if k not in _NOT_FILTERS}
        unknown = sorted(set(filters) - _ATTRIBUTES)
        if unknown:
            return neutron_error(
                400, "HTTPBadRequest", f"[{', '.join(unknown)}] is invalid attribute for filtering"
            )
        networks = [
            network
            for network in self._networks()
            if all(_matches(network[key], wanted) for key, wanted in filters.items())
        ]
        fields = request.query.get("fields")
        return Response(200, {"networks": [_select(n, fields) for n in networks]})

    def show_network(self, request: Request, network_root: str, network_id: str) -> Response:
        found = [n for n in self._networks() if n["id"] == network_id]
        if not found:
            return neutron_error(
                404, "NetworkNotFound", f"Network {network_id} could not be found."
            )
        return Response(200, {"network": _select(found[0], request.query.get("fields"))})
