"""The autoscaling calls (RPC 1.2) through the real broker: versions and payload checks.

What the engine does with a well-formed call is the service's business,
tested with it; this holds the wire contract.
"""

from __future__ import annotations

import pytest

from flowstack import exceptions
from flowstack.autoscaling import webhook_tokens as webhooks
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


GROUP = """
heat_template_version: 2016-10-14
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 3
      desired_capacity: 1
      resource: {type: OS::Heat::None}
  up:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: change_in_capacity
      scaling_adjustment: 1
outputs:
  url: {value: {get_attr: [up, alarm_url]}}
"""


def wait_idle(rpc_engine: RpcEngine, group: str) -> dict:
    for _ in range(200):
        shown = rpc_engine.client.show_group(rpc_engine.ctx, group)
        events = rpc_engine.client.list_scale_events(rpc_engine.ctx, group)
        if shown["active_flow_id"] is None and all(
            e["status"] not in ("PENDING", "IN_PROGRESS") for e in events
        ):
            return shown
        rpc_engine.dispatcher.wait_all()
    raise AssertionError("the group never settled")


def test_a_group_scaled_and_signalled_over_the_broker(rpc_engine: RpcEngine) -> None:
    client, ctx = rpc_engine.client, rpc_engine.ctx
    stack = rpc_engine.finish(client.create_stack(ctx, "web", GROUP))
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    [group] = client.list_groups(ctx)
    assert (group["resource_name"], group["current_size"]) == ("asg", 1)
    # Another project does not see it.
    assert client.list_groups(rpc_engine.other) == []
    with pytest.raises(exceptions.GroupNotFound):
        client.show_group(rpc_engine.other, "web/asg")

    receipt = client.resize_group(ctx, "web/asg", 2, idempotency_key="op-1")
    assert receipt["desired_after"] == 2
    assert client.resize_group(ctx, "web/asg", 2, idempotency_key="op-1")["duplicate"]
    assert wait_idle(rpc_engine, "web/asg")["current_size"] == 2

    url = client.show_output(ctx, "web", "url")[0]["output_value"]
    token_hash = webhooks.token_hash(url.rsplit("/", 1)[1])
    call = {"token_hash": token_hash, "idempotency_key": None, "source": "aodh", "details": {}}
    unknown = {**call, "token_hash": "0" * 64}
    results = client.signal_webhooks(ctx, [call, unknown, call])
    assert [("receipt" in r) for r in results] == [True, False, True]
    assert results[1] == {"error": "not_found"}
    decisions = [r["receipt"]["decision"] for r in (results[0], results[2])]
    assert decisions[1].endswith("clamped at max_size=3 -> no change")  # decided in order
    assert wait_idle(rpc_engine, "web/asg")["current_size"] == 3
    explained = client.explain_group(ctx, "web/asg")
    assert [e["source"] for e in explained] == ["resize", "webhook:aodh", "webhook:aodh"]
    with pytest.raises(exceptions.InvalidRequest, match=r"calls\[0\]"):
        client.signal_webhooks(ctx, [{**call, "token_hash": "nope"}])
