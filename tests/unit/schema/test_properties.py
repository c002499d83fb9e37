"""Property schemas: Heat's coercion, constraints, nested schemas, defaults, DEFERRED."""

import copy

import pytest

from flowstack.schema import attributes
from flowstack.schema import properties as p
from flowstack.schema.properties import DEFERRED, Schema, validate_properties

S = Schema


def check(schema, values, custom=None, **kwargs):
    return validate_properties(schema, values, "resources.r.properties", custom, **kwargs)


def messages(errors):
    return {e.path.removeprefix("resources.r.properties."): e.message for e in errors}


@pytest.mark.parametrize(
    ("kind", "given", "typed"),
    [
        (S.STRING, "x", "x"),
        (S.STRING, 5, "5"),
        (S.STRING, True, "True"),  # Heat's str(True)
        (S.INTEGER, 5, 5),
        (S.INTEGER, "5", 5),
        (S.INTEGER, "-3", -3),
        (S.INTEGER, 4.0, 4),
        (S.NUMBER, "2.5", 2.5),
        (S.NUMBER, "7", 7),
        (S.NUMBER, 1.5, 1.5),
        (S.BOOLEAN, True, True),
        (S.BOOLEAN, "true", True),
        (S.BOOLEAN, "FALSE", False),
        (S.LIST, ["a", 1], ["a", 1]),
        (S.MAP, {"a": 1}, {"a": 1}),
    ],
)
def test_coercion_follows_heat(kind, given, typed):
    values, errors, _ = check({"x": S(kind)}, {"x": given})
    assert errors == []
    assert values == {"x": typed}
    assert type(values["x"]) is type(typed)


@pytest.mark.parametrize(
    ("kind", "given", "message"),
    [
        (S.STRING, 1.5, "expected a string, got 1.5"),  # Heat refuses floats for strings
        (S.STRING, ["a"], 'expected a string, got ["a"]'),
        (S.INTEGER, "5.0", 'expected an integer, got "5.0"'),
        (S.INTEGER, 5.7, "expected an integer, got 5.7"),
        (S.INTEGER, True, "expected an integer, got true"),
        (S.NUMBER, "x", 'expected a number, got "x"'),
        (S.NUMBER, "inf", 'expected a finite number, got "inf"'),
        (
            S.BOOLEAN,
            "yes",
            'expected a boolean (true or false, or the strings "true" or "false"), got "yes"',
        ),
        (
            S.BOOLEAN,
            1,
            'expected a boolean (true or false, or the strings "true" or "false"), got 1',
        ),
        (S.LIST, "a,b", 'expected a list, got "a,b"'),
        (S.MAP, ["a"], 'expected a map, got ["a"]'),
    ],
)
def test_what_heat_refuses_is_refused(kind, given, message):
    _, errors, _ = check({"x": S(kind)}, {"x": given})
    assert messages(errors) == {"x": message}


def test_defaults_required_and_unset():
    schema = {
        "a": S(S.INTEGER, default=3),
        "b": S(S.LIST, default=["x"]),
        "c": S(S.STRING),
        "d": S(S.STRING, required=True),
    }
    values, errors, _ = check(schema, {"c": None, "d": "v"})
    assert errors == []
    assert values == {"a": 3, "b": ["x"], "c": None, "d": "v"}
    values["b"].append("mutated")
    assert schema["b"].default == ["x"]  # defaults are copied out
    _, errors, _ = check(schema, None)
    assert messages(errors) == {"d": "property 'd' is required"}


def test_unknown_properties_are_errors_with_a_suggestion():
    _, errors, _ = check({"flavor": S(S.STRING), "image": S(S.STRING)}, {"flavour": "x"})
    assert messages(errors) == {
        "flavour": "unknown property 'flavour'; did you mean 'flavor'? known: flavor, image"
    }
    _, errors, _ = check({}, {"x": 1})
    assert messages(errors) == {"x": "unknown property 'x': there are none here"}


def test_properties_must_be_a_map():
    values, errors, _ = check({}, ["x"])
    assert values == {}
    assert [(e.path, e.message) for e in errors] == [
        ("resources.r.properties", "properties must be a map, got a list")
    ]


