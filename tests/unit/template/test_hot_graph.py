"""Dependencies: extraction, cycles named in order, and a deterministic order."""

import textwrap

import pytest

from flowstack import template
from flowstack.template import graph


def test_order_puts_needs_first_and_is_deterministic():
    deps = {
        "web": frozenset({"db", "net"}),
        "db": frozenset({"net"}),
        "net": frozenset(),
        "lb": frozenset({"web"}),
        "alone": frozenset(),
    }
    assert template.dependency_order(deps) == ["alone", "net", "db", "web", "lb"]
    assert template.dependency_order(dict(reversed(list(deps.items())))) == [
        "alone",
        "net",
        "db",
        "web",
        "lb",
    ]


def test_order_includes_names_only_needed():
    assert template.dependency_order({"a": frozenset({"b"})}) == ["b", "a"]


def test_order_refuses_a_cycle():
    with pytest.raises(ValueError, match=r"dependency cycle: a -> b -> a"):
        template.dependency_order({"a": frozenset({"b"}), "b": frozenset({"a"})})


def test_cycles_are_named_from_their_first_resource_in_order():
    deps = {"c": {"a"}, "a": {"b"}, "b": {"c"}, "x": {"x"}, "d": {"e"}, "e": set()}
    assert graph.find_cycles(deps) == [["a", "b", "c", "a"], ["x", "x"]]


def test_the_shortest_way_round_is_named():
    deps = {"a": {"b", "z"}, "b": {"c"}, "c": {"a"}, "z": {"a"}}
    assert graph.find_cycles(deps) == [["a", "z", "a"]]


def test_large_chains_do_not_hit_the_recursion_limit():
    deps = {f"r{i:05d}": {f"r{i + 1:05d}"} for i in range(5000)}
    assert template.dependency_order(deps)[0] == "r05000"
    deps["r05000"] = {"r00000"}
    (cycle,) = graph.find_cycles(deps)
    assert len(cycle) == 5002


def hot(body):
    return template.parse("heat_template_version: 2018-08-31\n" + textwrap.dedent(body))


def test_dependencies_come_from_references_anywhere_and_depends_on(types):
    tpl = hot("""
        resources:
          net: {type: OS::Heat::None}
          db: {type: OS::Heat::None, depends_on: net}
          key: {type: OS::Heat::RandomString}
          web:
            type: OS::Nova::Server
            properties:
              flavor: f
              image: i
              networks:
                - network: {get_resource: net}
              user_data:
                str_replace:
                  template: pw=$P
                  params: {$P: {get_attr: [key, value]}}
            metadata: {db: {get_attr: [db, show]}}
    """)
    result = template.validate(tpl, {}, types, pseudo_parameters={})
    assert result.dependencies == {
        "net": frozenset(),
        "db": frozenset({"net"}),
        "key": frozenset(),
        "web": frozenset({"net", "key", "db"}),
    }
    assert template.dependency_order(result.dependencies) == ["key", "net", "db", "web"]


def test_a_cycle_is_an_error_naming_it(types, errors_of):
    tpl = hot("""
        resources:
          a: {type: OS::Heat::None, depends_on: b}
          b: {type: OS::Heat::None, metadata: {x: {get_resource: c}}}
          c: {type: OS::Heat::None, depends_on: [a]}
    """)
    (error,) = errors_of(template.validate, tpl, {}, types, pseudo_parameters={})
    assert (error.path, error.message, error.line) == (
        "resources.a",
        "dependency cycle: a -> b -> c -> a",
        4,
    )


def test_a_resource_referring_to_itself_is_a_cycle(types, errors_of):
    tpl = hot("""
        resources:
          a: {type: OS::Heat::None, metadata: {me: {get_resource: a}}}
    """)
    (error,) = errors_of(template.validate, tpl, {}, types, pseudo_parameters={})
    assert error.message == "dependency cycle: a -> a"


def test_depends_on_errors(types, errors_of, by_path):
    tpl = hot("""
        resources:
          a: {type: OS::Heat::None, depends_on: [a, ghost]}
    """)
    errors = errors_of(template.validate, tpl, {}, types, pseudo_parameters={})
    assert [(e.path, e.message) for e in errors] == [
        ("resources.a.depends_on", "resource 'a' cannot depend on itself"),
        ("resources.a.depends_on", "'ghost' is not a resource of this template"),
    ]
