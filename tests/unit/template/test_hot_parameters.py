"""Parameters: types, coercion, constraints, defaults, hidden values, user values."""

import textwrap

import pytest

from flowstack import template

SECRET = "s3cr3t-VALUE"


def hot(body: str, version: str = "2018-08-31") -> str:
    return f"heat_template_version: {version}\n" + textwrap.dedent(body)


def params(definitions: str, version: str = "2018-08-31") -> template.Template:
    return template.parse(
        hot("parameters:\n" + textwrap.indent(textwrap.dedent(definitions), "  "), version)
    )


def values(tpl, given, **kwargs):
    return template.validate(tpl, given, _NoTypes(), pseudo_parameters={}, **kwargs)


class _NoTypes:
    def get(self, type_name):
        raise KeyError(type_name)

    def types(self):
        return []


# -- types -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given", "typed"),
    [
        ("string", "abc", "abc"),
        ("string", 5, "5"),
        ("number", "5", 5),
        ("number", "2.5", 2.5),
        ("number", 7, 7),
        ("number", " 5", 5),
        ("boolean", "true", True),
        ("boolean", "Yes", True),
        ("boolean", "on", True),
        ("boolean", "1", True),
        ("boolean", "false", False),
        ("boolean", "N", False),
        ("boolean", False, False),
        ("comma_delimited_list", "a,b,c", ["a", "b", "c"]),
        ("comma_delimited_list", "a, b", ["a", " b"]),  # Heat does not trim
        ("comma_delimited_list", "", []),
        ("comma_delimited_list", ["x", 1], ["x", "1"]),
        ("json", '{"a": [1, 2]}', {"a": [1, 2]}),
        ("json", {"a": 1}, {"a": 1}),
        ("json", "[1, 2]", [1, 2]),
    ],
)
def test_values_are_coerced_like_heat(kind, given, typed):
    tpl = params(f"p: {{type: {kind}}}")
    assert values(tpl, {"p": given}).parameters == {"p": typed}


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("number", "five", 'expected a number, got "five"'),
        ("number", True, "expected a number, got true"),
        ("number", "nan", 'expected a finite number, got "nan"'),
        ("boolean", "maybe", "expected a boolean"),
        ("boolean", 2, "expected a boolean"),
        ("comma_delimited_list", 3, "expected a comma-delimited list"),
        ("json", "{not json", "expected valid JSON"),
        ("string", [1], "expected a string, got [1]"),
    ],
)
def test_wrong_values_name_the_parameter(kind, given, expected, errors_of):
    tpl = params(f"p: {{type: {kind}}}")
    (error,) = errors_of(values, tpl, {"p": given})
    assert error.path == "parameters.p"
    assert expected in error.message


def test_defaults_are_typed_at_parse():
    tpl = params("""
        n: {type: number, default: "3"}
        b: {type: boolean, default: "yes"}
        l: {type: comma_delimited_list, default: "a,b"}
        j: {type: json, default: {k: v}}
        s: {type: string, default: 1.5}
    """)
    assert {n: s.default for n, s in tpl.parameters.items()} == {
        "n": 3,
        "b": True,
        "l": ["a", "b"],
        "j": {"k": "v"},
        "s": "1.5",
    }
    assert values(tpl, {}).parameters == {
        "n": 3,
        "b": True,
        "l": ["a", "b"],
        "j": {"k": "v"},
        "s": "1.5",
    }


def test_user_values_win_over_defaults():
    tpl = params("n: {type: number, default: 3}")
    assert values(tpl, {"n": "4"}).parameters == {"n": 4}


def test_missing_and_unknown_parameters(errors_of, by_path):
    tpl = params("needed: {type: string}\noptional: {type: string, default: x}")
    errors = by_path(errors_of(values, tpl, {"extra": 1, "optional": None}))
    assert errors == {
        "parameters.extra": "unknown parameter 'extra'; the template defines: needed, optional",
        "parameters.needed": "parameter 'needed' needs a value (it has no default)",
    }


