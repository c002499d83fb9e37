"""Intrinsic functions: shapes, version gating, and what they evaluate to."""

import pytest

from flowstack import template
from flowstack.template import functions

PARAMS = """parameters:
  cfg: {type: json, default: {servers: [{name: s0}, {name: s1}], key: servers}}
  names: {type: comma_delimited_list, default: "x,y"}
  n: {type: number, default: 3}
  sep: {type: string, default: "-"}
  which: {type: string, default: name}
"""


@pytest.fixture
def run(make_context):
    """Evaluate one output value at run time; returns the OutputValue."""

    def evaluate(value, *, version="2018-08-31", parameters=None, refs=None, attributes=None):
        text = (
            f"heat_template_version: {version}\n{PARAMS}"
            f"resources:\n  a: {{type: OS::Heat::None}}\n"
            f"outputs:\n  o:\n    value: {value}\n"
        )
        tpl = template.parse(text)
        given = {name: schema.default for name, schema in tpl.parameters.items()}
        given.update(parameters or {})
        context = make_context(given, refs, attributes)
        return template.resolve_outputs(tpl, context)["o"]

    return evaluate


def value_of(run, value, **kwargs):
    out = run(value, **kwargs)
    assert out.error is None, out.error
    return out.value


# -- get_param ---------------------------------------------------------------------------


def test_get_param(run):
    assert value_of(run, "{get_param: n}") == 3
    assert value_of(run, "{get_param: OS::stack_name}", parameters={"OS::stack_name": "st"}) == "st"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("[cfg, servers, 1, name]", "s1"),
        ("[cfg, servers, '0', name]", "s0"),  # an index written as a string, as Heat allows
        ("[names, 1]", "y"),
        ("[cfg, {get_param: [cfg, key]}, 0, {get_param: which}]", "s0"),
        ("[cfg, missing]", ""),  # Heat gives an empty string for a missing key
        ("[cfg, servers, 5]", ""),
        ("[n, 0]", ""),
    ],
)
def test_get_param_paths(run, args, expected):
    assert value_of(run, f"{{get_param: {args}}}") == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{a: b}", "takes a parameter name, or a list [name, key or index, ...]"),
        ("[]", "takes a parameter name, or a list [name, key or index, ...]"),
        ("[1]", "takes a parameter name, or a list [name, key or index, ...]"),
        ("[cfg, [1]]", "path items must be keys (strings) or indexes (integers)"),
    ],
)
def test_get_param_shapes(args, message, errors_of):
    text = f"heat_template_version: 2018-08-31\noutputs:\n  o:\n    value: {{get_param: {args}}}\n"
    (error,) = errors_of(template.parse, text)
    assert (error.path, error.message, error.line) == (
        "outputs.o.value.get_param",
        f"get_param: {message}",
        4,
    )


# -- get_resource and get_attr -----------------------------------------------------------


def test_get_resource(run):
    assert value_of(run, "{get_resource: a}", refs={"a": "uuid-a"}) == "uuid-a"


def test_get_attr_with_and_without_path(run):
    nets = {"private": ["10.0.0.5", "10.0.0.6"], "public": []}
    attrs = {("a", "networks"): nets}
    assert value_of(run, "{get_attr: [a, networks]}", attributes=attrs) == nets
    assert value_of(run, "{get_attr: [a, networks, private, 1]}", attributes=attrs) == "10.0.0.6"
    assert value_of(run, "{get_attr: [a, networks, private, -1]}", attributes=attrs) == "10.0.0.6"
    path = "[a, networks, {get_param: which}]"
    assert value_of(run, f"{{get_attr: {path}}}", attributes={("a", "networks"): {"name": 1}}) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("[a, networks, missing]", "a.networks has no key 'missing'"),
        ("[a, networks, private, 2]", "a.networks['private'] has no index 2 (it has 2 items)"),
        (
            "[a, networks, private, 0, x]",
            "a.networks['private'][0] is a string; 'x' cannot be looked up in it",
        ),
    ],
)
def test_get_attr_paths_that_miss_are_errors(run, args, message):
    out = run(f"{{get_attr: {args}}}", attributes={("a", "networks"): {"private": ["ip", "ip2"]}})
    assert out.value is None
    assert out.error == f"outputs.o.value.get_attr: get_attr: {message}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("[a]", "the form with only a resource name (all attributes) is not supported"),
        ("a", "takes a list [resource_name, attribute_name, key or index, ...]"),
        ("[a, [x]]", "the attribute name must be a string, got a list"),
        ("[{get_resource: a}, x]", "the resource name must be a string"),
        ("[a, x, {k: v}]", "path items must be keys (strings) or indexes (integers)"),
    ],
)
def test_get_attr_shapes(args, message, errors_of):
    text = f"heat_template_version: 2018-08-31\noutputs:\n  o:\n    value: {{get_attr: {args}}}\n"
    (error,) = errors_of(template.parse, text)
    assert error.path == "outputs.o.value.get_attr"
    assert message in error.message


