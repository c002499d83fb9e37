"""Stacks of OS::Nova::Server through novaclient and HTTP: create, delete, every failure.

The invariant checked after each story: the servers alive in the simulator
are exactly the servers that live stacks hold.
"""

from __future__ import annotations

import pytest
from oslo_config import cfg

from flowstack import exceptions
from flowstack.clients import Clients, NovaUnreachable
from flowstack.engine.stack_service import StackService
from flowstack.execution.dispatch import InProcessDispatcher
from flowstack.resources.types.nova_server import TAG_RESOURCE
from tests.functional.resources.conftest import Cloud, make_runtime

TWO_TIERS = """
heat_template_version: 2018-08-31
parameters:
  flavor: {type: string, default: m1.tiny}
resources:
  db:
    type: OS::Nova::Server
    properties: {image: cirros, flavor: {get_param: flavor}, metadata: {tier: db}}
  web1:
    type: OS::Nova::Server
    properties:
      image: cirros
      flavor: m1.small
      user_data_format: RAW
      user_data:
        str_replace:
          template: "#!/bin/sh\\necho DB=$DB > /etc/app.env"
          params: {$DB: {get_attr: [db, first_address]}}
  web2:
    type: OS::Nova::Server
    properties:
      image: cirros
      flavor: m1.small
      name: web-two
      metadata: {db: {get_attr: [db, networks, private, 0]}}
outputs:
  db_ip: {value: {get_attr: [db, first_address]}}
  web2_db: {value: {get_attr: [web2, show, metadata, db]}}
  web1_id: {value: {get_resource: web1}}
"""


def servers(count: int, **properties: str) -> str:
    lines = ["heat_template_version: 2018-08-31", "resources:"]
    extra = "".join(f", {k}: {v}" for k, v in properties.items())
    for n in range(1, count + 1):
        lines.append(f"  server{n}:")
        lines.append("    type: OS::Nova::Server")
        lines.append(f"    properties: {{image: cirros, flavor: m1.tiny{extra}}}")
    return "\n".join(lines) + "\n"


def assert_no_orphans(cloud: Cloud) -> None:
    assert cloud.live_server_ids() == cloud.referenced_server_ids()


def test_multi_server_stack_create_and_delete(cloud: Cloud) -> None:
    stack = cloud.create("shop", TWO_TIERS)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    resources = cloud.resources("shop")
    ids = {r["physical_resource_id"] for r in resources.values()}
    assert cloud.live_server_ids() == ids and len(ids) == 3
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    db = cloud.sim.server(resources["db"]["physical_resource_id"])
    assert outputs["db_ip"] == db["addresses"][0] == outputs["web2_db"]  # tier 2 used tier 1
    assert outputs["web1_id"] == resources["web1"]["physical_resource_id"]
    assert cloud.sim.server(resources["web2"]["physical_resource_id"])["name"] == "web-two"
    assert_no_orphans(cloud)

    deleted = cloud.delete("shop")
    assert deleted["stack_status"] == "DELETE_COMPLETE"
    assert cloud.live_server_ids() == set()
    assert len(cloud.sim.all_servers()) == 3  # no server was ever booted twice


def test_six_servers_where_the_fifth_errors_roll_back_to_zero(cloud: Cloud) -> None:
    cloud.sim.set_faults(
        build_errors=[
            {"metadata": {TAG_RESOURCE: "server5"}, "message": "No valid host was found."}
        ]
    )
    stack = cloud.create("six", servers(6))
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    reason = stack["stack_status_reason"]
    assert "resources.server5" in reason and "No valid host was found." in reason
    assert cloud.sim.live_servers() == []
    assert 1 <= len(cloud.sim.all_servers()) <= 6
    assert set(r["resource_status"] for r in cloud.resources("six").values()) <= {
        "DELETE_COMPLETE",
        "INIT_COMPLETE",
    }


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_a_lost_create_response_adopts_the_server(cloud: Cloud, mode: str) -> None:
    cloud.sim.set_faults(lost_responses=[{"mode": mode, "times": 1}])
    stack = cloud.create("lost", servers(1))
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    assert len(cloud.sim.all_servers()) == 1  # exactly one server was ever booted
    assert cloud.live_server_ids() == {cloud.resources("lost")["server1"]["physical_resource_id"]}


def test_over_quota_fails_cleanly_with_the_reason(cloud: Cloud) -> None:
    cloud.sim.set_faults(quota={"instances": 2})
    stack = cloud.create("big", servers(3))
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "Quota exceeded for instances" in stack["stack_status_reason"]
    assert "HTTP 403" in stack["stack_status_reason"]
    assert cloud.sim.live_servers() == []