def test_parameter_errors_carry_the_line(errors_of):
    tpl = params("a: {type: string, default: x}\nb: {type: number}")
    (error,) = errors_of(values, tpl, {"b": "x"})
    assert (error.path, error.line) == ("parameters.b", 4)


# -- schema keys -------------------------------------------------------------------------


def test_schema_keys_are_kept():
    tpl = params("""
        p:
          type: string
          label: The P
          description: What P is
          hidden: true
          immutable: true
          tags: [a, b]
          default: x
    """)
    schema = tpl.parameters["p"]
    assert (schema.label, schema.description, schema.hidden, schema.immutable, schema.tags) == (
        "The P",
        "What P is",
        True,
        True,
        ("a", "b"),
    )
    assert not schema.required


def test_schema_errors(errors_of, by_path):
    text = """
        no_type: {default: 1}
        bad_type: {type: integer}
        unknown_key: {type: string, requird: true}
        not_a_map: string
        bad_hidden: {type: string, hidden: sometimes}
        bad_label: {type: string, label: [1]}
    """
    errors = by_path(errors_of(params, text))
    assert errors["parameters.no_type.type"] == (
        "no type; the type must be one of: string, number, json, comma_delimited_list, boolean"
    )
    assert errors["parameters.bad_type.type"].startswith('type "integer"; the type must be one of')
    assert errors["parameters.unknown_key.requird"].startswith(
        "'requird' is not a valid parameter key; valid keys: type, default"
    )
    assert errors["parameters.not_a_map"] == "a parameter definition must be a map with a 'type'"
    assert errors["parameters.bad_hidden.hidden"] == 'must be true or false, got "sometimes"'
    assert errors["parameters.bad_label.label"] == "must be a string, got a list"


def test_tags_exist_from_queens(errors_of):
    (error,) = errors_of(params, "p: {type: string, tags: [a]}", "pike")
    assert error.path == "parameters.p.tags"
    assert (
        error.message
        == "'tags' is available from heat_template_version 2018-03-02 (this is 2017-09-01)"
    )


# -- constraints -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "good", "bad", "message"),
    [
        (
            "{type: string, constraints: [{length: {min: 2, max: 3}}]}",
            "ab",
            "abcd",
            "length 4 is not between 2 and 3",
        ),
        (
            "{type: comma_delimited_list, constraints: [{length: {min: 2}}]}",
            "a,b",
            "a",
            "length 1 is not at least 2",
        ),
        (
            "{type: json, constraints: [{length: {max: 1}}]}",
            '{"a": 1}',
            '{"a": 1, "b": 2}',
            "length 2 is not at most 1",
        ),
        (
            "{type: number, constraints: [{range: {min: 1, max: 10}}]}",
            "10",
            "10.5",
            "10.5 is not between 1 and 10",
        ),
        ("{type: number, constraints: [{range: {min: '0'}}]}", "0", "-1", "-1 is not at least 0"),
        (
            "{type: string, constraints: [{allowed_values: [a, b]}]}",
            "b",
            "c",
            '"c" is not one of the allowed values: "a", "b"',
        ),
        (
            "{type: number, constraints: [{allowed_values: ['1', 2]}]}",
            "1",
            "3",
            '3 is not one of the allowed values: "1", 2',
        ),
        (
            "{type: comma_delimited_list, constraints: [{allowed_values: [a, b]}]}",
            "a,b,a",
            "a,c",
            '["a", "c"] is not one of the allowed values: "a", "b"',
        ),
        (
            "{type: boolean, constraints: [{allowed_values: [true]}]}",
            "yes",
            "no",
            "false is not one of the allowed values: true",
        ),
        (
            "{type: string, constraints: [{allowed_pattern: '[a-z]+'}]}",
            "abc",
            "abc1",
            "\"abc1\" does not match the pattern '[a-z]+'",
        ),
        (
            "{type: number, constraints: [{modulo: {step: 2, offset: 1}}]}",
            "7",
            "8",
            "8 is not a multiple of 2 plus 1",
        ),
    ],
)
def test_constraints_accept_and_refuse(definition, good, bad, message, errors_of):
    tpl = params(f"p: {definition}")
    values(tpl, {"p": good})
    (error,) = errors_of(values, tpl, {"p": bad})
    assert (error.path, error.message) == ("parameters.p", message)


