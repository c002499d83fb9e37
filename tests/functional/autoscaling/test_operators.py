"""Operators and scaling groups: cancel a scale flow, the verbs that do not apply, orphans."""

from __future__ import annotations

import time

import pytest

from flowstack import exceptions
from flowstack.db import flow_records as flow_states
from tests.functional.autoscaling.conftest import ScalingCloud, heat_example


def running_flow(scaling: ScalingCloud, flow_id: str) -> None:
    deadline = time.monotonic() + 10
    while scaling.service.show_flow(scaling.ctx, flow_id)["state"] != flow_states.RUNNING:
        assert time.monotonic() < deadline, "the scale flow never started"
        time.sleep(0.02)


def test_a_cancelled_scale_out_returns_the_group_to_its_size(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=6, desired=1))
    before = scaling.live_server_ids()
    scaling.sim.set_delays(build_delay=2.0)
    receipt = scaling.service.resize_group(scaling.ctx, "web/asg", 4)
    running_flow(scaling, receipt["flow_id"])
    scaling.service.cancel_flow(scaling.ctx, receipt["flow_id"])
    group = scaling.wait_idle("web/asg")
    assert (group["desired_capacity"], group["current_size"]) == (1, 1)
    event = scaling.service.show_scale_event(scaling.ctx, receipt["receipt_id"])
    assert event["status"] == "FAILED" and "cancelled" in event["reason"]
    assert scaling.live_server_ids() == before
    # A scale flow is not retried: a new trigger is what asks for members again.
    with pytest.raises(exceptions.IllegalFlowTransition, match="not run twice"):
        scaling.service.retry_flow(scaling.ctx, receipt["flow_id"])
    scaling.assert_no_orphans()


def test_members_of_a_live_group_are_not_orphans(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=6, desired=3))
    assert scaling.service.list_orphans(scaling.ctx) == []
    member = scaling.group("web/asg")["members"][0]
    scaling.sim.client().servers.delete(member["physical_id"])
    deadline = time.monotonic() + 10
    while member["physical_id"] in scaling.live_server_ids():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    missing = scaling.service.list_orphans(scaling.ctx)
    assert [(o["kind"], o["resource"]) for o in missing] == [("missing", member["name"])]
