"""The operator's calls (RPC 1.1) through the real broker."""

from __future__ import annotations

import pytest

from flowstack import exceptions
from flowstack.rpc.client import EngineClient
from tests.functional.rpc.conftest import RpcEngine

FAILING = """
heat_template_version: 2018-08-31
resources:
  kept: {type: OS::Heat::TestResource}
  broken: {type: OS::Heat::TestResource, properties: {fail: true}, depends_on: kept}
"""


def test_inspect_and_repair_a_failed_flow_over_rpc(rpc_engine: RpcEngine) -> None:
    client, ctx = rpc_engine.client, rpc_engine.ctx
    started = client.create_stack(ctx, "failed", FAILING, disable_rollback=True)
    assert rpc_engine.finish(started)["stack_status"] == "CREATE_FAILED"

    [listed] = client.list_flows(ctx, stack="failed")
    assert (listed["id"], listed["state"]) == (started["flow_id"], "REVERTED")
    shown = client.show_flow(ctx, started["flow_id"])
    failed = [step for step in shown["steps"] if step["failure"]]
    assert [step["name"] for step in failed] == ["wait-create:broken"]
    assert "Test Resource failed broken" in failed[0]["failure"]["message"]
    assert "wait-create:broken" in client.flow_graph(ctx, started["flow_id"])

    with pytest.raises(exceptions.IllegalFlowTransition, match="not running"):
        client.cancel_flow(ctx, started["flow_id"])
    with pytest.raises(exceptions.FlowNotFound):
        client.show_flow(rpc_engine.other, started["flow_id"])

    reverted = client.revert_flow(ctx, started["flow_id"])
    assert reverted["operation"] == "rollback"
    assert rpc_engine.dispatcher.wait(reverted["id"], timeout=60) is not None
    assert client.show_stack(ctx, "failed")["stack_status"] == "ROLLBACK_COMPLETE"


def test_a_client_capped_at_1_0_refuses_operator_calls_before_sending(
    rpc_engine: RpcEngine,
) -> None:
    """During an upgrade, a cap at the old engines' version keeps 1.1 calls local."""
    capped = EngineClient(rpc_engine.client.transport, version_cap="1.0")
    with pytest.raises(exceptions.EngineVersionUnsupported, match="list_flows"):
        capped.list_flows(rpc_engine.ctx)
