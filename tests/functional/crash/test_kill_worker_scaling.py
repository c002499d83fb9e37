"""SIGKILL the worker that runs a scale-out: another worker finishes it.

Two worker processes, PostgreSQL, a jobboard (the scale-out resume runs on
every backend) and a Nova simulator process; the test plays the engine.
The group must end at its desired size, each member booted exactly once
(the simulator counts servers by their ``flowstack:resource`` tag), and
nothing orphaned.
"""

from __future__ import annotations

import collections

import pytest

from flowstack.db import groups
from tests.functional.crash.harness import Deployment, eventually
from tests.functional.crash.test_kill_worker import TAKEOVER_TIMEOUT, assert_resumed_elsewhere
from tests.jobboard_servers import every_jobboard

pytestmark = pytest.mark.slow

GROUP = """
heat_template_version: 2016-10-14
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 10
      desired_capacity: 1
      resource: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  up:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: change_in_capacity
      scaling_adjustment: 4
"""


@every_jobboard
def test_a_scale_out_resumes_on_another_worker(deployment: Deployment, takeover) -> None:
    sim = deployment.start_sim(build_delay=3.0)
    deployment.configure()
    deployment.start_workers(2)
    stack_id, _ = deployment.create_stack("web", GROUP)
    stack = deployment.wait_settled(stack_id, timeout=60)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    service, ctx = deployment.service, deployment.ctx
    group_id = service.show_group(ctx, "web/asg")["id"]

    receipt = service.execute_policy(ctx, "web", "up")
    flow_id = receipt["flow_id"]
    assert receipt["status"] == "IN_PROGRESS" and flow_id
    # Killed once the new servers are booting (their ids recorded, not ACTIVE yet).
    eventually(
        lambda: len(sim.servers(group_id)) == 5 and deployment.flow(flow_id).owner,
        20,
        "the four new servers to be booting",
    )
    victim = deployment.worker(deployment.flow(flow_id).owner)
    killed_at = deployment.kill(victim)
    owner, seconds = deployment.wait_takeover(
        flow_id, victim.name, killed_at, timeout=TAKEOVER_TIMEOUT
    )
    takeover(seconds, "scale-out")

    def settled() -> dict | None:
        with deployment.db().read_connection() as connection:
            row = groups.get(connection, group_id)
        return None if row.active_flow_id else service.show_group(ctx, group_id)

    group = eventually(settled, 60, "the scale-out to finish")
    assert (group["desired_capacity"], group["current_size"]) == (5, 5)
    event = service.show_scale_event(ctx, receipt["receipt_id"])
    assert event["status"] == "COMPLETE", event
    created = sim.created_per_resource(group_id)
    assert created == collections.Counter({f"member-{n}": 1 for n in range(1, 6)}), created
    members = {m["physical_id"] for m in group["members"]}
    assert sim.live_ids() == members  # nothing orphaned, nothing missing
    assert_resumed_elsewhere(deployment, flow_id, victim.name)
    assert owner != victim.name


def test_workers_replace_a_broken_member_without_any_trigger(deployment: Deployment) -> None:
    """The periodic health check: a member in ERROR is replaced, nobody asked."""
    sim = deployment.start_sim(build_delay=0.3)
    deployment.configure(worker={"group_health_interval": 1.0, "reaper_interval": 0.5})
    deployment.start_workers(1)
    stack_id, _ = deployment.create_stack(
        "web", GROUP.replace("desired_capacity: 1", "desired_capacity: 3")
    )
    assert deployment.wait_settled(stack_id, timeout=60)["stack_status"] == "CREATE_COMPLETE"
    service, ctx = deployment.service, deployment.ctx
    members = {m["name"]: m["physical_id"] for m in service.show_group(ctx, "web/asg")["members"]}
    sim.fail_server(members["member-2"], "Host compute-3 lost power")

    def replaced() -> dict | None:
        group = service.show_group(ctx, "web/asg")
        names = [m["name"] for m in group["members"]]
        healthy = group["current_size"] == 3 and "member-2" not in names
        return group if healthy and group["active_flow_id"] is None else None

    group = eventually(replaced, 30, "member-2 to be replaced")
    assert [m["name"] for m in group["members"]] == ["member-1", "member-3", "member-4"]
    assert sim.live_ids() == {m["physical_id"] for m in group["members"]}
    assert service.list_scale_events(ctx, "web/asg") == []  # no trigger was needed


LB_SERVER = """
heat_template_version: 2016-10-14
parameters:
  pool: {type: string}
resources:
  server:
    type: OS::Nova::Server
    properties: {image: cirros, flavor: m1.tiny}
  member:
    type: OS::Octavia::PoolMember
    properties:
      pool: {get_param: pool}
      address: {get_attr: [server, first_address]}
      protocol_port: 80
"""
LB_GROUP = GROUP.replace(
    "resource: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}",
    "resource: {type: lb_server.yaml, properties: {pool: web-pool}}",
).replace("scaling_adjustment: 4", "scaling_adjustment: 3")


def test_a_scale_out_of_template_members_resumes_on_another_worker(
    deployment: Deployment,
) -> None:
    """Killed while the new members' servers boot: the takeover finishes them and
    adds each to the pool once, after it is ACTIVE (the fence covers nested stacks)."""
    sim = deployment.start_sim(build_delay=3.0)
    pool = sim.create_loadbalancer("web")["pools"][0]["id"]
    deployment.configure(octavia={"endpoint_override": sim.lb_endpoint, "drain_timeout": 0.2})
    deployment.start_workers(2)
    stack_id, _ = deployment.create_stack("web", LB_GROUP, files={"lb_server.yaml": LB_SERVER})
    stack = deployment.wait_settled(stack_id, timeout=60)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    service, ctx = deployment.service, deployment.ctx
    group_id = service.show_group(ctx, "web/asg")["id"]

    receipt = service.execute_policy(ctx, "web", "up")
    flow_id = receipt["flow_id"]
    eventually(
        lambda: len(sim.servers(live=True)) == 4 and deployment.flow(flow_id).owner,
        20,
        "the three new servers to be booting",
    )
    victim = deployment.worker(deployment.flow(flow_id).owner)
    killed_at = deployment.kill(victim)
    deployment.wait_takeover(flow_id, victim.name, killed_at, timeout=TAKEOVER_TIMEOUT)

    def settled() -> dict | None:
        with deployment.db().read_connection() as connection:
            row = groups.get(connection, group_id)
        return None if row.active_flow_id else service.show_group(ctx, group_id)

    group = eventually(settled, 60, "the scale-out to finish")
    assert (group["desired_capacity"], group["current_size"]) == (4, 4)
    assert service.show_scale_event(ctx, receipt["receipt_id"])["status"] == "COMPLETE"
    servers = sim.servers()
    assert len(servers) == 4, "a server was booted twice"
    members = sim.pool_members(pool)
    assert sorted(m["address"] for m in members) == sorted(
        s["addresses"][0] for s in sim.servers(live=True)
    )