def test_nested_list_and_map_schemas():
    schema = {
        "networks": S(
            S.LIST,
            schema=S(
                S.MAP,
                schema={
                    "network": S(S.STRING, required=True),
                    "port": S(S.INTEGER, default=80, constraints=[p.Range(1, 65535)]),
                },
            ),
        ),
        "tags": S(S.LIST, schema=S(S.STRING, constraints=[p.Length(max=3)])),
    }
    values, errors, _ = check(
        schema,
        {
            "networks": [{"network": "a", "port": "8080"}, {"network": "b"}],
            "tags": ["ab", 7],
        },
    )
    assert errors == []
    assert values == {
        "networks": [{"network": "a", "port": 8080}, {"network": "b", "port": 80}],
        "tags": ["ab", "7"],
    }
    _, errors, _ = check(
        schema,
        {
            "networks": [{"port": 0}, {"network": "b", "colour": "red"}, "x"],
            "tags": ["long-tag"],
        },
    )
    assert messages(errors) == {
        "networks[0].network": "key 'network' is required",
        "networks[0].port": "0 is not between 1 and 65535",
        "networks[1].colour": "unknown key 'colour'; known: network, port",
        "networks[2]": 'expected a map, got "x"',
        "tags[0]": "length 8 is not at most 3",
    }


def test_a_map_without_schema_takes_any_keys():
    values, errors, _ = check({"m": S(S.MAP)}, {"m": {"anything": [1]}})
    assert (values, errors) == ({"m": {"anything": [1]}}, [])


def test_deferred_values_pass_unchecked_also_nested():
    schema = {
        "count": S(S.INTEGER, constraints=[p.Range(1, 2)]),
        "nets": S(
            S.LIST,
            constraints=[p.Length(max=1)],
            schema=S(S.MAP, schema={"network": S(S.STRING, required=True)}),
        ),
        "meta": S(S.MAP, schema={"k": S(S.INTEGER)}),
        "name": S(S.STRING, required=True, constraints=[p.AllowedValues(["a"])]),
    }
    values, errors, _ = check(
        schema,
        {
            "count": DEFERRED,
            "nets": [DEFERRED],
            "meta": {"k": DEFERRED},
            "name": DEFERRED,
        },
    )
    assert errors == []
    assert values == {
        "count": DEFERRED,
        "nets": [DEFERRED],
        "meta": {"k": DEFERRED},
        "name": DEFERRED,
    }
    _, errors, _ = check(schema, {"nets": [DEFERRED, DEFERRED], "name": "a"})
    assert messages(errors) == {"nets": "length 2 is not at most 1"}  # the length is known


def test_deferred_is_a_singleton_that_survives_copies():
    assert copy.deepcopy({"a": [DEFERRED]})["a"][0] is DEFERRED
    assert copy.copy(DEFERRED) is DEFERRED
    assert repr(DEFERRED) == "DEFERRED"


@pytest.mark.parametrize(
    ("constraint", "kind", "good", "bad", "message"),
    [
        (p.Range(min=1), S.INTEGER, 1, 0, "0 is not at least 1"),
        (p.Range(max=1.5), S.NUMBER, 1.5, 2, "2 is not at most 1.5"),
        (p.Length(2, 2), S.STRING, "ab", "abc", "length 3 is not between 2 and 2"),
        (p.Length(min=1), S.MAP, {"a": 1}, {}, "length 0 is not at least 1"),
        (
            p.AllowedValues(["a", "b"]),
            S.STRING,
            "a",
            "c",
            '"c" is not one of the allowed values: "a", "b"',
        ),
        (p.AllowedValues([1, 2]), S.INTEGER, "2", 3, "3 is not one of the allowed values: 1, 2"),
        (
            p.AllowedValues(["x", "y"]),
            S.LIST,
            ["x", "x"],
            ["x", "z"],
            '["x", "z"] is not one of the allowed values: "x", "y"',
        ),
        (
            p.AllowedPattern("[a-z]+"),
            S.STRING,
            "abc",
            "ab1",
            "\"ab1\" does not match the pattern '[a-z]+'",
        ),
        (p.Modulo(3, 1), S.INTEGER, 7, 6, "6 is not a multiple of 3 plus 1"),
    ],
)
def test_constraints(constraint, kind, good, bad, message):
    schema = {"x": S(kind, constraints=[constraint])}
    assert check(schema, {"x": good})[1] == []
    assert messages(check(schema, {"x": bad})[1]) == {"x": message}


