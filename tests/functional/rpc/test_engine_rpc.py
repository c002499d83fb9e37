"""Every call of the engine's RPC API through the real RabbitMQ, and how it fails."""

from __future__ import annotations

import oslo_messaging
import pytest

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.rpc.client import EngineClient
from tests.functional.rpc.conftest import RpcEngine

TEMPLATE = """
heat_template_version: 2018-08-31
parameters:
  greeting: {type: string, default: hello}
  password: {type: string, hidden: true, default: s3cret-value}
resources:
  one:
    type: OS::Heat::TestResource
    properties: {value: {get_param: greeting}}
  two:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [one, output]}}
outputs:
  said: {value: {get_attr: [two, output]}, description: what two stored}
"""
INVALID = """
heat_template_version: 2018-08-31
resources:
  web:
    type: OS::Heat::TestResource
    properties: {value: 1, colour: blue}
  db:
    type: OS::Heat::TestResouce
"""


def test_each_call_through_rpc(rpc_engine: RpcEngine) -> None:
    client, ctx = rpc_engine.client, rpc_engine.ctx
    validated = client.validate_template(ctx, TEMPLATE, {"greeting": "hi"})
    assert set(validated["Parameters"]) >= {"greeting", "password"}

    types = {t["resource_type"] for t in client.list_resource_types(ctx)}
    assert "OS::Heat::TestResource" in types

    started = client.create_stack(ctx, "web", TEMPLATE, {"greeting": "hi"}, timeout_mins=5)
    assert started["stack_name"] == "web"
    assert started["stack_status"] == "CREATE_IN_PROGRESS"
    stack = rpc_engine.finish(started)
    assert stack["stack_status"] == "CREATE_COMPLETE"
    assert stack["parameters"]["password"] == "******"
    assert "s3cret-value" not in repr(stack)

    assert [s["stack_name"] for s in client.list_stacks(ctx)] == ["web"]
    assert client.show_stack(ctx, "web")["id"] == started["id"]
    assert {
        r["resource_name"]: r["resource_status"] for r in client.list_resources(ctx, "web")
    } == {
        "one": "CREATE_COMPLETE",
        "two": "CREATE_COMPLETE",
    }
    assert client.show_resource(ctx, "web", "two")["attributes"]["output"] == "hi"

    events = client.list_events(ctx, "web")
    assert events[-1]["resource_status"] == "CREATE_COMPLETE"
    later = client.list_events(ctx, "web", after_id=events[-2]["id"])
    assert later == events[-1:]
    assert [e["resource_name"] for e in client.list_events(ctx, "web", resource_name="one")] == [
        "one",
        "one",
    ]
    assert len(client.list_events(ctx, "web", limit=1)) == 1

    [said] = client.show_output(ctx, "web", "said")
    assert (said["output_key"], said["output_value"]) == ("said", "hi")
    assert [o["output_key"] for o in client.show_output(ctx, "web")] == ["said"]

    deleted = rpc_engine.finish(client.delete_stack(ctx, "web"))
    assert deleted["stack_status"] == "DELETE_COMPLETE"
    assert client.list_stacks(ctx) == []


