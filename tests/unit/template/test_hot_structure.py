"""Template structure: sections, resource and output keys, parameter groups, storage."""

import json
import textwrap

import pytest

from flowstack import template

HEAD = "heat_template_version: 2018-08-31\n"


def hot(body: str) -> str:
    return HEAD + textwrap.dedent(body)


def test_a_complete_template_parses_into_definitions():
    parsed = template.parse(
        hot("""
        description: A web server
        parameters:
          flavor: {type: string, default: m1.small}
        resources:
          web:
            type: OS::Nova::Server
            description: the server
            properties:
              flavor: {get_param: flavor}
            metadata: {role: web}
            depends_on: db
          db:
            type: OS::Heat::None
        outputs:
          id:
            value: {get_resource: web}
            description: The server id
    """)
    )
    assert parsed.description == "A web server"
    web = parsed.resources["web"]
    assert (web.name, web.type, web.depends_on, web.description) == (
        "web",
        "OS::Nova::Server",
        ["db"],
        "the server",
    )
    assert web.metadata == {"role": "web"}
    assert isinstance(web.properties["flavor"], template.functions.GetParam)
    assert parsed.resources["db"].properties == {}
    assert parsed.outputs["id"].description == "The server id"
    assert parsed.output_dependencies() == frozenset({"web"})


def test_empty_sections_are_allowed():
    parsed = template.parse(HEAD + "parameters:\nresources:\noutputs:\n")
    assert (parsed.parameters, parsed.resources, parsed.outputs) == ({}, {}, {})


@pytest.mark.parametrize("section", ["Resources", "resource", "conditions", "mappings"])
def test_unknown_sections_are_named_with_the_allowed_ones(section, errors_of):
    (error,) = errors_of(template.parse, HEAD + f"{section}: {{}}\n")
    assert error.path == section
    assert error.line == 2
    assert (
        "heat_template_version, description, parameter_groups, parameters, resources, outputs"
        in error.message
    )


def test_section_messages_say_why(errors_of, by_path):
    errors = by_path(
        errors_of(template.parse, HEAD + "conditions: {}\nResources: {}\nresource: {}\n")
    )
    assert errors["conditions"].startswith("'conditions' is not supported by flowstack")
    assert "CloudFormation" in errors["Resources"]
    assert "did you mean 'resources'?" in errors["resource"]


@pytest.mark.parametrize("key", ["deletion_policy", "update_policy", "condition", "external_id"])
def test_heat_resource_keys_flowstack_lacks_are_not_supported(key, errors_of):
    text = hot(f"""
        resources:
          r:
            type: OS::Heat::None
            {key}: x
    """)
    (error,) = errors_of(template.parse, text)
    assert error.path == f"resources.r.{key}"
    assert error.line == 6
    assert error.message.startswith(f"'{key}' is not supported by flowstack")


def test_a_mistyped_resource_key_gets_a_suggestion(errors_of):
    text = hot("""
        resources:
          r:
            type: OS::Heat::None
            propertes: {}
    """)
    (error,) = errors_of(template.parse, text)
    assert error.path == "resources.r.propertes"
    assert "did you mean 'properties'?" in error.message
    assert (
        "valid resource keys: type, properties, metadata, depends_on, description" in error.message
    )


def test_resource_shape_errors_are_all_collected(errors_of, by_path):
    text = hot("""
        resources:
          no_type: {properties: {}}
          not_a_map: [1]
          bad_props: {type: T, properties: [1, 2]}
          fn_props: {type: T, properties: {get_param: p}}
          bad_meta: {type: T, metadata: 3}
          bad_deps: {type: T, depends_on: {a: b}}
          bad_dep_item: {type: T, depends_on: [a, 1]}
    """)
    errors = by_path(errors_of(template.parse, text))
    assert errors == {
        "resources.no_type.type": "a resource type is required (missing)",
        "resources.not_a_map": "a resource definition must be a map with a 'type'",
        "resources.bad_props.properties": "must be a map of names to values, got a list",
        "resources.fn_props.properties": "must be a map of names to values, got a function call",
        "resources.bad_meta.metadata": "must be a map of names to values, got a number",
        "resources.bad_deps.depends_on": "must be a resource name or a list of resource names",
        "resources.bad_dep_item.depends_on": "must be a resource name or a list of resource names",
    }


