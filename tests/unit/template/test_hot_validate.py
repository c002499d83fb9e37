"""validate(): resource types, properties, references; every error at once, with its place."""

import textwrap

from flowstack import exceptions as template_exceptions
from flowstack import template

SECRET = "s3cr3t-VALUE"


def hot(body, version="2018-08-31"):
    return template.parse(f"heat_template_version: {version}\n" + textwrap.dedent(body))


def check(tpl, types, given=None, **kwargs):
    kwargs.setdefault("pseudo_parameters", {"OS::stack_name": "st", "OS::project_id": "p1"})
    return template.validate(tpl, given or {}, types, **kwargs)


def test_a_valid_template(types):
    tpl = hot("""
        parameters:
          flavor: {type: string, default: m1.small}
          count: {type: number, default: 2}
          password: {type: string, hidden: true}
        resources:
          web:
            type: OS::Nova::Server
            properties:
              flavor: {get_param: flavor}
              image: cirros
              name: {get_param: OS::stack_name}
              count: {get_param: count}
              admin_pass: {get_param: password}
              networks: [{network: private}]
              metadata: {x: 1}
        outputs:
          ip: {value: {get_attr: [web, first_address]}}
          shown: {value: {get_attr: [web, show, id]}}
    """)
    result = check(
        tpl,
        types,
        {"password": "long-enough"},
        custom_constraints={"nova.flavor": lambda value: None},
    )
    assert result.parameters == {"flavor": "m1.small", "count": 2, "password": "long-enough"}
    assert result.hidden == frozenset({"password"})
    assert result.dependencies == {"web": frozenset()}
    assert result.warnings == []


def test_unknown_resource_type_lists_the_supported_ones(types, errors_of):
    tpl = hot("""
        resources:
          web: {type: OS::Nova::Servr}
    """)
    (error,) = errors_of(check, tpl, types)
    assert error.path == "resources.web.type"
    assert error.line == 4
    assert error.message == (
        "unknown resource type 'OS::Nova::Servr' (did you mean 'OS::Nova::Server'?); supported "
        "types: OS::Heat::None, OS::Heat::RandomString, OS::Nova::Server"
    )


def test_property_errors_name_their_place(types, errors_of, by_path):
    tpl = hot("""
        resources:
          web:
            type: OS::Nova::Server
            properties:
              flavr: x
              image: [not, a, string]
              count: 11
              networks:
                - {fixed_ip: 10.0.0.1}
                - {network: n, port: 1}
                - 7
              metadata: not-a-map
    """)
    errors = by_path(errors_of(check, tpl, types))
    assert errors == {
        "resources.web.properties.flavr": (
            "unknown property 'flavr'; did you mean 'flavor'? known: admin_pass, count, flavor, "
            "image, metadata, name, networks, user_data"
        ),
        "resources.web.properties.flavor": "property 'flavor' is required",
        "resources.web.properties.image": 'expected a string, got ["not", "a", "string"]',
        "resources.web.properties.count": "11 is not between 1 and 10",
        "resources.web.properties.networks[0].network": "key 'network' is required",
        "resources.web.properties.networks[1].port": "unknown key 'port'; known: fixed_ip, network",
        "resources.web.properties.networks[2]": "expected a map, got 7",
        "resources.web.properties.metadata": 'expected a map, got "not-a-map"',
    }


def test_property_errors_carry_lines(types, errors_of):
    tpl = hot("""
        resources:
          web:
            type: OS::Nova::Server
            properties:
              flavor: f
              image: i
              count: many
    """)
    (error,) = errors_of(check, tpl, types)
    assert (error.path, error.line) == ("resources.web.properties.count", 9)
    assert str(error) == 'resources.web.properties.count (line 9): expected an integer, got "many"'


def test_parameter_values_are_checked_against_properties(types, errors_of):
    tpl = hot("""
        parameters:
          count: {type: string, default: "12"}
        resources:
          web:
            type: OS::Nova::Server
            properties: {flavor: f, image: i, count: {get_param: count}}
    """)
    (error,) = errors_of(check, tpl, types)
    assert (error.path, error.message) == (
        "resources.web.properties.count",
        "12 is not between 1 and 10",
    )


def test_run_time_values_are_deferred(types):
    tpl = hot("""
        resources:
          key: {type: OS::Heat::RandomString}
          web:
            type: OS::Nova::Server
            properties:
              flavor: {get_attr: [key, value]}
              image: {str_replace: {template: img-$k, params: {$k: {get_resource: key}}}}
              count: {get_attr: [key, value]}
              networks: [{network: {get_resource: key}}, {get_attr: [key, show]}]
              admin_pass: {list_join: ['', [{get_attr: [key, value]}]]}
    """)
    assert check(tpl, types).dependencies["web"] == frozenset({"key"})


def test_references_are_checked(types, errors_of, by_path):
    tpl = hot("""
        parameters:
          p: {type: string, default: x}
        resources:
          web:
            type: OS::Heat::None
            metadata:
              a: {get_param: nope}
              b: {get_resource: ghost}
              c: {get_attr: [ghost, x]}
              d: {get_attr: [key, length]}
              e: {get_attr: [key, value, {get_param: missing}]}
          key: {type: OS::Heat::RandomString}
        outputs:
          o: {value: {get_resource: phantom}}
    """)
    errors = by_path(errors_of(check, tpl, types))
    assert errors == {
        "resources.web.metadata.a.get_param": (
            "parameter 'nope' is not defined; parameters: p, OS::stack_name, OS::stack_id, "
            "OS::project_id"
        ),
        "resources.web.metadata.b.get_resource": "resource 'ghost' is not defined in this template",
        "resources.web.metadata.c.get_attr": "resource 'ghost' is not defined in this template",
        "resources.web.metadata.d.get_attr": (
            "resource 'key' (OS::Heat::RandomString) has no attribute 'length'; attributes: show, "
            "value"
        ),
        "resources.web.metadata.e.get_attr[2].get_param": (
            "parameter 'missing' is not defined; parameters: p, OS::stack_name, OS::stack_id, "
            "OS::project_id"
        ),
        "outputs.o.value.get_resource": "resource 'phantom' is not defined in this template",
    }


