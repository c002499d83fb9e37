"""Secrets (hidden parameters, generated strings) never leave encrypted storage."""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from tests.unit.conftest import Engine

TEMPLATE = """
heat_template_version: 2018-08-31
parameters:
  admin_password:
    type: string
    hidden: true
    constraints:
      - length: {min: 8}
resources:
  password:
    type: OS::Heat::RandomString
    properties:
      length: 40
      salt: {get_param: admin_password}
  uses_it:
    type: OS::Heat::None
    properties:
      secret: {get_attr: [password, value]}
      also: {get_resource: password}
outputs:
  password: {value: {get_attr: [password, value]}}
  reference: {value: {get_resource: password}}
"""
HIDDEN = "Sup3r-Secret-Admin-Pw"


def _everything_stored(engine: Engine) -> str:
    """Every row of every table, flowstack's and TaskFlow's, as one text."""
    with engine.rt.db.engine.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        return "\n".join(
            repr(tuple(row))
            for table in tables
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608
        )


def test_secrets_are_only_stored_encrypted(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stack = engine.create("vault", TEMPLATE, parameters={"admin_password": HIDDEN})
    assert stack["stack_status"] == "CREATE_COMPLETE"
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    generated = outputs["password"]
    assert len(generated) == 40
    assert outputs["reference"] == generated  # get_resource of a RandomString is its value

    # The owner sees hidden parameters masked.
    assert stack["parameters"]["admin_password"] == "******"

    stored = _everything_stored(engine)
    assert HIDDEN not in stored
    assert generated not in stored
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert HIDDEN not in logged
    assert generated not in logged
    events = repr(engine.service.list_events(engine.ctx, "vault"))
    assert generated not in events


def test_hidden_value_is_not_echoed_in_validation_errors(engine: Engine) -> None:
    from flowstack import exceptions

    with pytest.raises(exceptions.TemplateInvalid) as caught:
        engine.service.create_stack(
            engine.ctx, "vault", TEMPLATE, parameters={"admin_password": "short7"}
        )
    assert "parameters.admin_password" in str(caught.value)
    assert "short7" not in str(caught.value)


COPIED = """
heat_template_version: 2018-08-31
parameters:
  admin_password: {type: string, hidden: true}
resources:
  generated:
    type: OS::Heat::RandomString
    properties: {length: 24}
  config:
    type: OS::Heat::TestResource
    properties:
      value:
        str_replace:
          template: "password=$pw token=$tok"
          params: {$pw: {get_param: admin_password}, $tok: {get_resource: generated}}
  joined:
    type: OS::Heat::TestResource
    properties:
      value: {list_join: [";", [{get_attr: [config, output]}, "tail"]]}
  downstream:
    type: OS::Heat::None
    properties: {copy: {get_attr: [joined, output]}}
  public:
    type: OS::Heat::TestResource
    properties: {value: plain-text}
outputs:
  joined: {value: {get_attr: [joined, output]}}
  public: {value: {get_attr: [public, output]}}
"""


def test_values_derived_from_secrets_are_as_secret_as_the_secrets(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stack = engine.create("derived", COPIED, parameters={"admin_password": HIDDEN})
    assert stack["stack_status"] == "CREATE_COMPLETE"
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    # The values still flow where the template sends them...
    generated = outputs["joined"].split("token=")[1].split(";")[0]
    assert outputs["joined"] == f"password={HIDDEN} token={generated};tail"
    assert len(generated) == 24
    assert outputs["public"] == "plain-text"
    surfaces: dict[str, object] = {
        "resource show": [
            engine.service.show_resource(engine.ctx, "derived", name)
            for name in ("generated", "config", "joined", "downstream", "public")
        ],
        "resource list": engine.service.list_resources(engine.ctx, "derived"),
    }
    engine.delete("derived")

    # ...and appear on no surface but the owner's outputs.
    flows = engine.service.list_flows(engine.ctx, stack=stack["id"])
    assert {f["operation"] for f in flows} == {"create", "delete"}
    surfaces.update(
        {
            "flow show": [engine.service.show_flow(engine.ctx, f["id"]) for f in flows],
            "flow graph": [engine.service.flow_graph(engine.ctx, f["id"]) for f in flows],
            "events": engine.service.list_events(engine.ctx, stack["id"]),
            "stored rows": _everything_stored(engine),
            "logs": "\n".join(r.getMessage() for r in caplog.records),
        }
    )
    for surface, shown in surfaces.items():
        text = shown if isinstance(shown, str) else json.dumps(shown)
        assert HIDDEN not in text, surface
        assert generated not in text, surface
    # What no secret feeds stays visible to operators.
    (create,) = [
        engine.service.show_flow(engine.ctx, f["id"]) for f in flows if f["operation"] == "create"
    ]
    public = [s for s in create["steps"] if s["name"] == "wait-create:public"]
    assert public[0]["result"]["attributes"] == {"output": "plain-text"}
