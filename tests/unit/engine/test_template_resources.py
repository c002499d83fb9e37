"""A resource whose type is a template file (Heat's provider templates), outside any group."""

from __future__ import annotations

import pytest

from flowstack import exceptions
from tests.unit.conftest import Engine

PAIR = """
heat_template_version: 2018-08-31
parameters:
  word: {type: string}
  secret: {type: string, hidden: true, default: s3cret}
  fail: {type: boolean, default: false}
resources:
  first:
    type: OS::Heat::TestResource
    properties: {value: {get_param: word}}
  second:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [first, output]}, fail: {get_param: fail}}
outputs:
  echoed: {value: {get_attr: [second, output]}}
  password: {value: {get_param: secret}}
"""

STACK = """
heat_template_version: 2018-08-31
parameters:
  fail: {type: boolean, default: false}
resources:
  before:
    type: OS::Heat::TestResource
    properties: {value: hello}
  pair:
    type: pair.yaml
    properties:
      word: {get_attr: [before, output]}
      fail: {get_param: fail}
  after:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [pair, echoed]}}
outputs:
  said: {value: {get_attr: [after, output]}}
  nested: {value: {get_attr: [pair, "OS::stack_id"]}}
  ref: {value: {get_resource: pair}}
"""


def test_the_file_is_a_nested_stack_created_between_its_neighbours(engine: Engine) -> None:
    stack = engine.create("s", STACK, files={"pair.yaml": PAIR})
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert outputs["said"] == "hello"
    assert outputs["nested"] == outputs["ref"]
    assert engine.statuses(outputs["nested"]) == {
        "first": "CREATE_COMPLETE",
        "second": "CREATE_COMPLETE",
    }
    # The hidden output is a secret attribute: kept encrypted, never in the row in clear.
    [row] = [
        r for r in engine.service.list_resources(engine.ctx, "s") if r["resource_name"] == "pair"
    ]
    shown = engine.service.show_resource(engine.ctx, "s", "pair")
    assert "s3cret" not in str(shown)
    assert row["resource_status"] == "CREATE_COMPLETE"
    assert [s["stack_name"] for s in engine.service.list_stacks(engine.ctx)] == ["s"]

    deleted = engine.delete("s")
    assert deleted["stack_status"] == "DELETE_COMPLETE", deleted["stack_status_reason"]
    nested = engine.service.show_stack(engine.ctx, outputs["nested"])
    assert nested["stack_status"] == "DELETE_COMPLETE"


def test_a_failing_nested_resource_rolls_back_the_whole_stack(engine: Engine) -> None:
    stack = engine.create("s", STACK, parameters={"fail": True}, files={"pair.yaml": PAIR})
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "second" in stack["stack_status_reason"]
    statuses = engine.statuses("s")
    assert statuses["pair"] in ("DELETE_COMPLETE", "INIT_COMPLETE")
    assert statuses["before"] == "DELETE_COMPLETE"


def test_properties_are_checked_against_the_files_parameters(engine: Engine) -> None:
    wrong = STACK.replace("fail: {get_param: fail}", "fail: {get_param: fail}\n      colour: red")
    with pytest.raises(exceptions.TemplateInvalid) as caught:
        engine.service.create_stack(engine.ctx, "s", wrong, files={"pair.yaml": PAIR})
    assert "resources.pair.properties.colour" in str(caught.value)
    assert engine.service.list_stacks(engine.ctx) == []


def test_a_template_file_inside_a_template_file_is_refused(engine: Engine) -> None:
    inner = PAIR.replace(
        "type: OS::Heat::TestResource\n    properties: {value: {get_param",
        "type: other.yaml\n    properties: {value: {get_param",
        1,
    )
    with pytest.raises(exceptions.TemplateInvalid) as caught:
        engine.service.create_stack(
            engine.ctx, "s", STACK, files={"pair.yaml": inner, "other.yaml": PAIR}
        )
    assert "files.pair.yaml" in str(caught.value)
    assert "cannot nest" in str(caught.value)


def test_a_stack_whose_template_resource_never_started_deletes_cleanly(engine: Engine) -> None:
    failing_first = STACK.replace(
        "properties: {value: hello}", "properties: {value: hello, fail: true}"
    )
    stack = engine.create("s", failing_first, files={"pair.yaml": PAIR})
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert engine.statuses("s")["pair"] == "INIT_COMPLETE"
    deleted = engine.delete("s")
    assert deleted["stack_status"] == "DELETE_COMPLETE", deleted["stack_status_reason"]
