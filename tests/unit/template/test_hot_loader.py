"""Loading template text: YAML or JSON, with the line of every node."""

import json
import tracemalloc

import pytest

from flowstack import template
from flowstack.template import bounds, loader


def test_yaml_syntax_error_carries_its_line(errors_of):
    text = "heat_template_version: 2018-08-31\nresources:\n  a:\n    type: [unclosed\n"
    (error,) = errors_of(template.parse, text)
    assert error.path == ""
    assert error.line == 5  # where the parser noticed the bracket was never closed
    assert error.message.startswith("invalid YAML:")


def test_bad_indentation_points_at_the_offending_line(errors_of):
    text = "heat_template_version: 2018-08-31\nresources:\n  a:\n    type: x\n   bad: 1\n"
    (error,) = errors_of(template.parse, text)
    assert error.line == 5
    assert "invalid YAML" in str(error) and "(line 5)" in str(error)


def test_lines_are_recorded_for_keys_and_list_items():
    data, lines = loader.load("a:\n  b:\n    - x\n    - y: 1\nc: 2\n")
    assert data == {"a": {"b": ["x", {"y": 1}]}, "c": 2}
    assert lines["a"] == 1
    assert lines["a.b"] == 2
    assert lines["a.b[0]"] == 3
    assert lines["a.b[1]"] == 4
    assert lines["a.b[1].y"] == 4
    assert lines["c"] == 5


def test_json_text_is_accepted():
    text = json.dumps({"heat_template_version": "2016-10-14", "resources": {}})
    assert template.parse(text).version == "2016-10-14"


def test_json_that_yaml_cannot_read_still_loads():
    text = '{"heat_template_version":\t"2016-10-14"}'  # a tab YAML rejects where JSON allows it
    assert template.parse(text).version == "2016-10-14"


def test_unquoted_dates_stay_strings():
    data, _ = loader.load("when: 2016-10-14\n")
    assert data == {"when": "2016-10-14"}


def test_empty_text_is_not_a_template(errors_of):
    (error,) = errors_of(template.parse, "")
    assert error.message == "a template must be a map of sections, got null"


def test_several_documents_are_refused(errors_of):
    (error,) = errors_of(template.parse, "heat_template_version: 2018-08-31\n---\na: 1\n")
    assert "invalid YAML" in error.message


def test_yaml_only_types_are_refused(errors_of):
    text = "heat_template_version: 2018-08-31\ndescription: !!binary aGVsbG8=\n"
    (error,) = errors_of(template.parse, text)
    assert error.path == "description"
    assert error.line == 2
    assert "bytes" in error.message


def test_recursive_aliases_are_refused(errors_of):
    text = "heat_template_version: 2018-08-31\nresources: &r\n  a: *r\n"
    errors = errors_of(template.parse, text)
    assert any("recursive" in e.message for e in errors)


# -- hostile input: bounded before anything is built --------------------------------------


def _laughs(levels: int, indent: str = "") -> str:
    """Anchors of nine aliases of anchors of nine aliases...: 9**levels strings."""
    lines = [f'{indent}l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        aliases = ",".join([f"*l{level - 1}"] * 9)
        lines.append(f"{indent}l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def _peak_bytes(call, *args):
    tracemalloc.start()
    try:
        call(*args)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_billion_laughs_is_refused_before_it_is_built(errors_of):
    text = "heat_template_version: 2018-08-31\nresources: {}\nx:\n" + _laughs(9, "  ")
    assert len(text) < 700  # a billion strings, from a few hundred bytes
    errors = []
    peak = _peak_bytes(lambda: errors.extend(errors_of(template.parse, text)))
    (error,) = errors
    assert "expands to more than 100000 values" in error.message
    assert error.line is not None
    assert peak < 20 * 2**20  # bytes: the expansion was never built


def test_laughs_inside_a_json_parameter_default_are_refused(errors_of):
    text = (
        "heat_template_version: 2018-08-31\nparameters:\n  p:\n    type: json\n    default:\n"
        + _laughs(7, "      ")
    )
    (error,) = errors_of(template.parse, text)
    assert "expands to more than" in error.message


def test_aliases_are_walked_once_when_recording_lines():
    # 8**5 values once expanded, well within bounds: recording a line for every
    # expanded path (as before) would make this the slowest template of all.
    text = _laughs(5)
    data, lines = loader.load(text)
    assert len(data["l4"]) == 9
    assert len(lines) < 100
    assert lines["l4"] == 5


def test_a_self_referencing_alias_is_a_clear_error(errors_of):
    for text in (
        "heat_template_version: 2018-08-31\nx: &a [*a]\n",
        "heat_template_version: 2018-08-31\nparameters:\n  p: {type: json, default: &a {b: *a}}\n",
    ):
        (error,) = errors_of(template.parse, text)
        assert "recursive aliases are not supported" in error.message


def test_deep_nesting_is_an_error_not_a_recursion_error(errors_of):
    deep_yaml = "heat_template_version: 2018-08-31\nx: " + "[" * 150 + "]" * 150 + "\n"
    (error,) = errors_of(template.parse, deep_yaml)
    assert "more than 100 levels deep" in error.message
    deep_json = '{"heat_template_version": "2018-08-31", "x": ' + "[" * 50000 + "]" * 50000 + "}"
    (error,) = errors_of(template.parse, deep_json)
    assert error.message.startswith("invalid YAML")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: " + "1" * 5000, "an integer of 5000 characters is too long; quote it"),
        ("x: !!float abc", "'abc' is not a valid number"),
        ("x: !!bool maybe", "'maybe' is not a valid boolean"),
        ("x: !!int zz", "'zz' is not a valid integer"),
    ],
)
def test_scalars_python_cannot_read_are_errors_with_their_line(text, message, errors_of):
    (error,) = errors_of(template.parse, "heat_template_version: 2018-08-31\n" + text)
    assert error.line == 2
    assert message in error.message


def test_text_that_is_not_utf8_is_an_error(errors_of):
    (error,) = errors_of(template.parse, b"heat_template_version: 2018-08-31\nx: \xff\n")
    assert "not UTF-8" in error.message


def test_limits_can_be_raised_and_name_their_option(errors_of):
    text = "heat_template_version: 2018-08-31\ndescription:\n" + _laughs(6, "  ")
    tight = bounds.Limits(max_nodes=1000, source="[engine] max_template_nodes")
    (error,) = errors_of(template.parse, text, None, tight)
    assert "more than 1000 values" in error.message
    assert "[engine] max_template_nodes" in error.message
    (error,) = errors_of(template.parse, text, None, bounds.Limits(max_nodes=10**6))
    assert error.message == "must be a string, got a map"  # built and checked: within bounds