def test_domain_errors_arrive_typed_with_their_message(rpc_engine: RpcEngine) -> None:
    client, ctx = rpc_engine.client, rpc_engine.ctx
    with pytest.raises(exceptions.StackNotFound) as missing:
        client.show_stack(ctx, "nothing")
    assert type(missing.value) is exceptions.StackNotFound
    assert str(missing.value) == "Stack not found: nothing"
    assert missing.value.kwargs == {"name_or_id": "nothing"}

    with pytest.raises(exceptions.TemplateInvalid) as invalid:
        client.create_stack(ctx, "bad", INVALID)
    assert type(invalid.value) is exceptions.TemplateInvalid
    assert str(invalid.value).startswith("Invalid template (2 errors):\n")
    assert "Traceback" not in str(invalid.value)
    assert {(e.path, e.line) for e in invalid.value.errors} == {
        ("resources.web.properties.colour", 6),
        ("resources.db.type", 8),
    }

    rpc_engine.finish(client.create_stack(ctx, "web", TEMPLATE))
    with pytest.raises(exceptions.StackExists, match="A stack named 'web' already exists"):
        client.create_stack(ctx, "web", TEMPLATE)
    with pytest.raises(exceptions.OutputNotFound) as output:
        client.show_output(ctx, "web", "url")
    assert str(output.value) == "Output 'url' not found in stack web (outputs: said)"
    with pytest.raises(exceptions.ResourceNotFound):
        client.show_resource(ctx, "web", "three")
    with pytest.raises(exceptions.InvalidRequest, match="stack name '1st' is invalid"):
        client.create_stack(ctx, "1st", TEMPLATE)
    assert [s["stack_name"] for s in client.list_stacks(ctx)] == ["web"]


def test_one_project_never_sees_another_projects_stack(rpc_engine: RpcEngine) -> None:
    client, mine, theirs = rpc_engine.client, rpc_engine.ctx, rpc_engine.other
    stack = rpc_engine.finish(client.create_stack(mine, "web", TEMPLATE))
    assert client.list_stacks(theirs) == []
    for name_or_id in ("web", stack["id"]):
        for call in (
            client.show_stack,
            client.list_resources,
            client.list_events,
            client.show_output,
            client.delete_stack,
        ):
            with pytest.raises(exceptions.StackNotFound) as caught:
                call(theirs, name_or_id)
            assert str(caught.value) == f"Stack not found: {name_or_id}"
    # The same name is free in the other project.
    assert (
        rpc_engine.finish(client.create_stack(theirs, "web", TEMPLATE), theirs)["id"]
        != (stack["id"])
    )
    assert client.show_stack(mine, "web")["stack_status"] == "CREATE_COMPLETE"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"template": TEMPLATE}, "name"),
        ({"name": "web"}, "template"),
        ({"name": "web", "template": {"heat_template_version": "2018-08-31"}}, "template"),
        ({"name": "web", "template": TEMPLATE, "parameters": ["a=b"]}, "parameters"),
        ({"name": "web", "template": TEMPLATE, "timeout_mins": "5"}, "timeout_mins"),
        ({"name": "web", "template": TEMPLATE, "owner": "eve"}, "owner"),
    ],
)
def test_malformed_payloads_are_refused_and_create_nothing(
    rpc_engine: RpcEngine, payload: dict, field: str
) -> None:
    with pytest.raises(exceptions.InvalidRequest) as caught:
        rpc_engine.client._call(rpc_engine.ctx, "create_stack", **payload)
    assert caught.value.kwargs["field"] == field
    assert f"'{field}'" in str(caught.value)
    assert rpc_engine.client.list_stacks(rpc_engine.ctx) == []


def test_an_oversized_template_is_refused(rpc_engine: RpcEngine) -> None:
    limit = rpc_engine.server.conf.engine.max_template_size
    padding = "#" * limit + "\n"
    with pytest.raises(exceptions.InvalidRequest) as caught:
        rpc_engine.client.create_stack(rpc_engine.ctx, "web", padding + TEMPLATE)
    assert str(caught.value).startswith("template is ")
    assert caught.value.kwargs == {"field": "template"}
    assert "[engine] max_template_size" in str(caught.value)
    assert rpc_engine.client.list_stacks(rpc_engine.ctx) == []


def test_a_newer_client_is_refused_with_a_version_error(rpc_engine: RpcEngine) -> None:
    class NewerClient(EngineClient):
        RPC_API_VERSION = "1.99"

    newer = NewerClient(
        rpc_engine.client.transport,
        topic=rpc_engine.server.conf.rpc.topic,
        exchange=rpc_engine.server.conf.rpc.exchange,
        timeout=20,
    )
    with pytest.raises(exceptions.EngineVersionUnsupported) as caught:
        newer._call(rpc_engine.ctx, "list_stacks", version="1.99")
    assert str(caught.value).startswith(
        "list_stacks needs RPC API version 1.99, which the engine that answered does not support"
    )
    # What it sends at the old version still works.
    assert newer._call(rpc_engine.ctx, "list_stacks", version="1.0") == []


