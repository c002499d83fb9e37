"""Who is calling: project and user from the URL, headers or token.

No Keystone is required. In order of precedence:

1. the project id in the URL (``/v2.1/{project_id}/servers``);
2. ``X-Project-Id`` / ``X-Tenant-Id`` and ``X-User-Id`` headers (what
   keystonemiddleware would set in front of a real Nova);
3. the token: one issued by the simulator's own Identity endpoint carries its
   user and project; a Nova ``noauth2``-style ``user:project`` token names both;
   any other token (or none at all) is the configured default project and user.

A token is only ever decoded here and never stored or logged.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from flowstack.nova_sim.config import SimulatorConfig
from flowstack.nova_sim.model import RequestContext
from flowstack.nova_sim.routing import Request

TOKEN_PREFIX = "fsim1."  # noqa: S105 - a marker, not a secret
_GLOBAL_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def encode_token(identity: dict[str, Any]) -> str:
    """A self-describing token (so that any simulator process can read it)."""
    raw = json.dumps(identity, separators=(",", ":"), sort_keys=True).encode()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    raw = token[len(TOKEN_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


def context_for(
    request: Request, config: SimulatorConfig, url_project_id: str | None = None
) -> RequestContext:
    project_id, user_id, is_admin = config.project_id, config.user_id, False
    token = request.header("x-auth-token")
    identity = decode_token(token)
    if identity is not None:
        project_id = identity.get("project_id", project_id)
        user_id = identity.get("user_id", user_id)
        is_admin = "admin" in identity.get("roles", [])
    elif token and ":" in token:
        user_id, _, project_id = token.partition(":")
        is_admin = user_id == "admin"
    project_id = request.header("x-project-id") or request.header("x-tenant-id") or project_id
    user_id = request.header("x-user-id") or user_id
    roles = request.header("x-roles")
    if roles is not None:
        is_admin = "admin" in [r.strip() for r in roles.split(",")]
    if url_project_id:
        project_id = url_project_id
    global_id = request.header("x-openstack-request-id")
    return RequestContext(
        project_id=project_id,
        user_id=user_id,
        request_id=new_request_id(),
        global_request_id=global_id if global_id and _GLOBAL_ID.match(global_id) else None,
        is_admin=is_admin,
    )
