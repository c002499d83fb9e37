"""Scale flows when members fail: roll back the event, keep partial progress, replace.

The simulator is real HTTP behind novaclient; faults are injected per
member through the ``flowstack:resource`` tag every member server carries.
"""

from __future__ import annotations

from flowstack.resources.types.nova_server import TAG_RESOURCE
from tests.functional.autoscaling.conftest import ScalingCloud

NO_HOST = "No valid host was found. There are not enough hosts available."


def group_template(*, desired: int, max_size: int = 10, **extra: str) -> str:
    options = "".join(f"\n      {key}: {value}" for key, value in extra.items())
    return f"""
heat_template_version: 2016-10-14
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: {max_size}
      desired_capacity: {desired}{options}
      resource: {{type: OS::Nova::Server, properties: {{image: cirros, flavor: m1.tiny}}}}
"""


def test_scale_out_of_five_where_the_third_errors_returns_to_the_previous_size(
    scaling: ScalingCloud,
) -> None:
    scaling.create("web", group_template(desired=2))
    before = scaling.live_server_ids()
    scaling.sim.set_faults(
        build_errors=[{"metadata": {TAG_RESOURCE: "member-5"}, "message": NO_HOST}]
    )  # members 3..7 are the new ones: member-5 is the third of them
    receipt = scaling.service.resize_group(scaling.ctx, "web/asg", 7)
    assert receipt["status"] == "IN_PROGRESS"
    group = scaling.wait_idle("web/asg")
    assert (group["desired_capacity"], group["current_size"]) == (2, 2)
    assert scaling.live_server_ids() == before  # zero extra servers
    event = scaling.service.show_scale_event(scaling.ctx, receipt["receipt_id"])
    assert event["status"] == "FAILED"
    assert NO_HOST in event["reason"] and "member-5" in event["reason"]
    assert "desired capacity reset to 2" in event["decision"]
    assert [m["name"] for m in group["members"]] == ["member-1", "member-2"]
    nested = scaling.service.show_stack(scaling.ctx, group["id"])
    assert nested["stack_status"] == "UPDATE_FAILED"
    scaling.assert_no_orphans()
    # The group scales again once the cloud recovers.
    scaling.sim.clear_faults()
    scaling.service.resize_group(scaling.ctx, "web/asg", 4)
    assert scaling.wait_idle("web/asg")["current_size"] == 4
    scaling.assert_no_orphans()


def test_keep_partial_progress_keeps_the_members_that_were_created(
    scaling: ScalingCloud,
) -> None:
    scaling.create("web", group_template(desired=2, keep_partial_progress="true"))
    scaling.sim.set_faults(
        build_errors=[{"metadata": {TAG_RESOURCE: "member-5"}, "message": NO_HOST}]
    )
    receipt = scaling.service.resize_group(scaling.ctx, "web/asg", 7)
    group = scaling.wait_idle("web/asg")
    assert (group["desired_capacity"], group["current_size"]) == (6, 6)
    assert "member-5" not in [m["name"] for m in group["members"]]
    event = scaling.service.show_scale_event(scaling.ctx, receipt["receipt_id"])
    assert event["status"] == "COMPLETE"
    assert "partial: 4 of 5 new member(s) created" in event["decision"]
    scaling.assert_no_orphans()


def test_members_in_error_or_deleted_out_of_band_are_replaced(scaling: ScalingCloud) -> None:
    scaling.create("web", group_template(desired=3))
    members = {m["name"]: m["physical_id"] for m in scaling.group("web/asg")["members"]}
    scaling.sim.fail_server(members["member-2"], "Host compute-7 lost power")
    scaling.sim.client().servers.delete(members["member-3"])
    # The next convergence (here, one more member) finds both and replaces them.
    scaling.service.resize_group(scaling.ctx, "web/asg", 4)
    group = scaling.wait_idle("web/asg")
    names = [m["name"] for m in group["members"]]
    assert group["current_size"] == 4 and len(names) == 4
    assert "member-2" not in names and "member-3" not in names and "member-1" in names
    assert scaling.live_server_ids() == scaling.member_servers("web/asg")
    found = {
        (e["resource_status"], e["resource_status_reason"])
        for e in scaling.service.list_events(scaling.ctx, group["id"], resource_name="member-2")
    }
    assert any(s == "CHECK_FAILED" and "Host compute-7 lost power" in r for s, r in found)
    scaling.assert_no_orphans()


def test_scale_in_removes_members_in_error_first(scaling: ScalingCloud) -> None:
    scaling.create("web", group_template(desired=4))
    members = {m["name"]: m["physical_id"] for m in scaling.group("web/asg")["members"]}
    scaling.sim.fail_server(members["member-3"], "disk failure")
    scaling.service.resize_group(scaling.ctx, "web/asg", 3)
    group = scaling.wait_idle("web/asg")
    assert [m["name"] for m in group["members"]] == ["member-1", "member-2", "member-4"]
    scaling.assert_no_orphans()


def test_newest_first_removal_policy(scaling: ScalingCloud) -> None:
    scaling.create("web", group_template(desired=4, removal_policy="newest_first"))
    scaling.service.resize_group(scaling.ctx, "web/asg", 2)
    group = scaling.wait_idle("web/asg")
    assert [m["name"] for m in group["members"]] == ["member-1", "member-2"]
    scaling.assert_no_orphans()


def test_a_group_whose_first_member_fails_rolls_the_stack_back(scaling: ScalingCloud) -> None:
    scaling.sim.set_faults(
        build_errors=[{"metadata": {TAG_RESOURCE: "member-2"}, "message": NO_HOST}]
    )
    stack = scaling.create("web", group_template(desired=3))
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert NO_HOST in stack["stack_status_reason"]
    assert scaling.live_server_ids() == set()
    assert scaling.service.list_groups(scaling.ctx) == []


def test_rolling_updates_replace_broken_members_in_batches(scaling: ScalingCloud) -> None:
    scaling.create(
        "web",
        group_template(
            desired=4, rolling_updates="{max_batch_size: 1, pause_time: 0.2, min_in_service: 2}"
        ),
    )
    members = {m["name"]: m["physical_id"] for m in scaling.group("web/asg")["members"]}
    for name in ("member-1", "member-2"):
        scaling.sim.fail_server(members[name], "rack lost")
    scaling.service.resize_group(scaling.ctx, "web/asg", 5)  # +1, and finds the broken two
    group = scaling.wait_idle("web/asg")
    assert group["current_size"] == 5
    replacement = scaling.converge_flows(group["id"])[-1]
    shown = scaling.service.show_flow(scaling.ctx, replacement.id)
    steps = [s["name"] for s in shown["steps"]]
    assert "pause-1" in steps  # two batches of one, with the pause between them
    scaling.assert_no_orphans()
