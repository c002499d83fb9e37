"""SIGKILL the worker that runs a stack create, at each dangerous point.

Two worker processes share a PostgreSQL (or MariaDB) database, a jobboard
(claims expire after 3 s, renewed every 0.5 s; on ZooKeeper the session
times out after 3 s) and a Nova simulator process.  The test process plays
the engine.  The kill while the servers build and the kill during the
rollback run on every jobboard backend (Redis, Redis through Sentinel, etcd,
ZooKeeper); the other kill points on Redis.  For each kill point the other
worker must take the flow over, and afterwards:

* the stack ends CREATE_COMPLETE (ROLLBACK_COMPLETE when a fault was injected);
* each server resource was created exactly once (the simulator's admin view
  lists every server ever created, counted by the ``flowstack:resource`` tag);
* the servers alive in the simulator are exactly those the live stacks hold.
"""

from __future__ import annotations

import pytest

from flowstack.resources.types.nova_server import TAG_RESOURCE
from tests.functional.crash.harness import Deployment, eventually
from tests.jobboard_servers import every_jobboard

pytestmark = pytest.mark.slow

#: How long a takeover may take before the test gives up: generous for a loaded
#: machine (measured takeovers, printed at the end of the run, are the claim
#: expiry of 3 s plus well under 2 s on a quiet one).
TAKEOVER_TIMEOUT = 60.0


def servers(*names: str, depends_on: str | None = None) -> str:
    lines = []
    for name in names:
        lines.append(f"  {name}:")
        lines.append("    type: OS::Nova::Server")
        lines.append("    properties: {image: cirros, flavor: m1.tiny}")
        if depends_on:
            lines.append(f"    depends_on: {depends_on}")
    return "\n".join(lines) + "\n"


HEADER = "heat_template_version: 2018-08-31\nresources:\n"


def resource_state(deployment: Deployment, stack: str, name: str) -> str:
    return deployment.resources(stack)[name]["resource_status"]


def kill_owner_and_time_takeover(deployment: Deployment, flow_id: str, takeover) -> tuple[str, str]:
    """SIGKILL the flow's owner; returns (victim, new owner) once another took over."""
    victim = deployment.worker(deployment.flow(flow_id).owner)
    killed_at = deployment.kill(victim)
    owner, seconds = deployment.wait_takeover(
        flow_id, victim.name, killed_at, timeout=TAKEOVER_TIMEOUT
    )
    takeover(seconds)
    assert owner in {w.name for w in deployment.workers}
    return victim.name, owner


def assert_resumed_elsewhere(
    deployment: Deployment, flow_id: str, victim: str, state: str = "SUCCESS"
) -> None:
    """One takeover, recorded in the flow's history; finished by the new owner."""
    flow = deployment.wait_flow(flow_id, state)
    assert flow.owner != victim
    assert flow.attempts == 2, flow.errors
    assert flow.errors[0]["owner"] == victim, flow.errors
    assert "stopped before finishing" in flow.errors[0]["error"]
    # A reverted flow also records its failure, under the new owner.
    assert [e["owner"] for e in flow.errors[1:]] == ([flow.owner] if state == "REVERTED" else [])
    eventually(lambda: flow_id not in deployment.jobs(), 10, "the job to be consumed")


def test_killed_before_the_nova_create(deployment: Deployment, takeover) -> None:
    """Killed while a resource the servers depend on is still being created."""
    deployment.start_sim(build_delay=2.0)
    deployment.configure()
    deployment.start_workers(2)
    template = (
        HEADER
        + "  gate:\n"
        + "    type: OS::Heat::TestResource\n"
        + "    properties: {value: open, action_wait_secs: {create: 2}}\n"
        + servers("s1", "s2", depends_on="gate")
    )
    stack_id, flow_id = deployment.create_stack("before-create", template)
    eventually(
        lambda: resource_state(deployment, stack_id, "gate") == "CREATE_IN_PROGRESS",
        10,
        "the gate resource to be in progress",
        interval=0.02,
    )
    assert deployment.sim.servers(stack_id) == []  # nothing asked of Nova yet

    victim, _ = kill_owner_and_time_takeover(deployment, flow_id, takeover)

    stack = deployment.wait_settled(stack_id)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    deployment.assert_servers_created_once(stack_id, ["s1", "s2"])
    deployment.assert_no_orphans()
    assert len(deployment.sim.live_ids()) == 2
    assert_resumed_elsewhere(deployment, flow_id, victim)


