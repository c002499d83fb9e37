"""The request context on the wire: who asks, for which project, under which request id.

Only these fields travel, never a token: the engine needs the project that
scopes every query, the user it records as a stack's owner, and the request
ids that tie the caller's log lines to the engine's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import oslo_messaging
from oslo_context import context as oslo_context

from flowstack import exceptions
from flowstack.context import RequestContext

#: Context fields that travel with a call; ``project_id`` is required.
FIELDS = ("project_id", "user_id", "request_id", "global_request_id", "roles")


class RequestContextSerializer(oslo_messaging.Serializer):
    """Turns a :class:`~flowstack.context.RequestContext` into a dict and back.

    A context without a project is refused on both sides with
    :class:`~flowstack.exceptions.InvalidRequest`: nothing may run unscoped.
    Payloads and results are JSON-safe already and pass through unchanged.
    """

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity

    def serialize_context(self, ctxt: oslo_context.RequestContext) -> dict[str, Any]:
        if not isinstance(ctxt, oslo_context.RequestContext) or not ctxt.project_id:
            raise exceptions.InvalidRequest(
                "an RPC call needs a request context with a project_id", field="context"
            )
        return {name: getattr(ctxt, name, None) for name in FIELDS}

    def deserialize_context(self, ctxt: Any) -> RequestContext:
        return from_dict(ctxt)


def from_dict(data: Any) -> RequestContext:
    """The context a caller sent; :class:`InvalidRequest` names a wrong field."""
    if not isinstance(data, Mapping):
        raise exceptions.InvalidRequest("the request context is missing", field="context")
    values: dict[str, Any] = {name: data.get(name) for name in FIELDS}
    if not values["project_id"]:
        raise exceptions.InvalidRequest(
            "the request context has no project_id", field="context.project_id"
        )
    for name in FIELDS:
        value = values[name]
        if name == "roles":
            if value is not None and not (
                isinstance(value, list) and all(isinstance(r, str) for r in value)
            ):
                raise exceptions.InvalidRequest(
                    "context.roles must be a list of strings", field="context.roles"
                )
        elif value is not None and not isinstance(value, str):
            raise exceptions.InvalidRequest(
                f"context.{name} must be a string", field=f"context.{name}"
            )
    if values["request_id"] is None:
        del values["request_id"]  # oslo.context makes a new one
    values["roles"] = values["roles"] or []
    return RequestContext(**values)