def test_the_version_cap_keeps_a_client_from_sending_newer_calls(rpc_engine: RpcEngine) -> None:
    capped = EngineClient(
        rpc_engine.client.transport,
        topic=rpc_engine.server.conf.rpc.topic,
        exchange=rpc_engine.server.conf.rpc.exchange,
        version_cap="1.0",
    )
    with pytest.raises(exceptions.EngineVersionUnsupported, match=r"\[rpc\] version_cap 1.0"):
        capped._call(rpc_engine.ctx, "list_stacks", version="1.1")


def test_an_unexpected_engine_error_is_clear_and_keeps_its_details_home(
    rpc_engine: RpcEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(ctx: RequestContext) -> None:
        raise RuntimeError("the connection string was mysql://root:hunter2@db")

    monkeypatch.setattr(rpc_engine.manager._stacks, "list_resource_types", broken)
    with pytest.raises(exceptions.EngineInternalError) as caught:
        rpc_engine.client.list_resource_types(rpc_engine.ctx)
    message = str(caught.value)
    assert message == (
        "flowstack-engine failed while handling list_resource_types: RuntimeError "
        f"(request {rpc_engine.ctx.request_id}; the engine's log has the details)"
    )
    assert "hunter2" not in message
    assert "hunter2" in caplog.text  # the engine's log has it, with the request id
    assert rpc_engine.ctx.request_id in caplog.text


def test_a_context_without_a_project_is_refused_by_the_engine(rpc_engine: RpcEngine) -> None:
    raw = oslo_messaging.get_rpc_client(
        rpc_engine.client.transport,
        oslo_messaging.Target(
            topic=rpc_engine.server.conf.rpc.topic,
            exchange=rpc_engine.server.conf.rpc.exchange,
            version="1.0",
        ),
        timeout=20,
    )
    with pytest.raises(exceptions.InvalidRequest, match="no project_id"):
        raw.call({"user_id": "eve"}, "list_stacks")


def test_no_engine_answering_is_a_clear_error(rpc_engine: RpcEngine) -> None:
    nobody = EngineClient(
        rpc_engine.client.transport,
        topic="flowstack-engine-nobody-listens",
        exchange=rpc_engine.server.conf.rpc.exchange,
        timeout=1,
    )
    with pytest.raises(exceptions.EngineUnavailable, match="within 1 s"):
        nobody.list_stacks(rpc_engine.ctx)


def test_template_files_travel_with_create_and_validate(rpc_engine: RpcEngine) -> None:
    client, ctx = rpc_engine.client, rpc_engine.ctx
    uses_file = """
heat_template_version: 2018-08-31
resources:
  pair:
    type: pair.yaml
    properties: {greeting: hey}
outputs:
  said: {value: {get_attr: [pair, said]}}
"""
    files = {"pair.yaml": TEMPLATE}
    validated = client.validate_template(ctx, uses_file, files=files)
    assert "Parameters" in validated
    with pytest.raises(exceptions.TemplateInvalid, match=r"files\.pair\.yaml"):
        client.validate_template(ctx, uses_file)
    stack = rpc_engine.finish(client.create_stack(ctx, "web", uses_file, files=files))
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    assert {o["output_key"]: o["output_value"] for o in stack["outputs"]} == {"said": "hey"}
    # A client capped below 1.4 refuses to send files rather than drop them.
    capped = EngineClient(
        client.transport,
        topic=rpc_engine.server.conf.rpc.topic,
        exchange=rpc_engine.server.conf.rpc.exchange,
        version_cap="1.3",
    )
    with pytest.raises(exceptions.EngineVersionUnsupported):
        capped.create_stack(ctx, "other", uses_file, files=files)
