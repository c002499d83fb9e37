"""The request context: who asks, for which project; it scopes every query."""

from __future__ import annotations

from typing import Any

from oslo_context import context

EMBEDDED_PROJECT = "embedded"
EMBEDDED_USER = "embedded"


class RequestContext(context.RequestContext):
    """oslo.context's RequestContext; ``project_id`` is required."""

    def __init__(self, *, project_id: str, user_id: str | None = None, **kwargs: Any) -> None:
        if not project_id:
            raise ValueError("a request context needs a project_id")
        super().__init__(project_id=project_id, user_id=user_id, **kwargs)


def embedded() -> RequestContext:
    """The context of the embedded default: one local user and project."""
    return RequestContext(project_id=EMBEDDED_PROJECT, user_id=EMBEDDED_USER)
