"""Redis restarts in the middle of a run and comes back empty: nothing accepted is lost.

The jobboard of this test is a private, memory-only ``redis-server``.
Several stacks are accepted; some are running, some wait on the board
(each worker runs one flow at a time), then Redis is stopped: every job
and claim is gone.  One more stack is accepted while Redis is down (its
post fails; the engine still answers with its id).  Redis comes back
empty.  Workers reconnect; running flows finish; the reaper re-posts the
flows whose job vanished; every accepted stack ends CREATE_COMPLETE, with
each server created once and no orphan.
"""

from __future__ import annotations

import time

import pytest

from tests.functional.crash.harness import Deployment, eventually

pytestmark = pytest.mark.slow

TEMPLATE = """
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  b: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
"""


def test_every_accepted_stack_survives_a_redis_restart(deployment: Deployment) -> None:
    deployment.start_redis()
    sim = deployment.start_sim(build_delay=3.0)
    deployment.configure(worker={"concurrent_flows": 1, "orphan_grace": 1.0})
    deployment.start_workers(2)
    accepted = [deployment.create_stack(f"before-{n}", TEMPLATE) for n in range(4)]

    def two_running() -> bool:
        owners = [deployment.flow(flow_id).owner for _, flow_id in accepted]
        return len([o for o in owners if o]) == 2

    eventually(two_running, 10, "two flows to run while two wait on the board")
    assert len(deployment.jobs()) == 4

    deployment.stop_redis()
    accepted.append(deployment.create_stack("during-outage", TEMPLATE))  # post fails
    time.sleep(1.0)  # an outage every worker loop (claims, conductor, reaper) runs into
    deployment.start_redis()  # a new, empty redis-server on the same port

    for stack_id, flow_id in accepted:
        stack = deployment.wait_settled(stack_id, timeout=60)
        assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
        deployment.wait_flow(flow_id, "SUCCESS")
        deployment.assert_servers_created_once(stack_id, ["a", "b"])
    deployment.assert_no_orphans()
    assert len(sim.live_ids()) == 2 * len(accepted)
    assert all(w.alive() for w in deployment.workers), "a worker died with Redis"
    eventually(lambda: deployment.jobs() == {}, 10, "no job to be left on the board")