def test_get_resource_shape(errors_of):
    text = "heat_template_version: 2018-08-31\noutputs:\n  o:\n    value: {get_resource: [a]}\n"
    (error,) = errors_of(template.parse, text)
    assert error.message == "get_resource: takes the name of a resource (a string), got a list"


# -- str_replace -------------------------------------------------------------------------


def str_replace(template_text, params):
    return f"{{str_replace: {{template: {template_text!r}, params: {params}}}}}"


@pytest.mark.parametrize(
    ("text", "params", "expected"),
    [
        ("$var $var1 $var12", "{$var: A, $var1: B, $var12: C}", "A B C"),  # longest first
        ("abc", "{ab: X, bc: Y}", "Xc"),  # equal lengths: lexical order
        ("ab", "{a: b, b: c}", "bc"),  # replaced text is not scanned again
        ("n=N b=B z=Z", "{N: 5, B: true, Z: null}", "n=5 b=True z="),
        ("L M", "{L: [1, 2], M: {k: v}}", '[1, 2] {"k": "v"}'),
        ("c=C", "{C: {get_param: n}}", "c=3"),
    ],
)
def test_str_replace(run, text, params, expected):
    assert value_of(run, str_replace(text, params)) == expected


def test_str_replace_params_may_come_from_a_function(run):
    value = "{str_replace: {template: 'a servers b', params: {get_param: cfg}}}"
    assert value_of(run, value) == 'a [{"name": "s0"}, {"name": "s1"}] b'


def test_str_replace_list_values_need_2015_10_15(errors_of, run):
    text = (
        "heat_template_version: 2015-04-30\noutputs:\n  o:\n    value: "
        + str_replace("$L", "{$L: [1]}")
        + "\n"
    )
    (error,) = errors_of(template.parse, text)
    assert error.path == "outputs.o.value.str_replace"
    assert error.message == (
        "str_replace: the value of param '$L' is a list; lists and maps need "
        "heat_template_version 2015-10-15 or later (this is 2015-04-30)"
    )
    out = run(str_replace("$L", "{$L: {get_param: names}}"), version="2015-04-30")
    assert out.error == (
        "outputs.o.value.str_replace: str_replace: the value of param '$L' must "
        "be a string or number, got a list"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{template: x}", "takes a map with 'template' (a string) and 'params'"),
        ("{params: {}}", "takes a map with 'template' (a string) and 'params'"),
        ("{template: x, params: {}, extra: 1}", "unknown key 'extra'"),
        ("{template: [x], params: {}}", "template must be a string, got a list"),
        ("{template: x, params: [a]}", "params must be a map, got a list"),
        ("{template: x, params: {1: a}}", "placeholders must be non-empty strings, got 1"),
    ],
)
def test_str_replace_shapes(args, message, errors_of):
    text = (
        f"heat_template_version: 2018-08-31\noutputs:\n  o:\n    value: {{str_replace: {args}}}\n"
    )
    (error,) = errors_of(template.parse, text)
    assert error.path == "outputs.o.value.str_replace"
    assert message in error.message


def test_str_replace_template_must_resolve_to_a_string(run):
    out = run("{str_replace: {template: {get_param: n}, params: {}}}")
    assert out.error == (
        "outputs.o.value.str_replace: str_replace: template must be a string, got a number"
    )


# -- list_join ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("[', ', [a, b, c]]", "a, b, c"),
        ("['', [a, null, b]]", "ab"),
        ("[',', {get_param: names}]", "x,y"),
        ("[{get_param: sep}, [a, b]]", "a-b"),
        ("[',', [a], [b, c], []]", "a,b,c"),
        ("[' ', [{k: v}, [1]]]", '{"k": "v"} [1]'),
    ],
)
def test_list_join(run, args, expected):
    assert value_of(run, f"{{list_join: {args}}}") == expected


def test_list_join_exists_in_the_first_version(run):
    assert value_of(run, "{list_join: [',', [a, b]]}", version="2013-05-23") == "a,b"


def test_list_join_of_several_lists_needs_2015_10_15(errors_of):
    text = (
        "heat_template_version: 2015-04-30\noutputs:\n  o:\n"
        "    value: {list_join: [',', [a], [b]]}\n"
    )
    (error,) = errors_of(template.parse, text)
    assert error.path == "outputs.o.value.list_join"
    assert error.message == (
        "list_join: joining several lists needs heat_template_version "
        "2015-10-15 or later (this is 2015-04-30)"
    )


