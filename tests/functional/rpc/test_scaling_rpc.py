"""The autoscaling calls (RPC 1.2) through the real broker: versions and payload checks.

What the engine does with a well-formed call is the service's business,
tested with it; this holds the wire contract.
"""

from __future__ import annotations

import pytest

from flowstack import exceptions
from flowstack.rpc.client import EngineClient
from tests.functional.rpc.conftest import RpcEngine


def test_malformed_scaling_calls_are_refused_by_field(rpc_engine: RpcEngine) -> None:
    client, ctx = rpc_engine.client, rpc_engine.ctx
    with pytest.raises(exceptions.InvalidRequest) as caught:
        client.resize_group(ctx, "web/asg", -1)
    assert caught.value.kwargs["field"] == "capacity"
    assert "resize_group: field 'capacity' must be at least 0" in str(caught.value)

    with pytest.raises(exceptions.InvalidRequest) as caught:
        client.list_scale_events(ctx, limit=1001)
    assert caught.value.kwargs["field"] == "limit"

    upper = "AB" * 32
    with pytest.raises(exceptions.InvalidRequest) as caught:
        client.signal_webhook(ctx, upper, None, "webhook", {})
    assert caught.value.kwargs["field"] == "token_hash"
    assert upper not in str(caught.value)


def test_a_client_capped_at_1_1_keeps_scaling_calls_local(rpc_engine: RpcEngine) -> None:
    """During an upgrade from 1.1 engines, the cap refuses 1.2 calls before sending."""
    capped = EngineClient(rpc_engine.client.transport, version_cap="1.1")
    with pytest.raises(exceptions.EngineVersionUnsupported, match="list_groups"):
        capped.list_groups(rpc_engine.ctx)
    with pytest.raises(exceptions.EngineVersionUnsupported, match="signal_webhook"):
        capped.signal_webhook(rpc_engine.ctx, "ab" * 32, None, "webhook", {})
