"""Work that no worker can finish is set aside; work no worker is there for waits.

* A flow whose workers die in a row at the same step is quarantined after
  ``[jobboard] max_stalled_takeovers`` such deaths, with one entry per
  attempt in its history, and its stack is CREATE_FAILED naming the
  quarantine: it does not cycle through fresh workers forever.  Workers
  killed while a flow progresses are not its failure, however many.
* With no worker running, an accepted stack stays CREATE_IN_PROGRESS with
  its job on the board (also after its only worker was killed and the claim
  lapsed), and the next worker to start picks it up and completes it.
"""

from __future__ import annotations

import time

import pytest

from tests.functional.crash.harness import Deployment, eventually

pytestmark = pytest.mark.slow

CLAIM_EXPIRY = 3.0
MAX_STALLED = 2

POISON = """
heat_template_version: 2018-08-31
resources:
  early: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  slow:
    type: OS::Heat::TestResource
    properties: {value: never, action_wait_secs: {create: 600}}
  late:
    type: OS::Nova::Server
    properties: {image: cirros, flavor: m1.tiny}
    depends_on: slow
"""

SERVERS = """
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  b: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
"""


def test_a_flow_killing_every_worker_is_quarantined(deployment: Deployment) -> None:
    """Its workers die in a row at the same step: a crash loop, set aside with its history.

    The first worker gets as far as booting ``early`` before it dies: that
    was progress, so its death does not count.  The next ones die with no
    step finished; after ``max_stalled_takeovers`` of them, the flow is
    quarantined instead of being handed to yet another worker.
    """
    sim = deployment.start_sim(build_delay=0.5)
    deployment.configure(jobboard={"max_stalled_takeovers": MAX_STALLED})
    (worker,) = deployment.start_workers(1)
    stack_id, flow_id = deployment.create_stack("poison", POISON)

    victims = []
    for attempt in range(1, MAX_STALLED + 2):
        eventually(
            lambda w=worker: deployment.flow(flow_id).owner == w.name,
            CLAIM_EXPIRY + 30,
            f"attempt {attempt} to be claimed by {worker.label}",
        )
        eventually(
            lambda: (
                deployment.resources(stack_id)["slow"]["resource_status"] == "CREATE_IN_PROGRESS"
                and sim.servers(stack_id)
                # Not between Nova's answer and the row recording the id: the
                # flow is quarantined, nobody would adopt the server then.
                and deployment.resources(stack_id)["early"]["physical_resource_id"]
            ),
            30,
            "the flow to be under way (slow waiting, early booted)",
        )
        deployment.kill(worker)
        victims.append(worker.name)
        (worker,) = deployment.start_workers(1)

    # The next claim finds a crash loop: the flow is set aside, not run again.
    flow = deployment.wait_flow(flow_id, "QUARANTINED", timeout=CLAIM_EXPIRY + 30)
    assert flow.owner == worker.name
    assert (flow.attempts, flow.failed_runs, flow.stalled_takeovers) == (
        MAX_STALLED + 2,
        0,
        MAX_STALLED,
    )
    history = flow.errors
    assert [e["owner"] for e in history] == [*victims, worker.name], history
    assert all("stopped before finishing" in e["error"] for e in history[:-1]), history
    assert f"died {MAX_STALLED} times in a row without finishing a step" in history[-1]["error"]
    assert flow.last_error == history[-1]["error"]

    stack = deployment.stack(stack_id)
    assert stack["stack_status"] == "CREATE_FAILED"
    assert "quarantined" in stack["stack_status_reason"]
    assert "crash loop" in stack["stack_status_reason"]
    assert flow_id in stack["stack_status_reason"]
    eventually(lambda: flow_id not in deployment.jobs(), 30, "the job to be consumed")
    # Watch past the reaper's horizon (dead_after 2 s): nobody runs it again.
    watch_until = time.monotonic() + 2.5
    while time.monotonic() < watch_until:
        assert deployment.flow(flow_id).attempts == MAX_STALLED + 2
        assert flow_id not in deployment.jobs()
        time.sleep(0.25)

    # Four workers came and went; the server was still created only once,
    # and the one that depends on the poisoned resource never.
    deployment.assert_servers_created_once(stack_id, ["early"])
    deployment.assert_no_orphans()
    assert worker.alive()
    assert sim.live_ids() == {deployment.resources(stack_id)["early"]["physical_resource_id"]}


