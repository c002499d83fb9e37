"""Workers claim flows from each real jobboard backend, resume, reap and quarantine."""

from __future__ import annotations

import time

from flowstack.db import flow_records as flows
from tests.functional.worker.conftest import Cluster
from tests.jobboard_servers import every_jobboard

TEMPLATE = """
heat_template_version: 2018-08-31
resources:
  a: {type: OS::Heat::TestResource, properties: {value: one}}
  b:
    type: OS::Heat::TestResource
    properties: {value: {get_attr: [a, output]}, action_wait_secs: {create: 0.3}}
"""


def _settled(stack: dict) -> bool:
    return not stack["stack_status"].endswith("IN_PROGRESS")


@every_jobboard
def test_accepted_work_waits_for_a_worker_and_is_then_run(cluster: Cluster) -> None:
    created = cluster.service.create_stack(cluster.ctx, "waiting", TEMPLATE)
    time.sleep(0.5)
    assert (
        cluster.service.show_stack(cluster.ctx, "waiting")["stack_status"] == "CREATE_IN_PROGRESS"
    )
    assert [job.details["flow_uuid"] for job in cluster.jobs()] == [created["flow_id"]]

    cluster.start_worker()
    stack = cluster.wait_for("waiting", _settled)
    assert stack["stack_status"] == "CREATE_COMPLETE"
    deadline = time.monotonic() + 10
    while cluster.jobs():  # the finished flow's job is consumed
        assert time.monotonic() < deadline
        time.sleep(0.05)


@every_jobboard
def test_a_flow_whose_post_was_lost_is_reposted_by_the_reaper(cluster: Cluster) -> None:
    cluster.route.target = type("Lost", (), {"dispatch": lambda self, flow_id: None})()
    cluster.service.create_stack(cluster.ctx, "orphan", TEMPLATE)
    assert cluster.jobs() == []
    cluster.start_worker()
    assert cluster.wait_for("orphan", _settled)["stack_status"] == "CREATE_COMPLETE"


@every_jobboard
def test_a_flow_abandoned_by_every_worker_is_quarantined(cluster: Cluster) -> None:
    cluster.rt.conf.set_override("max_stalled_takeovers", 3, group="jobboard")
    created = cluster.service.create_stack(cluster.ctx, "poison", TEMPLATE)
    with cluster.rt.db.writer() as session:  # three workers died on it, doing nothing
        for n in range(3):
            flows.claim(session, created["flow_id"], f"dead-{n}")
    cluster.start_worker()
    stack = cluster.wait_for("poison", _settled)
    assert stack["stack_status"] == "CREATE_FAILED"
    assert "quarantined" in stack["stack_status_reason"]
    assert "crash loop" in stack["stack_status_reason"]
    deadline = time.monotonic() + 10
    while cluster.jobs():  # quarantined: consumed, not cycled
        assert time.monotonic() < deadline
        time.sleep(0.05)