def test_constraint_description_replaces_the_message(errors_of):
    tpl = params("""
        p:
          type: string
          constraints:
            - length: {min: 8}
              description: Passwords have at least 8 characters.
    """)
    (error,) = errors_of(values, tpl, {"p": "short"})
    assert error.message == "Passwords have at least 8 characters."


def test_every_failing_constraint_is_reported(errors_of):
    tpl = params("""
        p:
          type: string
          constraints:
            - length: {min: 5}
            - allowed_pattern: "[0-9]+"
    """)
    assert len(errors_of(values, tpl, {"p": "ab"})) == 2


def test_custom_constraints_run_when_known_and_warn_when_not(errors_of):
    tpl = params("""
        flavor: {type: string, constraints: [{custom_constraint: nova.flavor}]}
        key: {type: string, constraints: [{custom_constraint: nova.keypair}]}
    """)

    def flavor(value):
        if value != "m1.small":
            raise ValueError(f"flavor {value!r} not found")

    checks = {"nova.flavor": flavor}
    result = values(tpl, {"flavor": "m1.small", "key": "k"}, custom_constraints=checks)
    assert result.warnings == ["parameters.key: custom constraint 'nova.keypair' is not checked"]
    (error,) = errors_of(values, tpl, {"flavor": "huge", "key": "k"}, custom_constraints=checks)
    assert (error.path, error.message) == ("parameters.flavor", "flavor 'huge' not found")


def test_custom_constraints_check_each_list_item(errors_of):
    tpl = params("p: {type: comma_delimited_list, constraints: [{custom_constraint: c}]}")

    def check(value):
        if value.startswith("x"):
            raise ValueError(f"{value} is bad")

    (error,) = errors_of(values, tpl, {"p": "a,xb"}, custom_constraints={"c": check})
    assert error.message == "xb is bad"


def test_defaults_are_checked_at_parse_without_custom_constraints(errors_of, by_path):
    text = """
        n: {type: number, default: 20, constraints: [{range: {max: 10}}]}
        s: {type: number, default: abc}
        c: {type: string, default: anything, constraints: [{custom_constraint: nova.flavor}]}
    """
    errors = by_path(errors_of(params, text))
    assert errors == {
        "parameters.n.default": "20 is not at most 10",
        "parameters.s.default": 'expected a number, got "abc"',
    }


def test_custom_constraints_apply_to_defaults_at_validation(errors_of):
    tpl = params("c: {type: string, default: m9, constraints: [{custom_constraint: nova.flavor}]}")

    def refuse(value):
        raise ValueError("no such flavor")

    (error,) = errors_of(values, tpl, {}, custom_constraints={"nova.flavor": refuse})
    assert (error.path, error.message) == ("parameters.c", "no such flavor")