STEPS = "heat_template_version: 2018-08-31\nresources:\n" + "".join(
    f"  s{n}:\n    type: OS::Heat::TestResource\n"
    f"    properties: {{value: v{n}, action_wait_secs: {{create: 1}}}}\n"
    + (f"    depends_on: s{n - 1}\n" if n else "")
    for n in range(6)
)


def test_workers_killed_while_a_flow_progresses_never_fail_it(deployment: Deployment) -> None:
    """More kills than any limit, each after the flow finished a step: it completes."""
    deployment.start_sim()
    deployment.configure(jobboard={"max_attempts": 1, "max_stalled_takeovers": 1})
    (worker,) = deployment.start_workers(1)
    stack_id, flow_id = deployment.create_stack("restarted", STEPS)
    for n in range(1, 5):
        eventually(
            lambda n=n: (
                deployment.resources(stack_id)[f"s{n}"]["resource_status"] == "CREATE_IN_PROGRESS"
            ),
            CLAIM_EXPIRY + 30,
            f"s{n} to start",
        )
        deployment.kill(worker)
        (worker,) = deployment.start_workers(1)
    settled = eventually(
        lambda: (s := deployment.stack(stack_id))["stack_status"] != "CREATE_IN_PROGRESS" and s,
        CLAIM_EXPIRY + 60,
        "the stack to settle",
    )
    assert settled["stack_status"] == "CREATE_COMPLETE", settled["stack_status_reason"]
    flow = deployment.flow(flow_id)
    assert (flow.state, flow.failed_runs, flow.stalled_takeovers) == ("SUCCESS", 0, 0)
    assert flow.attempts == 5


def test_accepted_work_waits_for_a_worker(deployment: Deployment, takeover) -> None:
    sim = deployment.start_sim(build_delay=3.0)
    deployment.configure()
    accepted = [deployment.create_stack(f"waiting-{n}", SERVERS) for n in range(2)]
    flow_ids = {flow_id for _, flow_id in accepted}

    def still_waiting(claimed: bool) -> None:
        for stack_id, flow_id in accepted:
            assert deployment.stack(stack_id)["stack_status"] == "CREATE_IN_PROGRESS"
            flow = deployment.flow(flow_id)
            assert flow.state == ("RUNNING" if claimed else "PENDING")
        assert deployment.jobs() == dict.fromkeys(flow_ids, "UNCLAIMED")

    # No worker at all: nothing moves, for as long as we watch.
    watch_until = time.monotonic() + 1.5
    while time.monotonic() < watch_until:
        still_waiting(claimed=False)
        time.sleep(0.1)
    assert sim.servers() == []

    # A worker comes, starts both stacks, and is killed while servers build.
    (first,) = deployment.start_workers(1)

    def building() -> bool:
        return len([s for s in sim.servers() if s["status"] == "BUILD"]) == 4

    eventually(building, 10, "the four servers to be building")
    deployment.kill(first)

    # Nobody left: the claims lapse, the jobs stay on the board, unclaimed.
    eventually(
        lambda: deployment.jobs() == dict.fromkeys(flow_ids, "UNCLAIMED"),
        CLAIM_EXPIRY + 5,
        "the dead worker's claims to lapse",
    )
    still_waiting(claimed=True)  # still owned by the dead worker, still resumable

    started_at = time.monotonic()
    (second,) = deployment.start_workers(1)
    for _, flow_id in accepted:
        owner, _ = deployment.wait_takeover(flow_id, first.name, started_at, timeout=60)
        assert owner == second.name
    takeover(time.monotonic() - started_at, "no worker up: from starting one to it owning both")
    for stack_id, flow_id in accepted:
        stack = deployment.wait_settled(stack_id)
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        deployment.wait_flow(flow_id, "SUCCESS")
        deployment.assert_servers_created_once(stack_id, ["a", "b"])
    deployment.assert_no_orphans()
    assert len(sim.live_ids()) == 4
    eventually(lambda: deployment.jobs() == {}, 10, "the jobs to be consumed")