def test_api_500s_fail_cleanly_with_the_reason(cloud: Cloud) -> None:
    cloud.sim.set_faults(api_errors=[{"method": "POST", "path": "/servers$", "status": 500}])
    stack = cloud.create("broken", servers(2))
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "HTTP 500" in stack["stack_status_reason"]
    assert "gave up after 4 attempts" in stack["stack_status_reason"]
    assert cloud.sim.all_servers() == []


def test_transient_api_errors_are_ridden_out(cloud: Cloud) -> None:
    cloud.sim.set_faults(
        api_errors=[
            {"method": "POST", "path": "/servers$", "status": 503, "times": 2},
            {"method": "GET", "path": "/servers/[^/]+$", "status": 500, "every_nth": 3},
        ]
    )
    stack = cloud.create("bumpy", servers(3))
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    assert len(cloud.sim.all_servers()) == 3
    assert_no_orphans(cloud)


def test_a_delete_that_fails_transiently_is_retried(cloud: Cloud) -> None:
    cloud.create("flaky", servers(2))
    cloud.sim.set_faults(delete_errors=[{"status": 503, "times": 2}])
    assert cloud.delete("flaky")["stack_status"] == "DELETE_COMPLETE"
    assert cloud.sim.live_servers() == []


def test_a_delete_that_keeps_failing_ends_delete_failed_naming_the_server(cloud: Cloud) -> None:
    cloud.create("stuck", servers(2))
    stuck = cloud.resources("stuck")["server2"]["physical_resource_id"]
    cloud.sim.set_faults(delete_errors=[{"metadata": {TAG_RESOURCE: "server2"}, "status": 500}])
    stack = cloud.delete("stuck")
    assert stack["stack_status"] == "DELETE_FAILED"
    assert "resources.server2" in stack["stack_status_reason"]
    assert stuck in stack["stack_status_reason"]
    assert "HTTP 500" in stack["stack_status_reason"]
    assert cloud.live_server_ids() == {stuck}
    assert_no_orphans(cloud)  # the stack still holds what it could not delete
    cloud.sim.clear_faults()
    assert cloud.delete("stuck")["stack_status"] == "DELETE_COMPLETE"
    assert cloud.sim.live_servers() == []


@pytest.mark.parametrize(
    ("properties", "path", "message"),
    [
        ({"flavor": "m1.huge"}, "properties.flavor", "flavor 'm1.huge' not found"),
        ({"image": "windows"}, "properties.image", "image 'windows' not found"),
        ({"key_name": "nobody"}, "properties.key_name", "keypair 'nobody' not found"),
    ],
)
def test_unknown_flavor_image_or_keypair_is_reported_at_validation(
    cloud: Cloud, properties: dict[str, str], path: str, message: str
) -> None:
    given = {"image": "cirros", "flavor": "m1.tiny", **properties}
    template = (
        "heat_template_version: 2018-08-31\nresources:\n  web:\n    type: OS::Nova::Server\n"
        f"    properties: {given!r}\n".replace("'", '"')
    )
    with pytest.raises(exceptions.TemplateInvalid) as invalid:
        cloud.start("bad", template)
    [error] = invalid.value.errors
    assert (error.path, error.message) == (f"resources.web.{path}", message)
    assert cloud.service.list_stacks(cloud.ctx) == []
    assert cloud.sim.all_servers() == []


def test_nova_unreachable_at_validation_creates_nothing(
    nova_settings: cfg.ConfigOpts, cloud: Cloud
) -> None:
    cloud.sim.stop()
    with pytest.raises(NovaUnreachable, match="Nova is unreachable"):
        cloud.start("dark", servers(1))
    assert cloud.service.list_stacks(cloud.ctx) == []


def test_nova_unreachable_while_creating_fails_clearly_and_leaves_nothing(
    nova_settings: cfg.ConfigOpts, cloud: Cloud
) -> None:
    # Nova went away after validation: a service built without the checks.
    down = Clients(nova_settings, endpoint_override="http://127.0.0.1:9/v2.1")
    rt = make_runtime(nova_settings, down)
    try:
        dispatcher = InProcessDispatcher(rt)
        service = StackService(rt, dispatcher)
        flow = service.create_stack(cloud.ctx, "dark", servers(2))["flow_id"]
        assert dispatcher.wait(flow, timeout=60) is not None
        stack = service.show_stack(cloud.ctx, "dark")
    finally:
        rt.close()
        down.close()
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert (
        "Nova is unreachable at http://127.0.0.1:9: connection refused"
        in (stack["stack_status_reason"])
    )
    assert cloud.sim.all_servers() == []
