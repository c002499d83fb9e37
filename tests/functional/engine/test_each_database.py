"""The whole stack lifecycle on each supported database server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oslo_config import cfg

from flowstack import context, exceptions
from flowstack.db import migration
from flowstack.engine.stack_service import StackService
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.runtime.container import Runtime

TEMPLATE = """
heat_template_version: 2018-08-31
parameters:
  fail: {type: boolean, default: false}
resources:
  secret: {type: OS::Heat::RandomString, properties: {length: 12}}
  base: {type: OS::Heat::TestResource, properties: {value: base}}
  left:
    type: OS::Heat::TestResource
    properties:
      value: {get_attr: [base, output]}
      action_wait_secs: {create: 0.2}
  right:
    type: OS::Heat::TestResource
    properties:
      value: {get_attr: [base, output]}
      fail: {get_param: fail}
    depends_on: secret
outputs:
  secret_length: {value: {str_replace: {template: x, params: {x: {get_attr: [secret, value]}}}}}
"""


@pytest.fixture
def service(
    conf: cfg.ConfigOpts, db_url: str
) -> Iterator[tuple[StackService, InProcessDispatcher]]:
    conf.set_override("connection", db_url, group="database")
    rt = Runtime.from_conf(conf)
    migration.sync(rt.db)
    dispatcher = InProcessDispatcher(rt)
    yield StackService(rt, dispatcher), dispatcher
    rt.close()


def test_create_rollback_delete(service: tuple[StackService, InProcessDispatcher]) -> None:
    svc, dispatcher = service
    ctx = context.RequestContext(project_id="p1")

    ok = svc.create_stack(ctx, "ok", TEMPLATE)
    dispatcher.wait(ok["flow_id"])
    stack = svc.show_stack(ctx, "ok")
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    assert len(stack["outputs"][0]["output_value"]) == 12
    with pytest.raises(exceptions.StackExists):
        svc.create_stack(ctx, "ok", TEMPLATE)

    bad = svc.create_stack(ctx, "bad", TEMPLATE, {"fail": "true"})
    dispatcher.wait(bad["flow_id"])
    stack = svc.show_stack(ctx, "bad")
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "resources.right" in stack["stack_status_reason"]
    statuses = {r["resource_status"] for r in svc.list_resources(ctx, "bad")}
    assert statuses == {"DELETE_COMPLETE"}

    gone = svc.delete_stack(ctx, "ok")
    dispatcher.wait(gone["flow_id"])
    assert svc.show_stack(ctx, ok["id"])["stack_status"] == "DELETE_COMPLETE"
    assert [s["stack_name"] for s in svc.list_stacks(ctx)] == ["bad"]
    # events keep sub-second order on every server (MariaDB needs DATETIME(6))
    times = [e["event_time"] for e in svc.list_events(ctx, ok["id"])]
    assert times == sorted(times)
    assert len(set(times)) > 1
