"""flow list / show / graph on real flows run by the embedded engine (SQLite)."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
from oslo_config import cfg

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.engine import flow_views
from flowstack.resources import base
from flowstack.resources.registry import Registry
from flowstack.schema import attributes
from tests.unit.conftest import Engine

ROLLED_BACK = """
heat_template_version: 2018-08-31
resources:
  fine: {type: OS::Heat::TestResource}
  broken:
    type: OS::Heat::TestResource
    properties: {fail: true}
    depends_on: fine
  after: {type: OS::Heat::TestResource, depends_on: broken}
"""
WAITING = """
heat_template_version: 2018-08-31
resources:
  slow: {type: OS::Heat::TestResource, properties: {wait_secs: 0.4}}
"""
CHATTY = """
heat_template_version: 2018-08-31
resources:
  chatty: {type: Test::Chatty}
"""
SECRET_VALUES = ("hunter2-password", "tok-3141592", "#!/bin/sh secret-script")


class Chatty(base.Resource):
    """Reports attributes whose names say they are secret, without declaring them so."""

    type_name = "Test::Chatty"
    attributes_schema = {
        "admin_password": attributes.Attribute("A password it should not report."),
        "api_token": attributes.Attribute("A token it should not report."),
        "user_data": attributes.Attribute("A script: a blob."),
        "colour": attributes.Attribute("Harmless."),
    }

    def handle_create(self, properties: dict[str, Any]) -> None:
        self.physical_id = f"chatty-{self.name}"

    def attributes(self) -> dict[str, Any]:
        password, token, script = SECRET_VALUES
        return {
            "admin_password": password,
            "api_token": token,
            "user_data": script,
            "colour": "blue",
        }


def _flow(engine: Engine, stack: str) -> dict[str, Any]:
    (row,) = flow_views.list_flows(engine.rt, engine.ctx, stack=stack)
    return flow_views.show_flow(engine.rt, engine.ctx, row["id"])


def _step(flow: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in flow["steps"] if s["name"] == name)


def test_show_a_rolled_back_create_step_by_step(engine: Engine) -> None:
    assert engine.create("bad", ROLLED_BACK)["stack_status"] == "ROLLBACK_COMPLETE"
    flow = _flow(engine, "bad")
    assert (flow["stack_name"], flow["operation"], flow["state"]) == ("bad", "create", "REVERTED")
    assert flow["structure"] == "rebuilt from flows.stack_flows.create_stack"
    assert "Test Resource failed broken" in flow["last_error"]
    assert flow["errors"] and flow["errors"][-1]["owner"] == flow["owner"]

    # Steps come in the flow's order, each retry before the step it repeats.
    names = [s["name"] for s in flow["steps"]]
    assert names[0] == "stack-create-lifecycle" and names[-1] == "stack-create-complete"
    assert names.index("create:fine") < names.index("poll-create:fine")
    assert names.index("poll-create:fine") < names.index("wait-create:fine")
    assert names.index("wait-create:fine") < names.index("create:broken")

    failed = _step(flow, "wait-create:broken")
    assert flow["failed_steps"] == ["wait-create:broken"]
    assert failed["failure"]["type"] == "flowstack.exceptions.ResourceFailure"
    assert failed["failure"]["message"] == (
        "CREATE of resource 'broken' failed: Test Resource failed broken"
    )
    assert "resource_tasks.py" in failed["failure"]["traceback"]
    assert failed["state"] == "REVERTED" and failed["reverted"]

    fine = _step(flow, "wait-create:fine")
    assert fine["result"] == {
        "id": fine["result"]["id"],
        "ref": fine["result"]["id"],
        "attributes": {"output": "test_string"},
        "secret_ref": False,
    }
    assert fine["duration_s"] is not None and fine["duration_s"] >= 0
    assert fine["started_at"] <= fine["ended_at"] <= fine["revert_started_at"]
    assert fine["revert_started_at"] <= fine["reverted_at"]
    assert {"stack-create-lifecycle", "create:fine", "wait-create:fine", "create:broken"} <= set(
        flow["reverted_steps"]
    )
    # What the failure stopped: never ran, so no times and not reverted.
    assert set(flow["blocked_steps"]) == {
        "create:after",
        "poll-create:after",
        "wait-create:after",
        "stack-create-complete",
    }
    never = _step(flow, "create:after")
    assert (never["state"], never["started_at"], never["reverted"]) == ("PENDING", None, False)
    assert _step(flow, "poll-create:after")["kind"] == "retry"


def test_retry_attempts_and_their_failures(engine: Engine, conf: cfg.ConfigOpts) -> None:
    conf.set_override("poll_checkpoint_secs", 0.05, group="engine")
    assert engine.create("slow", WAITING)["stack_status"] == "CREATE_COMPLETE"
    flow = _flow(engine, "slow")
    assert flow["state"] == "SUCCESS" and flow["failed_steps"] == []
    retry = _step(flow, "poll-create:slow")
    assert retry["kind"] == "retry" and retry["result"] is None
    attempts = retry["retry"]["attempts"]
    assert attempts >= 3
    last = retry["retry"]["last_failures"]
    # Of the last three attempts, the two before the final (successful) one failed.
    assert [a["attempt"] for a in last] == [attempts - 2, attempts - 1]
    assert all(a["failures"] == {"wait-create:slow": "ResourceNotReady: slow"} for a in last)
    # A step repeated by its retry was reverted in between, but is not "reverted".
    waited = _step(flow, "wait-create:slow")
    assert waited["state"] == "SUCCESS"
    assert (waited["reverted"], waited["revert_started_at"]) == (False, None)


def test_secrets_in_results_are_masked(engine: Engine) -> None:
    engine.rt.registry = Registry([*engine.rt.registry.as_mapping().values(), Chatty])
    assert engine.create("chatty", CHATTY)["stack_status"] == "CREATE_COMPLETE"
    flow = _flow(engine, "chatty")
    shown = repr(flow)
    for value in SECRET_VALUES:
        assert value not in shown
    result = _step(flow, "create:chatty")["result"]
    assert result["attributes"] == {
        "admin_password": "******",
        "api_token": "******",
        "user_data": "<omitted>",
        "colour": "blue",
    }


def test_summarize_masks_omits_and_cuts() -> None:
    summary = flow_views.summarize(
        {
            "id": "x",
            "nested": {"db_password": "p", "list": [{"private_key": "k"}], "secret_ref": True},
            "data": {"intent": "..."},
            "long": "y" * 500,
            "number": 3,
        }
    )
    assert summary == {
        "id": "x",
        "nested": {
            "db_password": "******",
            "list": [{"private_key": "******"}],
            "secret_ref": True,
        },
        "data": "<omitted>",
        "long": "y" * 197 + "...",
        "number": 3,
    }


def test_list_filters_and_scope(engine: Engine) -> None:
    engine.create("bad", ROLLED_BACK)
    engine.create("good", WAITING)
    ctx = engine.ctx
    everything = flow_views.list_flows(engine.rt, ctx)
    assert [(f["stack_name"], f["state"]) for f in everything] == [
        ("bad", "REVERTED"),
        ("good", "SUCCESS"),
    ]
    assert {f["owner"] for f in everything} == {everything[0]["owner"]}
    assert all(f["attempts"] == 1 and f["age_s"] >= 0 for f in everything)
    assert [f["stack_name"] for f in flow_views.list_flows(engine.rt, ctx, state="success")] == [
        "good"
    ]
    by_id = flow_views.list_flows(engine.rt, ctx, stack=everything[0]["stack_id"])
    assert [f["id"] for f in by_id] == [everything[0]["id"]]
    assert flow_views.list_flows(engine.rt, ctx, older_than=3600) == []
    assert len(flow_views.list_flows(engine.rt, ctx, older_than=0)) == 2
    with pytest.raises(exceptions.InvalidRequest, match="unknown flow state 'broken'"):
        flow_views.list_flows(engine.rt, ctx, state="broken")
    with pytest.raises(exceptions.StackNotFound):
        flow_views.list_flows(engine.rt, ctx, stack="nothing-here")

    other = RequestContext(project_id="project-b", user_id="bob")
    assert flow_views.list_flows(engine.rt, other) == []
    with pytest.raises(exceptions.StackNotFound):
        flow_views.list_flows(engine.rt, other, stack="bad")
    with pytest.raises(exceptions.InvalidRequest, match="administrator"):
        flow_views.list_flows(engine.rt, other, project="project-a")

    admin = RequestContext(project_id="ops", user_id="root", is_admin=True)
    assert len(flow_views.list_flows(engine.rt, admin)) == 2
    assert len(flow_views.list_flows(engine.rt, admin, project="project-a")) == 2
    assert flow_views.list_flows(engine.rt, admin, project="project-b") == []
    over_rpc = RequestContext(project_id="ops", roles=["admin"])
    assert len(flow_views.list_flows(engine.rt, over_rpc)) == 2


def test_another_projects_flow_is_not_found(engine: Engine) -> None:
    engine.create("bad", ROLLED_BACK)
    (flow,) = flow_views.list_flows(engine.rt, engine.ctx)
    other = RequestContext(project_id="project-b", user_id="bob")
    for call in (flow_views.show_flow, flow_views.flow_graph):
        with pytest.raises(exceptions.FlowNotFound) as caught:
            call(engine.rt, other, flow["id"])
        assert caught.value.kwargs == {"flow_id": flow["id"]}
        assert str(caught.value) == f"Flow not found: {flow['id']}"
        with pytest.raises(exceptions.FlowNotFound, match="Flow not found: no-such-flow"):
            call(engine.rt, engine.ctx, "no-such-flow")
    admin = RequestContext(project_id="ops", is_admin=True)
    assert flow_views.show_flow(engine.rt, admin, flow["id"])["stack_name"] == "bad"


def _nodes(dot: str) -> dict[str, str]:
    """Node name -> its attribute list, from the DOT text."""
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r'^\s*"([^"]+)" \[(.*)\];$', dot, flags=re.MULTILINE)
    }


def test_graph_shows_the_failed_step_in_red_and_what_it_blocked(engine: Engine) -> None:
    engine.create("bad", ROLLED_BACK)
    (flow,) = flow_views.list_flows(engine.rt, engine.ctx)
    dot = flow_views.flow_graph(engine.rt, engine.ctx, flow["id"])
    assert dot.startswith(f'digraph "flow-{flow["id"]}" {{')
    nodes = _nodes(dot)
    assert 'fillcolor="red"' in nodes["wait-create:broken"]
    assert "FAILED, then REVERTED" in nodes["wait-create:broken"]
    assert "ResourceFailure" in nodes["wait-create:broken"]
    assert 'fillcolor="palegreen"' not in dot  # nothing is left succeeded: all reverted
    assert 'fillcolor="grey80"' in nodes["create:fine"]
    for blocked in ("create:after", "wait-create:after", "stack-create-complete"):
        assert "dashed" in nodes[blocked] and 'fillcolor="white"' in nodes[blocked]
    assert 'shape="hexagon"' in nodes["poll-create:fine"]
    assert '"wait-create:broken" -> "create:after" [color=red, penwidth=2];' in dot
    assert '"stack-create-lifecycle" -> "create:fine";' in dot
    assert '"wait-create:fine" -> "create:broken";' in dot
    assert 'label="create-resources (graph_flow)"' in dot
    assert 'label="wait-create-broken (linear_flow)"' in dot


def test_graph_of_a_finished_flow_is_green(engine: Engine) -> None:
    engine.create("good", WAITING)
    (flow,) = flow_views.list_flows(engine.rt, engine.ctx)
    nodes = _nodes(flow_views.flow_graph(engine.rt, engine.ctx, flow["id"]))
    assert set(nodes) == {
        "stack-create-lifecycle",
        "create:slow",
        "poll-create:slow",
        "wait-create:slow",
        "stack-create-complete",
    }
    assert all('fillcolor="palegreen"' in attrs for attrs in nodes.values())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz (dot) is not installed")
def test_graphviz_accepts_the_dot(engine: Engine) -> None:
    engine.create("bad", ROLLED_BACK)
    (flow,) = flow_views.list_flows(engine.rt, engine.ctx)
    dot = flow_views.flow_graph(engine.rt, engine.ctx, flow["id"])
    rendered = subprocess.run(
        [str(shutil.which("dot")), "-Tsvg"], input=dot, capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "<svg" in rendered.stdout and "wait&#45;create:broken" in rendered.stdout


def test_a_flow_whose_factory_is_gone_still_shows_its_steps(engine: Engine) -> None:
    engine.create("bad", ROLLED_BACK)
    (flow,) = flow_views.list_flows(engine.rt, engine.ctx)
    connection = engine.rt.backend.get_connection()
    detail = connection.get_flow_details(flow["id"])
    detail.meta["factory"]["name"] = "flows.renamed_module.create_stack"
    connection.update_flow_details(detail)
    shown = flow_views.show_flow(engine.rt, engine.ctx, flow["id"])
    assert shown["structure"].startswith("structure unavailable: ImportError")
    assert len(shown["steps"]) == 11
    assert shown["failed_steps"] == ["wait-create:broken"]
    dot = flow_views.flow_graph(engine.rt, engine.ctx, flow["id"])
    assert "structure unavailable" in dot and "->" not in dot
    assert 'fillcolor="red"' in _nodes(dot)["wait-create:broken"]