def test_killed_between_the_nova_create_and_its_reply(deployment: Deployment, takeover) -> None:
    """Nova created the server but its reply has not arrived when the worker dies."""
    sim = deployment.start_sim(build_delay=2.0)
    deployment.configure()
    deployment.start_workers(2)
    # The reply to s1's create comes a minute late: the server exists, the
    # worker does not know its id yet.
    sim.set_faults(
        {
            "lost_responses": [
                {"mode": "delay", "delay": 60, "times": 1, "metadata": {TAG_RESOURCE: "s1"}}
            ]
        }
    )
    stack_id, flow_id = deployment.create_stack("lost-reply", HEADER + servers("s1", "s2"))

    def create_pending() -> bool:
        exists = sim.created_per_resource(stack_id)["s1"] == 1
        return exists and not deployment.resources(stack_id)["s1"]["physical_resource_id"]

    eventually(create_pending, 10, "s1 to exist in Nova, unknown to the database")
    assert sim.faults()["lost_responses"][0]["fired"] == 1

    victim, _ = kill_owner_and_time_takeover(deployment, flow_id, takeover)

    stack = deployment.wait_settled(stack_id)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    deployment.assert_servers_created_once(stack_id, ["s1", "s2"])  # s1 adopted, not rebooted
    deployment.assert_no_orphans()
    assert len(deployment.sim.live_ids()) == 2
    assert_resumed_elsewhere(deployment, flow_id, victim)


@every_jobboard
def test_killed_while_waiting_for_active(deployment: Deployment, takeover) -> None:
    """Every server is booting (BUILD, its id recorded) when the worker dies."""
    sim = deployment.start_sim(build_delay=4.0)
    deployment.configure()
    deployment.start_workers(2)
    names = ["s1", "s2", "s3"]
    stack_id, flow_id = deployment.create_stack("building", HEADER + servers(*names))

    def all_building() -> bool:
        recorded = {r["physical_resource_id"] for r in deployment.resources(stack_id).values()}
        building = {s["id"] for s in sim.servers(stack_id) if s["status"] == "BUILD"}
        return "" not in recorded and recorded == building

    eventually(all_building, 10, "every server to be in BUILD with its id recorded")

    victim, _ = kill_owner_and_time_takeover(deployment, flow_id, takeover)

    stack = deployment.wait_settled(stack_id)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    deployment.assert_servers_created_once(stack_id, names)
    deployment.assert_no_orphans()
    assert len(sim.live_ids()) == 3
    assert_resumed_elsewhere(deployment, flow_id, victim)


@every_jobboard
def test_killed_during_rollback(deployment: Deployment, takeover) -> None:
    """One server fails its build; the worker dies while the rollback deletes servers."""
    sim = deployment.start_sim(build_delay=1.0, delete_delay=3.0)
    deployment.configure()
    deployment.start_workers(2)
    sim.set_faults(
        {"build_errors": [{"metadata": {TAG_RESOURCE: "bad"}, "message": "No valid host"}]}
    )
    names = ["s1", "s2", "bad"]
    stack_id, flow_id = deployment.create_stack("rolling-back", HEADER + servers(*names))

    def deleting() -> bool:
        states = [r["resource_status"] for r in deployment.resources(stack_id).values()]
        return "DELETE_IN_PROGRESS" in states

    eventually(deleting, 15, "the rollback to start deleting", interval=0.02)
    assert sim.live_ids(), "the rollback should still have servers to delete"

    victim, _ = kill_owner_and_time_takeover(deployment, flow_id, takeover)

    stack = deployment.wait_settled(stack_id)
    assert stack["stack_status"] == "ROLLBACK_COMPLETE", stack["stack_status_reason"]
    assert "No valid host" in stack["stack_status_reason"]
    assert {r["resource_status"] for r in deployment.resources(stack_id).values()} == {
        "DELETE_COMPLETE"
    }
    deployment.assert_servers_created_once(stack_id, names)
    deployment.assert_no_orphans()
    assert sim.live_ids() == set()
    assert_resumed_elsewhere(deployment, flow_id, victim, state="REVERTED")
