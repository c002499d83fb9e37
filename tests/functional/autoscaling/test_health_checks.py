"""Idle groups are checked at the configured interval, not at every reaper pass."""

from __future__ import annotations

import time

from flowstack.execution import converge, runner
from tests.functional.autoscaling.conftest import ScalingCloud, heat_example

INTERVAL = 1.0
WATCH = 4.0


def test_an_idle_group_is_checked_once_per_interval(scaling: ScalingCloud) -> None:
    created = scaling.create("web", heat_example(desired=2))
    assert created["stack_status"] == "CREATE_COMPLETE"
    group = scaling.wait_idle("web/asg")
    checks_before = len(scaling.converge_flows(group["id"]))

    # A reaper passing ten times a second, as busy as any worker's could be.
    started = time.monotonic()
    while time.monotonic() - started < WATCH:
        for flow_id in converge.start_due_checks(scaling.rt, INTERVAL):
            runner.start_recorded(scaling.rt, flow_id)
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    scaling.wait_idle("web/asg")

    checks = len(scaling.converge_flows(group["id"])) - checks_before
    # One per interval at most (the group was checked when it was created), and
    # at least one: an idle group is still looked at.
    assert 1 <= checks <= elapsed / INTERVAL + 1, checks