def test_list_join_items_must_be_strings(run):
    out = run("{list_join: [',', [a, {get_param: n}]]}")
    assert out.error == (
        "outputs.o.value.list_join: list_join: items to join must be strings, "
        "lists or maps; item 1 is a number"
    )
    out = run("{list_join: [',', [{k: v}]]}", version="2015-04-30")
    assert out.error.endswith("items to join must be strings; item 0 is a map")
    out = run("{list_join: [',', {get_param: sep}]}")
    assert out.error.endswith("can only join lists; argument 2 is a string")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("x", "takes a list [delimiter, list_of_strings, ...]"),
        ("[',']", "takes a list [delimiter, list_of_strings, ...]"),
        ("[1, [a]]", "the delimiter must be a string, got a number"),
        ("[',', a]", "argument 2 must be a list, got a string"),
    ],
)
def test_list_join_shapes(args, message, errors_of):
    text = f"heat_template_version: 2018-08-31\noutputs:\n  o:\n    value: {{list_join: {args}}}\n"
    (error,) = errors_of(template.parse, text)
    assert (error.path, error.message) == ("outputs.o.value.list_join", f"list_join: {message}")


# -- what is (not) a function ------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["get_file", "repeat", "if", "yaql", "Fn::Join", "Ref", "map_merge", "Fn::GetAZs"]
)
def test_unsupported_functions_are_named_with_the_supported_ones(name, errors_of):
    text = (
        "heat_template_version: 2018-08-31\nresources:\n  r:\n    type: T\n"
        f"    properties:\n      p: {{'{name}': x}}\n"
    )
    (error,) = errors_of(template.parse, text)
    assert error.path == f"resources.r.properties.p.{name}"
    assert error.line == 6
    assert error.message.startswith(f"function '{name}' is not supported")
    assert error.message.endswith(
        "supported functions: get_attr, get_param, get_resource, list_join, str_replace"
    )


def test_cloudformation_functions_get_a_hint(errors_of):
    text = "heat_template_version: 2018-08-31\noutputs:\n  o: {value: {Ref: x}}\n"
    (error,) = errors_of(template.parse, text)
    assert "HOT templates use get_resource or get_param" in error.message


def test_maps_that_are_not_single_function_keys_are_data(run):
    assert value_of(run, "{name: get_param}") == {"name": "get_param"}
    assert value_of(run, "{get_param: n, other: 1}") == {"get_param": "n", "other": 1}
    assert value_of(run, "{equals: [a, b]}") == {"equals": ["a", "b"]}


def test_nested_calls_are_found_and_referenced():
    tpl = template.parse(
        "heat_template_version: 2018-08-31\nresources:\n  a: {type: T}\n  b: {type: T}\n"
        "outputs:\n  o:\n    value:\n      list_join: [',', [{get_attr: [a, x]}, "
        "{str_replace: {template: t, params: {t: {get_resource: b}}}}]]\n"
    )
    calls = list(functions.iter_functions(tpl.outputs["o"].value))
    assert [call.name for call in calls] == ["list_join", "get_attr", "str_replace", "get_resource"]
    assert tpl.output_dependencies() == frozenset({"a", "b"})


def test_get_attr_of_a_null_value_stays_null(run):
    nothing = {("a", "anything"): None}
    assert value_of(run, "{get_attr: [a, anything, deep, 0]}", attributes=nothing) is None
    assert value_of(run, "{get_attr: [a, x, k, 0]}", attributes={("a", "x"): {"k": None}}) is None


# -- misspelt function names --------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("get_atrr", "get_attr"),
        ("get_paramm", "get_param"),
        ("getAttr", "get_attr"),
        ("GET-PARAM", "get_param"),
        ("list_jion", "list_join"),
        ("str_repalce", "str_replace"),
        ("get_resourse", "get_resource"),
    ],
)
def test_a_misspelt_function_is_an_error_not_a_literal_map(written, meant, errors_of):
    text = (
        "heat_template_version: 2018-08-31\nresources:\n  web: {type: T}\n"
        f"outputs:\n  ip:\n    value: {{{written}: [web, first_address]}}\n"
    )
    (error,) = errors_of(template.parse, text)
    assert error.path == f"outputs.ip.value.{written}"
    assert error.line == 6
    assert f"'{written}' is not a function: did you mean '{meant}'?" in error.message


def test_a_misspelt_function_from_a_newer_version_says_since_when(errors_of):
    text = "heat_template_version: 2015-10-15\noutputs:\n  o: {value: {map_merg: [{}, {}]}}\n"
    (error,) = errors_of(template.parse, text)
    assert "did you mean 'map_merge'? (available from heat_template_version 2016-04-08" in (
        error.message
    )


def test_a_function_of_a_newer_version_says_since_when(errors_of):
    text = "heat_template_version: 2014-10-16\noutputs:\n  o: {value: {str_split: [',', a]}}\n"
    (error,) = errors_of(template.parse, text)
    assert error.message.startswith(
        "function 'str_split' is available from heat_template_version 2015-10-15 "
        "(this is 2014-10-16), and flowstack does not support it"
    )


@pytest.mark.parametrize(
    "key", ["filters", "Filter", "base_url", "get_addr", "user_data", "image_id", "Repeat", "name"]
)
def test_maps_with_one_ordinary_key_stay_data(key, run):
    assert value_of(run, f"{{{key}: [a, b]}}") == {key: ["a", "b"]}
