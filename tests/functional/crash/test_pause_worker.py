"""A worker paused past its claim's expiry loses the flow and writes nothing after.

SIGSTOP freezes the owner of a stack create while its servers build; its
claim lapses, the other worker takes the flow over (bumping the flow's
fencing epoch) and finishes it.  Then SIGCONT: the stale worker wakes up in
the middle of its poll loop and tries to carry on.  Every write it attempts
must be refused by the fence, so the rows the new owner left (flow, stack,
resources, events, TaskFlow's flow and atom details) stay exactly as they
were, and no server is created or deleted twice.

Two more tests pause the worker at narrower points; each first reproduced
a bug, and now guards its fix (see their docstrings).
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.functional.crash.harness import Deployment, eventually

pytestmark = pytest.mark.slow

TEMPLATE = """
heat_template_version: 2018-08-31
resources:
  s1: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  s2: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  s3: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
"""
NAMES = ["s1", "s2", "s3"]
#: How long the woken worker is watched for writes once it was fenced.
WATCH = 3.0


def freeze(deployment: Deployment, worker) -> float:
    """SIGSTOP ``worker`` outside any database transaction; returns when."""
    for _ in range(5):
        worker.signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        time.sleep(0.5)  # let the other processes' transactions end
        if not deployment.stalled_transactions(idle_for=0.4):
            return frozen_at
        worker.signal(signal.SIGCONT)
        time.sleep(0.1)
    pytest.fail("the worker was caught inside a transaction five times in a row")


def test_paused_worker_is_fenced_after_takeover(deployment: Deployment, takeover) -> None:
    sim = deployment.start_sim(build_delay=4.0)
    deployment.configure()
    deployment.start_workers(2)
    stack_id, flow_id = deployment.create_stack("paused", TEMPLATE)

    def all_building() -> bool:
        recorded = {r["physical_resource_id"] for r in deployment.resources(stack_id).values()}
        building = {s["id"] for s in sim.servers(stack_id) if s["status"] == "BUILD"}
        return "" not in recorded and recorded == building

    eventually(all_building, 10, "every server to be in BUILD with its id recorded")
    paused = deployment.worker(deployment.flow(flow_id).owner)
    epoch = deployment.flow(flow_id).epoch

    # Frozen inside a write, it would hold the flow's row lock and block the
    # takeover until it wakes: see test_paused_inside_a_write_is_still_taken_over.
    paused_at = freeze(deployment, paused)

    owner, seconds = deployment.wait_takeover(flow_id, paused.name, paused_at, timeout=60)
    takeover(seconds, "SIGSTOP")
    stack = deployment.wait_settled(stack_id)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    deployment.wait_flow(flow_id, "SUCCESS")
    eventually(lambda: flow_id not in deployment.jobs(), 10, "the job to be consumed")
    finished = deployment.snapshot(stack_id, flow_id)
    flow = deployment.flow(flow_id)
    assert (flow.owner, flow.epoch) == (owner, epoch + 1)
    servers_before = sim.servers(stack_id)

    log_before = len(paused.log_text())
    paused.signal(signal.SIGCONT)
    eventually(
        lambda: "was taken over" in paused.log_text()[log_before:],
        10,
        "the woken worker to find out it was fenced",
    )
    deadline = time.monotonic() + WATCH
    while time.monotonic() < deadline:
        assert deployment.snapshot(stack_id, flow_id) == finished, "the stale worker wrote"
        time.sleep(0.25)
    assert paused.alive(), "the stale worker died instead of standing down"

    assert sim.servers(stack_id) == servers_before  # nothing created or deleted since
    deployment.assert_servers_created_once(stack_id, NAMES)
    deployment.assert_no_orphans()
    assert len(sim.live_ids()) == 3
    flow = deployment.flow(flow_id)
    assert flow.attempts == 2
    assert [e["owner"] for e in flow.errors] == [paused.name], flow.errors


def test_paused_before_the_boot_call_boots_nothing_after_takeover(
    deployment: Deployment,
) -> None:
    """Paused after recording its intent, before asking Nova to boot the server.

    The create task writes its intent (fenced), then looks up flavor and
    image and calls ``servers.create``.  A worker paused in that window (here:
    while its flavor lookup hangs) is taken over; the new owner finds no
    tagged server, boots one and completes the stack.  Before the fix the
    stale worker then woke and booted a second server, tagged for the
    resource but recorded nowhere; now the plugin's ``guard()`` checks the
    fence just before the boot and the stale worker boots nothing.
    """
    sim = deployment.start_sim(build_delay=1.0)
    deployment.configure()
    template = "heat_template_version: 2018-08-31\nresources:\n" + (
        "  s1: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}\n"
    )
    stack_id, flow_id = deployment.create_stack("paused-before-boot", template)
    # The first worker's flavor lookup (between the intent and the boot) hangs.
    sim.set_faults(
        {
            "lost_responses": [
                {
                    "method": "GET",
                    "path": "/flavors/detail$",
                    "mode": "delay",
                    "delay": 5,
                    "times": 1,
                }
            ]
        }
    )
    (paused,) = deployment.start_workers(1)
    eventually(
        lambda: (
            sim.faults()["lost_responses"][0]["fired"] == 1
            and deployment.resources(stack_id)["s1"]["resource_status"] == "CREATE_IN_PROGRESS"
        ),
        10,
        "the first worker to record its intent and wait for the flavor lookup",
    )
    frozen_at = freeze(deployment, paused)
    deployment.start_workers(1)
    deployment.wait_takeover(flow_id, paused.name, frozen_at, timeout=60)
    stack = deployment.wait_settled(stack_id)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    eventually(lambda: flow_id not in deployment.jobs(), 10, "the job to be consumed")

    log_before = len(paused.log_text())
    paused.signal(signal.SIGCONT)
    eventually(
        lambda: "was taken over" in paused.log_text()[log_before:],
        15,
        "the woken worker to find out it was fenced",
    )
    deployment.assert_servers_created_once(stack_id, ["s1"])
    deployment.assert_no_orphans()


def _catch_inside_a_write(deployment: Deployment, worker) -> float:
    """SIGSTOP ``worker`` inside a fenced write (flow row locked); returns when."""
    for _ in range(100):
        worker.signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        time.sleep(0.3)
        if deployment.stalled_transactions(idle_for=0.2, locking_flows=True):
            return frozen_at
        worker.signal(signal.SIGCONT)
        time.sleep(0.05)
    pytest.fail("could not catch the worker inside a transaction")


def test_paused_inside_a_write_is_still_taken_over(deployment: Deployment, takeover) -> None:
    """Paused in the middle of one of its (frequent) fenced writes.

    Every fenced write locks the flow's row (``SELECT ... FOR UPDATE``) for
    its transaction.  A worker frozen inside one keeps the transaction open
    ("idle in transaction") with the lock held, and before the fix the other
    worker's claim (``UPDATE flows SET epoch = ...``) waited on that lock for
    as long as the frozen worker slept (seen: no takeover after 20 s).  Now
    the database ends a transaction idle for longer than the claim expiry.
    """
    deployment.start_sim()
    deployment.configure(engine={"poll_checkpoint_secs": 0.1})
    deployment.start_workers(2)
    template = "heat_template_version: 2018-08-31\nresources:\n" + "".join(
        f"  r{n}:\n    type: OS::Heat::TestResource\n"
        "    properties: {action_wait_secs: {create: 120}}\n"
        for n in range(20)
    )
    stack_id, flow_id = deployment.create_stack("frozen-in-a-write", template)
    eventually(
        lambda: all(
            r["resource_status"] == "CREATE_IN_PROGRESS"
            for r in deployment.resources(stack_id).values()
        ),
        10,
        "every resource to be waiting",
    )
    frozen = deployment.worker(deployment.flow(flow_id).owner)
    frozen_at = _catch_inside_a_write(deployment, frozen)
    # Within the claim expiry plus the database's idle-transaction timeout (3 s
    # each) on a quiet machine; the limit is generous for a loaded one, and
    # the figure measured is printed with the other takeover times.
    _, seconds = deployment.wait_takeover(flow_id, frozen.name, frozen_at, timeout=60.0)
    takeover(seconds, "SIGSTOP inside a write")
