"""Odd and oversized requests get one clear error naming the field, and change nothing.

Each request goes through the real client, payload checks and engine
(:class:`~flowstack.rpc.local.LocalChannel`), on a real SQLite database.
"""

from __future__ import annotations

from typing import Any

import pytest

from flowstack import exceptions
from flowstack.engine.stack_service import MAX_TIMEOUT_MINS, StackService
from flowstack.rpc import payload
from tests.unit.conftest import Engine

TEMPLATE = """
heat_template_version: 2018-08-31
parameters:
  p: {type: json, default: {}}
resources:
  a: {type: OS::Heat::None}
"""


def _refused(engine: Engine, **kwargs: Any) -> exceptions.InvalidInput:
    with pytest.raises(exceptions.InvalidInput) as caught:
        engine.service.create_stack(engine.ctx, "web", kwargs.pop("template", TEMPLATE), **kwargs)
    assert engine.service.list_stacks(engine.ctx) == []  # nothing was created
    return caught.value


def test_a_timeout_no_database_can_hold_is_refused(engine: Engine) -> None:
    error = _refused(engine, timeout_mins=10**30)
    assert error.kwargs["field"] == "timeout_mins"
    assert f"must be at most {MAX_TIMEOUT_MINS}" in str(error)


def test_the_engine_bounds_the_timeout_itself(engine: Engine) -> None:
    service = StackService(engine.rt, engine.route)
    with pytest.raises(exceptions.InvalidRequest) as caught:
        service.create_stack(engine.ctx, "web", TEMPLATE, timeout_mins=MAX_TIMEOUT_MINS + 1)
    assert caught.value.kwargs["field"] == "timeout_mins"
    assert "between 1 and 525600 minutes" in str(caught.value)
    assert payload.MAX_TIMEOUT_MINS == MAX_TIMEOUT_MINS


def test_parameters_that_are_not_a_map_are_named_by_the_client(engine: Engine) -> None:
    error = _refused(engine, parameters=[("p", "{}")])
    assert isinstance(error, exceptions.InvalidRequest)
    assert error.kwargs["field"] == "parameters"
    assert "argument 'parameters' must be a map (a dict), not list" in str(error)


def test_values_json_cannot_carry_are_named_by_the_client(engine: Engine) -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    error = _refused(engine, parameters={"p": deep})
    assert error.kwargs["field"] == "parameters"
    # The client refuses it unless this process recurses deeper than Python's
    # default (mypy, run by another test, raises the limit): then the payload check does.
    assert "cannot be sent as JSON (nests too deeply)" in str(error) or (
        "more than 101 levels deep" in str(error)
    )
    error = _refused(engine, parameters={"p": float("nan")})
    assert error.kwargs["field"] == "parameters"


def test_parameters_nested_past_a_templates_bounds_are_refused_on_arrival(engine: Engine) -> None:
    deep: Any = "x"
    for _ in range(150):
        deep = {"k": deep}
    error = _refused(engine, parameters={"p": deep})
    assert error.kwargs["field"] == "parameters"
    assert "more than 101 levels deep" in str(error)


def test_a_json_parameter_given_as_deeply_nested_text_is_a_parameter_error(
    engine: Engine,
) -> None:
    error = _refused(engine, parameters={"p": "[" * 50000 + "]" * 50000})
    assert isinstance(error, exceptions.TemplateInvalid)
    (problem,) = error.errors
    assert problem.path == "parameters.p"
    assert "JSON of at most 100000 values nested at most 100 levels deep" in problem.message


def test_parameter_values_count_against_a_size_limit(engine: Engine) -> None:
    engine.rt.conf.set_override("max_parameters_size", 2048, group="engine")
    error = _refused(engine, parameters={"p": '"' + "x" * 4000 + '"'})
    assert error.kwargs["field"] == "parameters"
    assert "[engine] max_parameters_size" in str(error)


def test_the_files_map_counts_against_the_limits(engine: Engine) -> None:
    engine.rt.conf.set_override("max_files", 3, group="engine")
    many = {f"f{n}.txt": "x" for n in range(4)}
    error = _refused(engine, files=many)
    assert error.kwargs["field"] == "files"
    assert "holds 4 files; the limit is 3 ([engine] max_files)" in str(error)

    engine.rt.conf.set_override("max_files_size", 4096, group="engine")
    big = {f"f{n}.txt": "x" * 2000 for n in range(3)}  # each within max_template_size
    error = _refused(engine, files=big)
    assert error.kwargs["field"] == "files"
    assert "holds 6000 bytes; the limit is 4096 ([engine] max_files_size)" in str(error)


def test_the_expansion_limit_is_the_engines_option(engine: Engine) -> None:
    engine.rt.conf.set_override("max_template_nodes", 200, group="engine")
    text = TEMPLATE + "".join(f"  r{n}: {{type: OS::Heat::None}}\n" for n in range(60))
    error = _refused(engine, template=text)
    assert isinstance(error, exceptions.TemplateInvalid)
    assert "more than 200 values" in str(error)
    assert "[engine] max_template_nodes" in str(error)


def test_an_integer_python_cannot_convert_is_a_template_error(engine: Engine) -> None:
    text = TEMPLATE.replace("default: {}", "default: {n: " + "7" * 5000 + "}")
    error = _refused(engine, template=text)
    assert isinstance(error, exceptions.TemplateInvalid)
    assert "an integer of 5000 characters is too long" in str(error)
    assert "(line 4)" in str(error)


def test_every_kind_of_error_comes_in_one_answer(engine: Engine) -> None:
    text = """
heat_template_version: 2018-08-31
outputz: {}
parameters:
  count: {type: number, constraints: [{range: {max: 3}}]}
resources:
  db: {type: OS::Heat::TestResouce}
  app:
    type: OS::Heat::TestResource
    properties: {value: {get_paramm: count}, colour: red}
  web:
    type: server.yaml
"""
    with pytest.raises(exceptions.TemplateInvalid) as caught:
        engine.service.validate_template(engine.ctx, text, {"count": "7"})
    assert [e.path for e in caught.value.errors] == [
        "outputz",
        "resources.app.properties.value.get_paramm",
        "files.server.yaml",
        "parameters.count",
        "resources.db.type",
        "resources.app.properties.colour",
    ]
    assert str(caught.value).startswith("Invalid template (6 errors):")
    assert "did you mean 'OS::Heat::TestResource'?" in str(caught.value)
