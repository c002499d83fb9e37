"""Groups whose members are template files: a server and its load-balancer pool member.

The member is Heat's ``type: lb_server.yaml`` with the file in the files
map.  The simulator serves Nova and Octavia over HTTP; its event log, where
member changes and server deletes share one sequence, proves the order of a
scale-in (drain, remove the member, then delete the server), and server
histories prove that a member joins its pool only after its server is ACTIVE.
"""

from __future__ import annotations

import string
from typing import Any

import pytest

from flowstack import exceptions
from tests.functional.autoscaling.conftest import DRAIN_TIMEOUT, ScalingCloud

LB_SERVER = """
heat_template_version: 2016-10-14
description: A web server and its membership of the load balancer's pool
parameters:
  flavor: {type: string}
  image: {type: string}
  pool_id: {type: string}
  port: {type: number, default: 80}
resources:
  server:
    type: OS::Nova::Server
    properties:
      flavor: {get_param: flavor}
      image: {get_param: image}
  member:
    type: OS::Octavia::PoolMember
    properties:
      pool: {get_param: pool_id}
      address: {get_attr: [server, first_address]}
      protocol_port: {get_param: port}
outputs:
  server_ip:
    value: {get_attr: [server, first_address]}
  member_id:
    value: {get_resource: member}
"""

STACK = """
heat_template_version: 2016-10-14
parameters:
  pool: {type: string}
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 6
      desired_capacity: $desired
      resource:
        type: lb_server.yaml
        properties:
          flavor: m1.tiny
          image: cirros
          pool_id: {get_param: pool}
          port: $port
  scale_up:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: change_in_capacity
      scaling_adjustment: 2
  scale_down:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: change_in_capacity
      scaling_adjustment: -1
outputs:
  up_url: {value: {get_attr: [scale_up, alarm_url]}}
  down_url: {value: {get_attr: [scale_down, alarm_url]}}
  server_ips: {value: {get_attr: [asg, outputs_list, server_ip]}}
  size: {value: {get_attr: [asg, current_size]}}
"""

FILES = {"lb_server.yaml": LB_SERVER}


def stack(desired: int = 2, port: int = 80) -> str:
    return string.Template(STACK).substitute(desired=desired, port=port)


@pytest.fixture
def pool(scaling: ScalingCloud) -> str:
    scaling.sim.set_delays(lb_update_delay=0.05)
    return str(scaling.sim.create_loadbalancer("web")["pools"][0]["id"])


def members_by_address(cloud: ScalingCloud, pool: str) -> dict[str, dict[str, Any]]:
    return {m["address"]: m for m in cloud.sim.pool_members(pool)}


def member_events(cloud: ScalingCloud, event: str, address: str) -> list[dict[str, Any]]:
    return [e for e in cloud.sim.lb_events(event=event) if e["address"] == address]


def server_addresses(cloud: ScalingCloud) -> dict[str, str]:
    return {r["addresses"][0]: r["id"] for r in cloud.sim.live_servers()}


def assert_pool_matches_servers(cloud: ScalingCloud, pool: str, size: int) -> None:
    """Every live server is in the pool once, ACTIVE, and nothing else is."""
    members = members_by_address(cloud, pool)
    servers = server_addresses(cloud)
    assert len(cloud.sim.pool_members(pool)) == len(members) == len(servers) == size
    assert set(members) == set(servers)
    assert {m["provisioning_status"] for m in members.values()} == {"ACTIVE"}
    cloud.assert_no_orphans()


def assert_all_fired(cloud: ScalingCloud) -> None:
    """The injected faults really hit the calls (each rule used up)."""
    assert_all_fired_kind(cloud, "lb_errors", "lb_immutable")


def assert_all_fired_kind(cloud: ScalingCloud, *kinds: str) -> None:
    config = cloud.sim.fault_config
    rules = [r for kind in kinds for r in config[kind]]
    assert rules and all(r["fired"] == r["times"] for r in rules), rules


