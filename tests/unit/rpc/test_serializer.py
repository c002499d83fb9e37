"""The request context on the wire: what travels, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest
from oslo_context import context as oslo_context

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.rpc.serializer import RequestContextSerializer

SERIALIZER = RequestContextSerializer()


def test_a_context_travels_without_its_token() -> None:
    ctx = RequestContext(
        project_id="p",
        user_id="u",
        roles=["member"],
        auth_token="secret-token",
        global_request_id="req-7f5e0a3c-1f0b-4b8e-9a52-3d1c2b4a5e6f",
    )
    sent = SERIALIZER.serialize_context(ctx)
    assert "secret-token" not in repr(sent)
    received = SERIALIZER.deserialize_context(sent)
    assert isinstance(received, RequestContext)
    assert (received.project_id, received.user_id, received.roles) == ("p", "u", ["member"])
    assert received.request_id == ctx.request_id
    assert received.global_request_id == ctx.global_request_id
    assert received.auth_token is None


def test_a_context_without_a_project_is_not_sent() -> None:
    with pytest.raises(exceptions.InvalidRequest, match="project_id"):
        SERIALIZER.serialize_context(oslo_context.RequestContext(user_id="u"))


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        (None, "context"),
        ({}, "context.project_id"),
        ({"user_id": "u"}, "context.project_id"),
        ({"project_id": 7}, "context.project_id"),
        ({"project_id": "p", "user_id": ["u"]}, "context.user_id"),
        ({"project_id": "p", "roles": "admin"}, "context.roles"),
    ],
)
def test_a_received_context_is_checked(sent: Any, field: str) -> None:
    with pytest.raises(exceptions.InvalidRequest) as caught:
        SERIALIZER.deserialize_context(sent)
    assert caught.value.kwargs["field"] == field


def test_a_missing_request_id_gets_a_new_one() -> None:
    received = SERIALIZER.deserialize_context({"project_id": "p"})
    assert received.request_id.startswith("req-")
    assert received.roles == []
