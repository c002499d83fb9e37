"""Loading template text: YAML or JSON, with the line of every node."""

import json

from flowstack import template
from flowstack.template import loader


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
