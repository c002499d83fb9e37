"""Plain values passed between the API edge and the state: caller, create request, view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowstack.nova_sim.lifecycle import Observed, ServerRecord


@dataclass(frozen=True)
class RequestContext:
    """Who is calling: from the URL, headers or token (tokens are never kept)."""

    project_id: str
    user_id: str
    request_id: str
    global_request_id: str | None = None
    is_admin: bool = False


@dataclass
class CreateRequest:
    """A validated ``POST /servers`` body."""

    name: str
    flavor_id: str
    image_id: str
    metadata: dict[str, str] = field(default_factory=dict)
    key_name: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    availability_zone: str | None = None
    hostname: str | None = None
    security_groups: list[str] = field(default_factory=lambda: ["default"])
    networks: str | list[dict[str, Any]] = "auto"
    access_ipv4: str = ""
    access_ipv6: str = ""
    config_drive: bool = False
    disk_config: str = "MANUAL"
    min_count: int = 1
    max_count: int = 1


@dataclass(frozen=True)
class ServerView:
    """A record and how it looks right now: what the views render."""

    record: ServerRecord
    now: Observed