def test_function_errors_found_while_validating(types, errors_of):
    tpl = hot("""
        parameters:
          n: {type: number, default: 1}
        resources:
          r:
            type: OS::Heat::None
            metadata: {x: {list_join: [',', [{get_param: n}]]}}
    """)
    (error,) = errors_of(check, tpl, types)
    assert error.path == "resources.r.metadata.x.list_join"
    assert "item 0 is a number" in error.message


def test_custom_constraints_on_properties(types, errors_of):
    tpl = hot("""
        resources:
          web:
            type: OS::Nova::Server
            properties: {flavor: m9.huge, image: i}
    """)
    assert check(tpl, types).warnings == [
        "resources.web.properties.flavor: custom constraint 'nova.flavor' is not checked"
    ]

    def flavor(value):
        raise ValueError(f"flavor {value} does not exist")

    (error,) = errors_of(check, tpl, types, custom_constraints={"nova.flavor": flavor})
    assert (error.path, error.message) == (
        "resources.web.properties.flavor",
        "flavor m9.huge does not exist",
    )


def test_hidden_values_are_not_shown_in_property_errors(types, errors_of):
    tpl = hot("""
        parameters:
          pw: {type: string, hidden: true}
        resources:
          web:
            type: OS::Nova::Server
            properties: {flavor: f, image: i, admin_pass: {get_param: pw}, count: {get_param: pw}}
    """)
    errors = errors_of(check, tpl, types, {"pw": "short"})
    assert [e.path for e in errors] == [
        "resources.web.properties.count",
        "resources.web.properties.admin_pass",
    ]
    assert all("short" not in str(e) for e in errors)
    assert errors[0].message == (
        "expected an integer, got a string (the value is not shown because it is secret)"
    )


def test_every_kind_of_error_is_reported_in_one_raise(types, errors_of):
    tpl = hot("""
        parameters:
          n: {type: number}
        resources:
          a: {type: Nope}
          b: {type: OS::Heat::None, depends_on: c}
          c: {type: OS::Heat::None, depends_on: b, metadata: {x: {get_param: zz}}}
    """)
    errors = errors_of(check, tpl, types, {"n": "x", "extra": 1})
    assert [e.path for e in errors] == [
        "parameters.extra",
        "parameters.n",
        "resources.a.type",
        "resources.c.metadata.x.get_param",
        "resources.b",
    ]
    assert all(e.line for e in errors)


def test_placeholder_types_accept_any_property_and_attribute(types, make_context):
    tpl = hot("""
        resources:
          stub:
            type: OS::Heat::None
            properties: {flavor: 1, whatever: {get_param: OS::stack_name}}
          web:
            type: OS::Heat::None
            metadata: {ip: {get_attr: [stub, first_address, 0]}}
    """)
    assert check(tpl, types).dependencies == {"stub": frozenset(), "web": frozenset({"stub"})}
    context = make_context({"OS::stack_name": "st"}, attributes={("stub", "first_address"): None})
    assert template.resolve_properties(tpl, "stub", context, types) == {
        "flavor": 1,
        "whatever": "st",
    }
    assert template.resolve_metadata(tpl, "web", context) == {"ip": None}


def test_secret_references_are_not_shown_in_property_errors(types, errors_of, make_context):
    tpl = hot("""
        resources:
          key: {type: OS::Heat::RandomString}
          web:
            type: OS::Nova::Server
            properties: {flavor: f, image: i, count: {get_resource: key}}
    """)
    context = make_context(refs={"key": SECRET})
    (error,) = errors_of(template.resolve_properties, tpl, "web", context, types)
    assert error.path == "resources.web.properties.count"
    assert SECRET not in str(error)


def test_structure_parameter_and_resource_errors_come_in_one_answer(types):
    text = textwrap.dedent("""
        heat_template_version: 2018-08-31
        outputz: {}
        parameters:
          count: {type: number, constraints: [{range: {max: 3}}]}
          broken: {type: text}
        resources:
          web:
            type: OS::Nova::Server
            properties: {flavor: m1.small, image: cirros, colour: red}
          db:
            type: OS::Nova::Servr
          app:
            type: OS::Heat::None
            properties: {size: {get_param: broken}, ip: {get_atrr: [web, first_address]}}
    """)
    tpl, structure = template.parse_collecting(text)
    assert [e.path for e in structure] == [
        "outputz",
        "parameters.broken.type",
        "resources.app.properties.ip.get_atrr",
    ]
    try:
        check(tpl, types, {"count": "7", "broken": "x"}, known_errors=structure)
    except template_exceptions.TemplateInvalid as exc:
        found = {(e.path, e.line) for e in exc.errors}
    else:
        raise AssertionError("the template is invalid")
    assert found == {
        ("outputz", 3),
        ("parameters.broken.type", 6),
        ("resources.app.properties.ip.get_atrr", 15),
        ("parameters.count", 5),
        ("resources.web.properties.colour", 10),
        ("resources.db.type", 12),
    }  # and nothing about 'broken' again, nor about 'app' whose errors are known
