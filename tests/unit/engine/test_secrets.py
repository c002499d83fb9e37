"""Secrets (hidden parameters, generated strings) never leave encrypted storage."""

from __future__ import annotations

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
