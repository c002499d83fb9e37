"""A flow stuck after every worker died (and its job was lost) is resumed by `flow resume`.

The one worker running a stack create is SIGKILLed while its servers
build, and the jobboard (a private, memory-only Redis) restarts empty, so
the job is gone too.  The reaper is configured not to run, standing for an
outage of every worker: nothing would ever pick the flow up.  The operator
runs `flow resume`; a new worker finishes the stack, each server created
once, nothing orphaned.
"""

from __future__ import annotations

import time

import pytest

from flowstack import exceptions
from tests.functional.crash.harness import Deployment, eventually

pytestmark = pytest.mark.slow

TEMPLATE = """
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  b: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
"""


def test_flow_resume_restarts_a_flow_nobody_would_run(deployment: Deployment) -> None:
    deployment.start_redis()
    deployment.start_sim(build_delay=3.0)
    deployment.configure(worker={"reaper_interval": 3600, "dead_after": 2.0})
    [worker] = deployment.start_workers(1)
    stack_id, flow_id = deployment.create_stack("stuck", TEMPLATE)
    eventually(lambda: deployment.flow(flow_id).owner == worker.name, 10, "the worker to claim")
    eventually(
        lambda: (
            {r["resource_status"] for r in deployment.resources(stack_id).values()}
            == {"CREATE_IN_PROGRESS"}
        ),
        10,
        "both servers to be building",
    )
    deployment.kill(worker)
    deployment.stop_redis()
    deployment.start_redis()  # empty: the job is gone
    [replacement] = deployment.start_workers(1)
    time.sleep(3.0)  # past dead_after: the killed worker counts as gone
    stuck = deployment.flow(flow_id)
    assert (stuck.state, stuck.owner) == ("RUNNING", worker.name)
    assert deployment.jobs() == {}

    # Safe to resume: the owner is gone (a live owner would be refused).
    assert deployment.service is not None
    deployment.service.resume_flow(deployment.ctx, flow_id)
    stack = deployment.wait_settled(stack_id, timeout=60)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    assert deployment.flow(flow_id).owner == replacement.name
    deployment.assert_servers_created_once(stack_id, ["a", "b"])
    deployment.assert_no_orphans()
    with pytest.raises(exceptions.IllegalFlowTransition, match="ended SUCCESS"):
        deployment.service.resume_flow(deployment.ctx, flow_id)