def test_constraint_definition_errors(errors_of, by_path):
    text = """
        a: {type: string, constraints: [{range: {min: 1}}]}
        b: {type: number, constraints: [{length: {min: 1}}]}
        c: {type: json, constraints: [{allowed_values: [1]}]}
        d: {type: string, constraints: [{length: {min: 3, max: 1}}]}
        e: {type: string, constraints: [{length: {min: x}}]}
        f: {type: string, constraints: [{length: {min: 1}, allowed_pattern: x}]}
        g: {type: string, constraints: [{description: only}]}
        h: {type: string, constraints: [{allowed_pattern: "("}]}
        i: {type: string, constraints: {length: {min: 1}}}
        j: {type: string, constraints: [{size: 1}]}
        k: {type: number, constraints: [{range: {low: 1}}]}
        l: {type: number, constraints: [{modulo: {step: 2, offset: 3}}]}
    """
    errors = by_path(errors_of(params, text))
    assert errors == {
        "parameters.a.constraints[0].range": (
            "the range constraint cannot apply to a string parameter"
        ),
        "parameters.b.constraints[0].length": (
            "the length constraint cannot apply to a number parameter"
        ),
        "parameters.c.constraints[0].allowed_values": (
            "the allowed_values constraint cannot apply to a json parameter"
        ),
        "parameters.d.constraints[0].length": "length min 3 is greater than max 1",
        "parameters.e.constraints[0].length": 'length min must be a number, got "x"',
        "parameters.f.constraints[0]": (
            "one constraint per list item, found length, allowed_pattern"
        ),
        "parameters.g.constraints[0]": (
            "a constraint needs one of: length, range, allowed_values, allowed_pattern, "
            "custom_constraint, modulo"
        ),
        "parameters.h.constraints[0].allowed_pattern": errors[
            "parameters.h.constraints[0].allowed_pattern"
        ],
        "parameters.i.constraints": "must be a list of constraints",
        "parameters.j.constraints[0].size": (
            "'size' is not a valid constraint; valid constraints: length, range, allowed_values, "
            "allowed_pattern, custom_constraint, modulo"
        ),
        "parameters.k.constraints[0].range": "unknown key 'low'; valid keys: min, max",
        "parameters.l.constraints[0].modulo": (
            "modulo offset must be smaller than step (in absolute value)"
        ),
    }
    assert (
        "is not a valid regular expression" in errors["parameters.h.constraints[0].allowed_pattern"]
    )


def test_modulo_exists_from_ocata(errors_of):
    (error,) = errors_of(
        params, "p: {type: number, constraints: [{modulo: {step: 2, offset: 0}}]}", "newton"
    )
    assert error.path == "parameters.p.constraints[0].modulo"
    assert "available from heat_template_version 2017-02-24" in error.message


# -- hidden ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "definition",
    [
        "{type: number, hidden: true}",
        "{type: string, hidden: true, constraints: [{length: {max: 3}}]}",
        "{type: string, hidden: true, constraints: [{allowed_values: [a]}]}",
        "{type: string, hidden: true, constraints: [{allowed_pattern: '[0-9]+'}]}",
        "{type: string, hidden: true, constraints: [{custom_constraint: echo}]}",
        "{type: boolean, hidden: true}",
    ],
)
def test_hidden_values_never_appear_in_messages(definition, errors_of):
    tpl = params(f"p: {definition}")

    def echo(value):
        raise ValueError(f"{value} is wrong")

    (error,) = errors_of(values, tpl, {"p": SECRET}, custom_constraints={"echo": echo})
    assert error.path == "parameters.p"
    assert SECRET not in str(error)
    assert SECRET.lower() not in str(error).lower()


def test_hidden_type_errors_say_the_value_is_not_shown(errors_of):
    tpl = params("p: {type: number, hidden: true}")
    (error,) = errors_of(values, tpl, {"p": SECRET})
    assert error.message == (
        "expected a number, got a string (the value is not shown because the parameter is hidden)"
    )


def test_hidden_defaults_never_appear_in_messages(errors_of):
    text = (
        f"p: {{type: string, hidden: true, default: {SECRET}, "
        "constraints: [{length: {max: 3}}]}"
    )
    (error,) = errors_of(params, text)
    assert error.path == "parameters.p.default"
    assert SECRET not in str(error)


def test_hidden_defaults_are_masked_in_repr():
    tpl = params(f"p: {{type: string, hidden: true, default: {SECRET}}}")
    assert SECRET not in repr(tpl)
    result = values(tpl, {})
    assert result.hidden == frozenset({"p"})
    assert SECRET not in repr(result)
