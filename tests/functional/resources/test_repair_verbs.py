"""The operator's verbs on real failures produced through the Nova simulator."""

from __future__ import annotations

import collections
import time

from flowstack.db import flow_records as flows
from tests.functional.resources.conftest import Cloud
from tests.functional.resources.test_server_stacks import assert_no_orphans, servers

TAG_RESOURCE = "flowstack:resource"


def _flow_id(cloud: Cloud, stack: str) -> str:
    stack_id = cloud.service.show_stack(cloud.ctx, stack)["id"]
    with cloud.rt.db.reader() as session:
        return flows.for_stack(session, stack_id)[-1].id


def _settle(cloud: Cloud, stack: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        shown = cloud.service.show_stack(cloud.ctx, stack)
        if not shown["stack_status"].endswith("IN_PROGRESS"):
            cloud.dispatcher.wait_all()
            return cloud.service.show_stack(cloud.ctx, stack)
        assert time.monotonic() < deadline, shown["stack_status"]
        time.sleep(0.05)


def _boots_per_resource(cloud: Cloud) -> collections.Counter:
    return collections.Counter(
        (s.get("metadata") or {}).get(TAG_RESOURCE) for s in cloud.sim.all_servers()
    )


def test_retry_after_lifting_the_fault_creates_only_what_failed(cloud: Cloud) -> None:
    cloud.sim.set_faults(
        build_errors=[{"metadata": {TAG_RESOURCE: "server3"}, "message": "No valid host"}]
    )
    stack = cloud.create("retry", servers(4), disable_rollback=True)
    assert stack["stack_status"] == "CREATE_FAILED"
    cloud.sim.clear_faults()  # the operator fixed the cloud

    cloud.service.retry_flow(cloud.ctx, _flow_id(cloud, "retry"))
    assert _settle(cloud, "retry")["stack_status"] == "CREATE_COMPLETE"
    boots = _boots_per_resource(cloud)
    # the servers that had succeeded were not booted again; server3 twice (ERROR, then ok)
    assert boots["server3"] == 2
    assert all(boots[f"server{n}"] == 1 for n in (1, 2, 4))
    assert_no_orphans(cloud)
    assert len(cloud.sim.live_servers()) == 4


def test_revert_of_a_failed_create_with_rollback_disabled_leaves_zero_servers(
    cloud: Cloud,
) -> None:
    cloud.sim.set_faults(
        build_errors=[{"metadata": {TAG_RESOURCE: "server2"}, "message": "No valid host"}]
    )
    cloud.create("kept", servers(3), disable_rollback=True)
    assert cloud.sim.live_servers()  # what the failed create left
    cloud.service.revert_flow(cloud.ctx, _flow_id(cloud, "kept"))
    assert _settle(cloud, "kept")["stack_status"] == "ROLLBACK_COMPLETE"
    assert cloud.sim.live_servers() == []
    assert_no_orphans(cloud)


def test_cancel_of_a_50_server_create_stops_and_rolls_back(cloud: Cloud) -> None:
    cloud.sim.set_delays(build_delay=30)
    flow_id = cloud.start("big", servers(50))
    deadline = time.monotonic() + 30
    while len(cloud.sim.live_servers()) < 10:  # well under way
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cloud.sim.set_delays(delete_delay=0.05)
    started = time.monotonic()
    cloud.service.cancel_flow(cloud.ctx, flow_id)
    stack = _settle(cloud, "big")
    assert time.monotonic() - started < 25  # it did not wait for the 30 s builds
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "cancelled by alice" in stack["stack_status_reason"]
    assert cloud.sim.live_servers() == []
    assert_no_orphans(cloud)
