"""An optional, minimal Identity API v3 (Keystone) so real-cloud auth code runs unchanged.

Nothing requires it — any token, or none, is accepted by the Compute API. It
exists so that a client configured like against DevStack (``auth_url``, user,
password, project) gets a project-scoped token and a service catalog pointing
at this simulator's compute (``/v2.1``), image (``/image``), network
(``/networking``) and load-balancer (``/load-balancer``) endpoints::

    auth = keystoneauth1.identity.v3.Password(
        auth_url=sim.identity_url, username="demo", password="any",
        project_name="demo", user_domain_id="default", project_domain_id="default")

Every password is accepted; user and project ids are derived from the names
(``demo``/``demo`` is the simulator's default project and user), and the user
``admin`` gets the admin role. Tokens are self-describing (user, project,
roles) so that every simulator process sharing a state file understands them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flowstack.nova_sim.config import SimulatorConfig, stable_id
from flowstack.nova_sim.context import decode_token, encode_token
from flowstack.nova_sim.image_api import IMAGE_PREFIX
from flowstack.nova_sim.lb_api import LB_PREFIX
from flowstack.nova_sim.network_api import NETWORK_PREFIX
from flowstack.nova_sim.routing import MalformedBody, Request, Response, Router

IDENTITY_PREFIX = "/identity"
_DOMAIN = {"id": "default", "name": "Default"}


def _error(status: int, title: str, message: str) -> Response:
    return Response(status, {"error": {"code": status, "title": title, "message": message}})


def _stamp(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


class IdentityApi:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.router = Router()
        self.router.add(r"/?", GET=self.versions)
        self.router.add(r"/v3/?", GET=self.version)
        self.router.add(r"/v3/auth/tokens", POST=self.issue_token, GET=self.validate_token)

    def handle(self, request: Request, route_path: str) -> Response:
        handler, args, _known = self.router.match(request.method, route_path)
        if handler is None:
            return _error(404, "Not Found", "The resource could not be found.")
        try:
            return handler(request, **args)
        except MalformedBody:
            return _error(400, "Bad Request", "Malformed request body")

    def _v3(self, request: Request) -> dict[str, Any]:
        return {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{request.base_url}{IDENTITY_PREFIX}/v3/"}],
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
            ],
        }

    def versions(self, request: Request) -> Response:
        return Response(300, {"versions": {"values": [self._v3(request)]}})

    def version(self, request: Request) -> Response:
        return Response(200, {"version": self._v3(request)})

    def _identity(self, auth: dict[str, Any]) -> dict[str, Any]:
        identity = auth.get("identity") or {}
        methods = identity.get("methods") or []
        user_id, user_name = self.config.user_id, "demo"
        if "token" in methods:
            carried = decode_token((identity.get("token") or {}).get("id")) or {}
            user_id = carried.get("user_id", user_id)
            user_name = carried.get("user_name", user_name)
        elif "password" in methods or "application_credential" in methods:
            user = (
                (identity.get("password") or {}).get("user")
                or identity.get("application_credential")
                or {}
            )
            if user.get("name"):
                user_name = user["name"]
                user_id = stable_id("user", user_name)
            elif user.get("id"):
                user_id = user_name = user["id"]
        else:
            raise ValueError("Expecting to find identity methods password or token")
        scope = (auth.get("scope") or {}).get("project") or {}
        if scope.get("name"):
            project_name = scope["name"]
            project_id = stable_id("project", project_name)
        elif scope.get("id"):
            project_id = project_name = scope["id"]
        else:
            project_id, project_name = self.config.project_id, "demo"
        roles = ["reader", "member"] + (["admin"] if user_name == "admin" else [])
        return {
            "user_id": user_id,
            "user_name": user_name,
            "project_id": project_id,
            "project_name": project_name,
            "roles": roles,
            "methods": methods,
        }

    def _catalog(self, request: Request) -> list[dict[str, Any]]:
        base = request.base_url
        services = (
            ("compute", "nova", f"{base}/v2.1"),
            ("image", "glance", f"{base}{IMAGE_PREFIX}"),
            ("network", "neutron", f"{base}{NETWORK_PREFIX}"),
            ("load-balancer", "octavia", f"{base}{LB_PREFIX}"),
            ("identity", "keystone", f"{base}{IDENTITY_PREFIX}"),
        )
        catalog = []
        for service_type, name, url in services:
            endpoints = [
                {
                    "id": uuid.uuid5(uuid.NAMESPACE_URL, f"{url}#{interface}").hex,
                    "interface": interface,
                    "region": self.config.region,
                    "region_id": self.config.region,
                    "url": url,
                }
                for interface in ("public", "internal", "admin")
            ]
            catalog.append(
                {
                    "id": uuid.uuid5(uuid.NAMESPACE_URL, url).hex,
                    "type": service_type,
                    "name": name,
                    "endpoints": endpoints,
                }
            )
        return catalog

    def _token_body(self, request: Request, who: dict[str, Any]) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        return {
            "token": {
                "methods": who["methods"] or ["token"],
                "user": {
                    "id": who["user_id"],
                    "name": who["user_name"],
                    "domain": _DOMAIN,
                    "password_expires_at": None,
                },
                "project": {
                    "id": who["project_id"],
                    "name": who["project_name"],
                    "domain": _DOMAIN,
                },
                "is_domain": False,
                "roles": [{"id": stable_id("role", r), "name": r} for r in who["roles"]],
                "catalog": self._catalog(request),
                "audit_ids": [uuid.uuid4().hex[:22]],
                "issued_at": _stamp(now),
                "expires_at": _stamp(now + dt.timedelta(days=1)),
            }
        }

    def issue_token(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("auth"), dict):
            return _error(400, "Bad Request", "'auth' is a required property")
        try:
            who = self._identity(body["auth"])
        except ValueError as exc:
            return _error(400, "Bad Request", str(exc))
        token = encode_token({k: who[k] for k in ("user_id", "user_name", "project_id", "roles")})
        return Response(201, self._token_body(request, who), headers=[("X-Subject-Token", token)])

    def validate_token(self, request: Request) -> Response:
        subject = request.header("x-subject-token")
        carried = decode_token(subject)
        if carried is None:
            return _error(404, "Not Found", "Could not find token.")
        who = {
            "user_id": carried.get("user_id"),
            "user_name": carried.get("user_name"),
            "project_id": carried.get("project_id"),
            "project_name": carried.get("project_id"),
            "roles": carried.get("roles", []),
            "methods": ["token"],
        }
        return Response(
            200, self._token_body(request, who), headers=[("X-Subject-Token", subject or "")]
        )