def test_a_description_replaces_the_constraint_message():
    schema = {"x": S(S.INTEGER, constraints=[p.Range(1, 3, "Pick 1 to 3.")])}
    assert messages(check(schema, {"x": 9})[1]) == {"x": "Pick 1 to 3."}


def test_custom_constraints_run_or_warn():
    schema = {"flavor": S(S.STRING, constraints=[p.CustomConstraint("nova.flavor")])}
    values, errors, warnings = check(schema, {"flavor": "m1"})
    assert (values, errors) == ({"flavor": "m1"}, [])
    assert warnings == [
        "resources.r.properties.flavor: custom constraint 'nova.flavor' is not checked"
    ]

    def refuse(value):
        raise ValueError(f"no flavor {value}")

    _, errors, warnings = check(schema, {"flavor": "m1"}, {"nova.flavor": refuse})
    assert (messages(errors), warnings) == ({"flavor": "no flavor m1"}, [])
    _, errors, _ = check(schema, {"flavor": DEFERRED}, {"nova.flavor": refuse})
    assert errors == []


def test_concealed_properties_never_show_their_values():
    schema = {
        "pw": S(
            S.STRING,
            constraints=[
                p.Length(min=20),
                p.AllowedPattern("[0-9]+"),
                p.AllowedValues(["1"]),
                p.CustomConstraint("echo"),
            ],
        ),
        "n": S(S.INTEGER),
        "m": S(S.MAP, schema={"k": S(S.INTEGER)}),
    }

    def echo(value):
        raise ValueError(f"bad {value}")

    secret = "s3cr3t"
    _, errors, _ = check(
        schema,
        {"pw": secret, "n": secret, "m": {"k": secret}},
        {"echo": echo},
        concealed=frozenset({"pw", "n", "m"}),
    )
    assert len(errors) == 6
    assert all(secret not in str(e) for e in errors)
    assert messages(errors)["n"] == (
        "expected an integer, got a string (the value is not shown because it is secret)"
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: S("text"), "unknown property type 'text'"),
        (
            lambda: S(S.STRING, constraints=[p.Range(1, 2)]),
            "the range constraint cannot apply to a string property",
        ),
        (lambda: S(S.STRING, schema=S(S.STRING)), "schema describes list items"),
        (lambda: S(S.LIST, schema={"a": S(S.STRING)}), "schema describes list items"),
        (lambda: S(S.STRING, required=True, default="x"), "cannot have a default"),
        (lambda: S(S.INTEGER, default="x"), 'expected an integer, got "x"'),
        (lambda: S(S.INTEGER, default=5, constraints=[p.Range(max=3)]), "5 is not at most 3"),
        (lambda: p.Range(), "needs a min and/or a max"),
        (lambda: p.Range(3, 1), "range min 3 is greater than max 1"),
        (lambda: p.Length(min=1.5), "length min and max must be integers"),
        (lambda: p.AllowedValues("abc"), "allowed_values must be a list"),
        (lambda: p.AllowedPattern("("), "is not a valid regular expression"),
        (lambda: p.CustomConstraint(""), "custom_constraint must be a non-empty string"),
        (lambda: p.Modulo(0, 0), "modulo step must not be 0"),
        (lambda: p.Modulo(2, -1), "modulo step and offset must have the same sign"),
    ],
)
def test_schema_mistakes_fail_at_import_time(build, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_defaults_are_stored_coerced():
    assert S(S.INTEGER, default="5").default == 5
    assert S(S.BOOLEAN, default="false").default is False


def test_attributes():
    plain = attributes.Attribute("An address.")
    secret = attributes.Attribute("A password.", secret=True)
    assert (plain.description, plain.secret, secret.secret) == ("An address.", False, True)
    with pytest.raises(TypeError):
        attributes.Attribute("x", True)  # secret is keyword-only
    schema = {"value": secret, "ip": plain}
    assert attributes.attribute_names(schema) == ["ip", "show", "value"]
    assert attributes.is_secret(schema, "value")
    assert not attributes.is_secret(schema, "ip")
    assert not attributes.is_secret(schema, "show")


def test_constraints_compare_by_value():
    assert p.Range(1, 2) == p.Range(1, 2)
    assert p.Range(1, 2) != p.Range(1, 3)
    assert p.AllowedPattern("a+") == p.AllowedPattern("a+")
    assert p.Length(min=1) != p.Range(min=1)
    assert repr(p.Range(1, None, "d")) == "Range(description='d', min=1)"