def test_depends_on_takes_a_name_or_a_list():
    parsed = template.parse(
        hot("""
        resources:
          a: {type: T, depends_on: b}
          b: {type: T, depends_on: [c, c, d]}
    """)
    )
    assert parsed.resources["a"].depends_on == ["b"]
    assert parsed.resources["b"].depends_on == ["c", "d"]


def test_output_keys(errors_of, by_path):
    text = hot("""
        outputs:
          no_value: {description: x}
          cond: {value: 1, condition: c}
          typo: {value: 1, descripton: x}
          null_value: {value: null}
    """)
    errors = by_path(errors_of(template.parse, text))
    assert errors["outputs.no_value"] == "an output definition must be a map with a 'value'"
    assert errors["outputs.cond.condition"].startswith("'condition' is not supported by flowstack")
    assert "did you mean 'description'?" in errors["outputs.typo.descripton"]
    assert "outputs.null_value" not in errors


def test_parameter_groups_are_checked(errors_of, by_path):
    text = hot("""
        parameter_groups:
          - label: first
            parameters: [a, nope]
          - label: second
            parameters: [a]
          - label: third
          - {parameters: [b], colour: red}
        parameters:
          a: {type: string}
          b: {type: string}
    """)
    errors = by_path(errors_of(template.parse, text))
    assert errors == {
        "parameter_groups[0].parameters[1]": "'nope' is not a parameter of this template",
        "parameter_groups[1].parameters[0]": (
            "parameter 'a' is already in group first; a parameter belongs to one group"
        ),
        "parameter_groups[2].parameters": "a group needs a list of parameter names",
        "parameter_groups[3].colour": (
            "'colour' is not a valid key; valid keys: label, description, parameters"
        ),
    }


def test_valid_parameter_groups_are_kept():
    parsed = template.parse(
        hot("""
        parameter_groups:
          - {label: L, description: D, parameters: [a]}
        parameters:
          a: {type: string, default: x}
    """)
    )
    (group,) = parsed.parameter_groups
    assert (group.label, group.description, group.parameters) == ("L", "D", ("a",))


def test_parameter_groups_must_be_a_list(errors_of):
    (error,) = errors_of(template.parse, HEAD + "parameter_groups: {a: 1}\n")
    assert (error.path, error.message) == ("parameter_groups", "must be a list of groups")


def test_every_structural_error_is_reported_at_once(errors_of):
    text = hot("""
        Outputs: {}
        resources:
          a: {type: T, deletion_policy: Retain}
          b: {type: T, properties: {x: {get_file: f.txt}}}
        outputs:
          o: {}
    """)
    errors = errors_of(template.parse, text)
    assert [e.path for e in errors] == [
        "Outputs",
        "resources.a.deletion_policy",
        "resources.b.properties.x.get_file",
        "outputs.o",
    ]
    assert all(e.line is not None for e in errors)


def test_to_mapping_round_trips_through_json():
    parsed = template.parse(
        hot("""
        parameters:
          n: {type: number, default: "5"}
        resources:
          a:
            type: T
            properties:
              x: {str_replace: {template: "$a", params: {$a: {get_attr: [b, c, 0]}}}}
          b: {type: T}
        outputs:
          o: {value: {list_join: [",", [a, b]]}}
    """)
    )
    stored = json.loads(json.dumps(parsed.to_mapping()))
    again = template.from_mapping(stored)
    assert again == parsed
    assert again.parameters["n"].default == 5
    assert again.line_of("resources.a") is None
    assert parsed.line_of("resources.a.properties.x") == 9


def test_to_mapping_is_a_copy():
    parsed = template.parse(hot("resources:\n  a: {type: T}\n"))
    parsed.to_mapping()["resources"]["a"]["type"] = "changed"
    assert parsed.to_mapping()["resources"]["a"]["type"] == "T"


def test_from_mapping_reports_without_lines(errors_of):
    (error,) = errors_of(template.from_mapping, {"heat_template_version": "2018-08-31", "x": 1})
    assert (error.path, error.line) == ("x", None)


def test_templates_with_constraints_round_trip_equal():
    parsed = template.parse(
        hot("""
        parameters:
          p: {type: string, constraints: [{allowed_pattern: "[a-z]+", description: lower}]}
    """)
    )
    assert template.from_mapping(parsed.to_mapping()) == parsed
