"""Stacks of servers with OS::Octavia::PoolMember, through openstacksdk and HTTP.

The engine, Nova and Octavia are real over HTTP (the simulator serves both);
the simulator's event log, where server deletes and load-balancer changes
share one sequence, proves the order of a delete: drain, remove, then the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oslo_config import cfg

from flowstack import exceptions
from flowstack.clients import Clients
from flowstack.conf import octavia as octavia_conf
from flowstack.db import migration
from flowstack.nova_sim import NovaSimulator
from flowstack.resources.registry import Registry
from flowstack.resources.types.heat_none import NoneResource
from flowstack.resources.types.nova_server import NovaServer
from flowstack.resources.types.octavia_pool_member import PoolMember
from flowstack.runtime.container import Runtime
from tests.functional.resources.conftest import Cloud

DRAIN = 0.2

TWO_MEMBERS = """
heat_template_version: 2018-08-31
parameters:
  pool: {type: string}
resources:
  web1:
    type: OS::Nova::Server
    properties: {image: cirros, flavor: m1.tiny}
  web2:
    type: OS::Nova::Server
    properties: {image: cirros, flavor: m1.tiny}
  member1:
    type: OS::Octavia::PoolMember
    properties:
      pool: {get_param: pool}
      address: {get_attr: [web1, first_address]}
      protocol_port: 80
  member2:
    type: OS::Octavia::PoolMember
    properties:
      pool: {get_param: pool}
      address: {get_attr: [web2, first_address]}
      protocol_port: 80
outputs:
  member1_weight: {value: {get_attr: [member1, weight]}}
  member2_pool: {value: {get_attr: [member2, pool_id]}}
"""


@pytest.fixture
def lbcloud(nova_settings: cfg.ConfigOpts, sim: NovaSimulator) -> Iterator[Cloud]:
    """The conftest's cloud, with pool members registered and [octavia] on the simulator."""
    octavia_conf.register_opts(nova_settings)
    nova_settings.set_override("endpoint_override", sim.lb_endpoint, group="octavia")
    nova_settings.set_override("drain_timeout", DRAIN, group="octavia")
    nova_settings.set_override("timeout", 5, group="octavia")
    sim.set_delays(lb_update_delay=0.05)
    clients = Clients(nova_settings, endpoint_override=sim.endpoint)
    registry = Registry([NoneResource, NovaServer, PoolMember])
    rt = Runtime.from_conf(nova_settings, registry=registry, clients=clients)
    migration.sync(rt.db)
    built = Cloud(rt, sim, clients)
    yield built
    built.dispatcher.wait_all()
    rt.close()
    clients.close()


@pytest.fixture
def pool_id(sim: NovaSimulator) -> str:
    return str(sim.create_loadbalancer("web")["pools"][0]["id"])


def live_members(cloud: Cloud, pool: str) -> list[dict[str, Any]]:
    return cloud.sim.pool_members(pool)


def test_members_join_with_their_servers_addresses_and_drain_before_delete(
    lbcloud: Cloud, pool_id: str
) -> None:
    stack = lbcloud.create("web", TWO_MEMBERS, parameters={"pool": "web-pool"})
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    resources = lbcloud.resources("web")
    members = {r["id"]: r for r in live_members(lbcloud, pool_id)}
    for n in (1, 2):
        server = lbcloud.sim.server(resources[f"web{n}"]["physical_resource_id"])
        member = members[resources[f"member{n}"]["physical_resource_id"]]
        assert member["address"] == server["addresses"][0]
        assert (member["protocol_port"], member["provisioning_status"]) == (80, "ACTIVE")
    assert len(members) == 2
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert outputs == {"member1_weight": 1, "member2_pool": pool_id}

    deleted = lbcloud.delete("web")
    assert deleted["stack_status"] == "DELETE_COMPLETE", deleted["stack_status_reason"]
    assert live_members(lbcloud, pool_id) == []
    assert lbcloud.sim.live_servers() == []
    for n in (1, 2):
        member_id = resources[f"member{n}"]["physical_resource_id"]
        server_id = resources[f"web{n}"]["physical_resource_id"]
        [drained] = lbcloud.sim.lb_events(event="member-update", member_id=member_id)
        [removed] = lbcloud.sim.lb_events(event="member-delete", member_id=member_id)
        [server_gone] = lbcloud.sim.lb_events(event="server-delete", server_id=server_id)
        assert drained["changes"] == {"weight": [1, 0]}
        assert drained["seq"] < removed["seq"] < server_gone["seq"]
        assert removed["at"] - drained["at"] >= DRAIN


def test_a_member_that_fails_to_provision_rolls_everything_back(
    lbcloud: Cloud, pool_id: str
) -> None:
    lbcloud.sim.set_faults(
        lb_provisioning_errors=[{"resource": "member", "name_regex": "-member2$"}]
    )
    stack = lbcloud.create("web", TWO_MEMBERS, parameters={"pool": pool_id})
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    reason = stack["stack_status_reason"]
    assert "resources.member2" in reason and "provisioning_status ERROR" in reason
    assert live_members(lbcloud, pool_id) == []
    assert lbcloud.sim.live_servers() == []
    assert {r["resource_status"] for r in lbcloud.resources("web").values()} <= {
        "DELETE_COMPLETE",
        "INIT_COMPLETE",
    }


def test_a_load_balancer_in_error_fails_the_stack_clearly(
    lbcloud: Cloud, sim: NovaSimulator
) -> None:
    lb = sim.create_loadbalancer("broken")
    sim.fail_loadbalancer(lb["id"])
    stack = lbcloud.create("web", TWO_MEMBERS, parameters={"pool": "broken-pool"})
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert f"load balancer {lb['id']} is in ERROR" in stack["stack_status_reason"]
    assert live_members(lbcloud, lb["pools"][0]["id"]) == []
    assert lbcloud.sim.live_servers() == []


def test_an_unknown_pool_names_the_pool(lbcloud: Cloud, pool_id: str) -> None:
    stack = lbcloud.create("web", TWO_MEMBERS, parameters={"pool": "no-such-pool"})
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "pool 'no-such-pool' not found" in stack["stack_status_reason"]
    assert lbcloud.sim.live_servers() == []


def test_a_wrong_port_is_a_template_error_naming_the_property(lbcloud: Cloud, pool_id: str) -> None:
    template = TWO_MEMBERS.replace("protocol_port: 80\n", "protocol_port: 70000\n", 1)
    with pytest.raises(exceptions.TemplateInvalid) as invalid:
        lbcloud.start("web", template, parameters={"pool": pool_id})
    [error] = invalid.value.errors
    assert error.path == "resources.member1.properties.protocol_port"
    assert "65535" in error.message
    assert lbcloud.service.list_stacks(lbcloud.ctx) == []
    assert lbcloud.sim.all_servers() == []
