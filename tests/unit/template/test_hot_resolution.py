"""Run-time resolution of properties, metadata and outputs with a fake context."""

import textwrap

import pytest

from flowstack import template
from flowstack.exceptions import ResourceNotFound, TemplateInvalid

SECRET = "s3cr3t-VALUE"

TEXT = textwrap.dedent("""
    heat_template_version: 2018-08-31
    parameters:
      flavor: {type: string, default: m1.small}
      pw: {type: string, hidden: true}
    resources:
      key: {type: OS::Heat::RandomString, properties: {length: "16"}}
      web:
        type: OS::Nova::Server
        properties:
          flavor: {get_param: flavor}
          image: {str_replace: {template: img-$K, params: {$K: {get_resource: key}}}}
          name: {get_param: OS::stack_name}
          count: {get_attr: [key, show, count]}
          networks: [{network: {get_attr: [key, show, nets, 0]}}]
          admin_pass: {get_attr: [key, value]}
        metadata: {key_id: {get_resource: key}}
    outputs:
      first: {value: {get_attr: [web, networks, private, 0]}, description: The IP}
      pw: {value: {get_param: pw}}
      broken: {value: {get_attr: [web, networks, public, 0]}}
      gone: {value: {get_attr: [key, show, id]}}
""")


@pytest.fixture
def tpl():
    return template.parse(TEXT)


@pytest.fixture
def context(make_context):
    return make_context(
        {"flavor": "m1.small", "pw": SECRET, "OS::stack_name": "st"},
        refs={"key": "key-id", "web": "web-id"},
        attributes={
            ("key", "show"): {"count": "2", "nets": ["n1"]},
            ("key", "value"): "a-long-secret-string",
            ("web", "networks"): {"private": ["10.0.0.5"]},
        },
    )


def test_properties_are_resolved_coerced_and_defaulted(tpl, context, types):
    assert template.resolve_properties(tpl, "key", context, types) == {"length": 16}
    assert template.resolve_properties(tpl, "web", context, types) == {
        "flavor": "m1.small",
        "image": "img-key-id",
        "name": "st",
        "count": 2,
        "networks": [{"network": "n1", "fixed_ip": None}],
        "metadata": None,
        "user_data": None,
        "admin_pass": "a-long-secret-string",
    }


def test_a_wrong_run_time_value_names_the_property(tpl, context, types):
    context.attributes[("key", "show")] = {"count": "many", "nets": ["n1"]}
    with pytest.raises(TemplateInvalid) as info:
        template.resolve_properties(tpl, "web", context, types)
    (error,) = info.value.errors
    assert (error.path, error.message) == (
        "resources.web.properties.count",
        'expected an integer, got "many"',
    )
    assert error.line == 14


def test_a_missing_attribute_key_names_the_place(tpl, context, types):
    context.attributes[("key", "show")] = {"count": 1, "nets": []}
    with pytest.raises(TemplateInvalid) as info:
        template.resolve_properties(tpl, "web", context, types)
    (error,) = info.value.errors
    assert error.path == "resources.web.properties.networks[0].network.get_attr"
    assert error.message == "get_attr: key.show['nets'] has no index 0 (it has 0 items)"


def test_secret_attributes_are_not_shown_in_errors(tpl, context, types):
    context.attributes[("key", "value")] = "short"
    with pytest.raises(TemplateInvalid) as info:
        template.resolve_properties(tpl, "web", context, types)
    (error,) = info.value.errors
    assert error.path == "resources.web.properties.admin_pass"
    assert "short" not in str(error)


def test_metadata_is_resolved(tpl, context):
    assert template.resolve_metadata(tpl, "web", context) == {"key_id": "key-id"}


def test_outputs_carry_values_or_errors(tpl, context):
    del context.attributes[("key", "show")]
    outputs = template.resolve_outputs(tpl, context)
    assert outputs["first"] == template.OutputValue("10.0.0.5", None, "The IP")
    assert outputs["pw"].value == SECRET
    assert outputs["broken"] == template.OutputValue(
        None, "outputs.broken.value.get_attr: get_attr: web.networks has no key 'public'", ""
    )
    assert outputs["gone"].value is None
    assert outputs["gone"].error.startswith("outputs.gone.value.get_attr: Resource 'key' not found")


def test_output_dependencies(tpl):
    assert tpl.output_dependencies() == frozenset({"web", "key"})


def test_engine_errors_reach_the_caller_for_properties(tpl, context, types):
    del context.refs["key"]
    with pytest.raises(ResourceNotFound, match="Resource 'key' not found"):
        template.resolve_properties(tpl, "web", context, types)