def start(cloud: ScalingCloud, pool: str, **kwargs: Any) -> dict[str, Any]:
    created = cloud.create("web", stack(**kwargs), parameters={"pool": "web-pool"}, files=FILES)
    assert created["stack_status"] == "CREATE_COMPLETE", created["stack_status_reason"]
    return created


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_members_join_the_pool_after_their_server_is_active_and_show_in_outputs(
    scaling: ScalingCloud, pool: str
) -> None:
    start(scaling, pool)
    assert_pool_matches_servers(scaling, pool, 2)
    outputs = scaling.outputs("web")
    assert sorted(outputs["server_ips"]) == sorted(server_addresses(scaling))
    assert outputs["size"] == 2

    reply = scaling.post(outputs["up_url"])
    assert reply.status == 202, reply.body
    group = scaling.wait_idle("asg")
    assert group["current_size"] == 4
    assert_pool_matches_servers(scaling, pool, 4)
    for member in scaling.sim.lb_events(event="member-create"):
        server = scaling.sim.server(server_addresses(scaling)[member["address"]])
        [active] = [h for h in server["history"] if h.get("status") == "ACTIVE"]
        assert member["at"] >= active["at"], "a member joined before its server was ACTIVE"
    assert len(scaling.outputs("web")["server_ips"]) == 4
    # Heat's refs are the members' nested stacks; their resources are the server and member.
    nested = scaling.group("asg")["members"][0]["physical_id"]
    listed = {r["resource_name"] for r in scaling.service.list_resources(scaling.ctx, nested)}
    assert listed == {"server", "member"}


@pytest.mark.parametrize("database", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_scale_in_drains_then_removes_the_member_then_deletes_the_server(
    scaling: ScalingCloud, pool: str
) -> None:
    start(scaling, pool, desired=3)
    before = server_addresses(scaling)
    reply = scaling.post(scaling.outputs("web")["down_url"])
    assert reply.status == 202, reply.body
    assert scaling.wait_idle("asg")["current_size"] == 2
    assert_pool_matches_servers(scaling, pool, 2)
    [(address, server_id)] = [
        (a, s) for a, s in before.items() if a not in server_addresses(scaling)
    ]
    [drained] = member_events(scaling, "member-update", address)
    [removed] = member_events(scaling, "member-delete", address)
    [server_gone] = scaling.sim.lb_events(event="server-delete", server_id=server_id)
    assert drained["changes"]["weight"][1] == 0
    assert drained["seq"] < removed["seq"] < server_gone["seq"]
    assert removed["at"] - drained["at"] >= DRAIN_TIMEOUT
    # The oldest member went (the default removal policy), its nested stack with it.
    assert scaling.group("asg")["members"][0]["name"] == "member-2"

    deleted = scaling.delete("web")
    assert deleted["stack_status"] == "DELETE_COMPLETE", deleted["stack_status_reason"]
    assert scaling.sim.pool_members(pool) == []
    assert scaling.sim.live_servers() == []


def test_a_failed_pool_join_rolls_back_the_servers_of_its_event(
    scaling: ScalingCloud, pool: str
) -> None:
    start(scaling, pool)
    kept = server_addresses(scaling)
    # The second new member's create ends in ERROR at Octavia.
    scaling.sim.set_faults(
        lb_provisioning_errors=[{"resource": "member", "operation": "create", "times": 1}]
    )
    assert scaling.post(scaling.outputs("web")["up_url"]).status == 202
    group = scaling.wait_idle("asg")
    assert group["current_size"] == 2
    [event] = scaling.service.list_scale_events(scaling.ctx, "asg")[:1]
    assert event["status"] == "FAILED"
    assert "ERROR" in event["reason"]
    # Both servers of that event are gone (the one that joined left the pool first).
    assert server_addresses(scaling) == kept
    assert_pool_matches_servers(scaling, pool, 2)


def test_faults_on_every_octavia_call_leave_no_orphan_member_or_server(
    scaling: ScalingCloud, pool: str
) -> None:
    start(scaling, pool, desired=1)
    scaling.sim.set_faults(
        lb_errors=[{"method": "*", "path": "/members", "status": 503, "times": 3}],
        lb_immutable=[{"resource": "member", "operation": "*", "times": 3}],
    )
    urls = scaling.outputs("web")
    assert scaling.post(urls["up_url"]).status == 202
    assert scaling.wait_idle("asg")["current_size"] == 3
    assert_pool_matches_servers(scaling, pool, 3)
    assert_all_fired(scaling)
    scaling.sim.set_faults(
        lb_errors=[{"method": "DELETE", "path": "/members/", "status": 500, "times": 2}],
        lb_immutable=[{"resource": "member", "operation": "update", "times": 2}],
    )
    assert scaling.post(urls["down_url"]).status == 202
    assert scaling.wait_idle("asg")["current_size"] == 2
    assert_pool_matches_servers(scaling, pool, 2)
    assert_all_fired(scaling)
    scaling.sim.clear_faults()
    assert scaling.delete("web")["stack_status"] == "DELETE_COMPLETE"
    assert scaling.sim.pool_members(pool) == []
    assert scaling.sim.live_servers() == []


def test_an_unknown_pool_fails_the_create_and_leaves_nothing(
    scaling: ScalingCloud, pool: str
) -> None:
    created = scaling.create("web", stack(), parameters={"pool": "no-such-pool"}, files=FILES)
    assert created["stack_status"] == "ROLLBACK_COMPLETE"
    assert "no-such-pool" in created["stack_status_reason"]
    assert scaling.sim.live_servers() == []
    assert scaling.sim.pool_members(pool) == []


def test_a_wrong_port_is_refused_before_anything_is_created(
    scaling: ScalingCloud, pool: str
) -> None:
    with pytest.raises(exceptions.TemplateInvalid) as caught:
        scaling.service.create_stack(
            scaling.ctx, "web", stack(port=70000), parameters={"pool": "web-pool"}, files=FILES
        )
    assert "port" in str(caught.value)
    assert scaling.sim.live_servers() == []


def test_a_missing_or_broken_file_is_named_in_the_error(scaling: ScalingCloud) -> None:
    with pytest.raises(exceptions.TemplateInvalid) as caught:
        scaling.service.create_stack(
            scaling.ctx, "web", stack(), parameters={"pool": "p"}, files={}
        )
    assert "files.lb_server.yaml" in str(caught.value)
    assert "does not hold it" in str(caught.value)

    broken = LB_SERVER.replace("OS::Octavia::PoolMember", "OS::Octavia::PoolMembr")
    with pytest.raises(exceptions.TemplateInvalid) as caught:
        scaling.service.create_stack(
            scaling.ctx,
            "web",
            stack(),
            parameters={"pool": "p"},
            files={"lb_server.yaml": broken},
        )
    assert "files.lb_server.yaml:resources.member.type" in str(caught.value)
    assert "PoolMembr" in str(caught.value)
    assert scaling.service.list_stacks(scaling.ctx) == []


def test_a_load_balancer_in_error_fails_the_scale_out_cleanly(
    scaling: ScalingCloud, pool: str
) -> None:
    start(scaling, pool)
    kept = server_addresses(scaling)
    [lb] = scaling.sim.loadbalancers(live_only=True)
    scaling.sim.fail_loadbalancer(lb["id"], "Amphora failed")
    assert scaling.post(scaling.outputs("web")["up_url"]).status == 202
    group = scaling.wait_idle("asg")
    assert group["current_size"] == 2
    [event] = scaling.service.list_scale_events(scaling.ctx, "asg")[:1]
    assert event["status"] == "FAILED"
    assert "ERROR" in event["reason"], event["reason"]
    assert server_addresses(scaling) == kept
    assert len(scaling.sim.pool_members(pool)) == 2
    scaling.assert_no_orphans()


def test_a_member_whose_server_went_to_error_leaves_the_pool_and_is_replaced(
    scaling: ScalingCloud, pool: str
) -> None:
    start(scaling, pool)
    by_name = {m["name"]: m["physical_id"] for m in scaling.group("asg")["members"]}
    nested = {
        r["resource_name"]: r["physical_resource_id"]
        for r in scaling.service.list_resources(scaling.ctx, by_name["member-2"])
    }
    scaling.sim.fail_server(nested["server"], "Host compute-7 lost power")
    scaling.service.resize_group(scaling.ctx, "web/asg", 3)
    group = scaling.wait_idle("asg")
    names = [m["name"] for m in group["members"]]
    assert group["current_size"] == 3 and "member-2" not in names
    assert_pool_matches_servers(scaling, pool, 3)
    [removed] = [e for e in scaling.sim.lb_events(event="member-delete")]
    assert removed["member_id"] == nested["member"]


def test_keep_partial_progress_gives_up_only_the_member_whose_join_failed(
    scaling: ScalingCloud, pool: str
) -> None:
    partial = stack().replace(
        "      desired_capacity: 2\n",
        "      desired_capacity: 2\n      keep_partial_progress: true\n",
    )
    created = scaling.create("web", partial, parameters={"pool": "web-pool"}, files=FILES)
    assert created["stack_status"] == "CREATE_COMPLETE", created["stack_status_reason"]
    scaling.sim.set_faults(
        lb_provisioning_errors=[{"resource": "member", "operation": "create", "times": 1}]
    )
    assert scaling.post(scaling.outputs("web")["up_url"]).status == 202
    group = scaling.wait_idle("asg")
    assert_all_fired_kind(scaling, "lb_provisioning_errors")
    assert (group["current_size"], group["desired_capacity"]) == (3, 3)
    [event] = scaling.service.list_scale_events(scaling.ctx, "asg")[:1]
    assert event["status"] == "COMPLETE"
    detail = scaling.service.show_scale_event(scaling.ctx, event["receipt_id"])
    assert "partial: 1 of 2 new member(s) created" in detail["decision"], detail["decision"]
    # The given-up member's server is gone; its failed pool member too.
    assert_pool_matches_servers(scaling, pool, 3)
    gone = [m for m in scaling.sim.pool_members(pool, live_only=False) if not m["live"]]
    assert len(gone) == 1
