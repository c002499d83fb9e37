"""Heat's autoscaling example, driven through its alarm_url webhooks over HTTP.

After each story the servers alive in the simulator are exactly those the
live stacks and their groups hold.
"""

from __future__ import annotations

import http.client
import urllib.parse

import pytest

from flowstack import exceptions
from tests.functional.autoscaling.conftest import ScalingCloud, heat_example

AODH_ALARM = {
    "alarm_name": "cpu_alarm_high",
    "alarm_id": "a4b5c6d7-1111-2222-3333-444455556666",
    "severity": "low",
    "previous": "ok",
    "current": "alarm",
    "reason": "Transition to alarm due to 1 samples outside threshold, most recent: 93.1",
    "reason_data": {"type": "threshold", "disposition": "outside", "count": 1},
}
ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}:{alertname="HighCPU"}',
    "status": "firing",
    "receiver": "flowstack",
    "groupLabels": {"alertname": "HighCPU"},
    "commonLabels": {"alertname": "HighCPU"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HighCPU", "instance": "web-1"},
            "annotations": {"summary": "CPU above 90%"},
            "startsAt": "2026-11-29T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "c0ffee12",
        }
    ],
}


def event_of(scaling: ScalingCloud, receipt: str) -> dict:
    return scaling.service.show_scale_event(scaling.ctx, receipt)


def test_heat_example_scales_up_and_down_through_its_alarm_urls(scaling: ScalingCloud) -> None:
    stack = scaling.create("web", heat_example(min=1, max=3, desired=2))
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    outputs = scaling.outputs("web")
    assert outputs["asg_size"] == 2
    members = scaling.member_servers("web/asg")
    assert len(members) == 2 and scaling.live_server_ids() == members
    addresses = {scaling.sim.server(s)["addresses"][0] for s in members}
    assert set(outputs["server_ips"]) == addresses == set(outputs["private_ips"])
    up, down = outputs["scale_up_url"], outputs["scale_dn_url"]
    assert up.startswith(scaling.rt.conf.api.public_url + "/v1/webhooks/") and up != down

    reply = scaling.post(up, AODH_ALARM)
    assert reply.status == 202, reply.body
    receipt = reply.json()["receipt_id"]
    group = scaling.wait_idle("web/asg")
    assert (group["desired_capacity"], group["current_size"]) == (3, 3)
    assert event_of(scaling, receipt)["status"] == "COMPLETE"
    assert event_of(scaling, receipt)["details"]["alarm_name"] == "cpu_alarm_high"
    assert scaling.outputs("web")["asg_size"] == 3  # the stack's outputs follow the group
    assert len(scaling.outputs("web")["server_ips"]) == 3
    scaling.assert_no_orphans()

    # At max_size: accepted, recorded, no change.
    at_max = scaling.post(up, ALERTMANAGER).json()["receipt_id"]
    assert event_of(scaling, at_max)["status"] == "NOOP"
    assert "clamped at max_size=3" in event_of(scaling, at_max)["decision"]

    for expected in (2, 1, 1):
        assert scaling.post(down).status == 202
        assert scaling.wait_idle("web/asg")["current_size"] == expected
    explained = scaling.service.explain_group(scaling.ctx, "web/asg")
    assert explained[-1]["decision"].endswith("clamped at min_size=1 -> no change")
    scaling.assert_no_orphans()

    deleted = scaling.delete("web")
    assert deleted["stack_status"] == "DELETE_COMPLETE"
    assert scaling.live_server_ids() == set()
    # The webhook of a deleted stack answers exactly like an unknown one.
    assert scaling.post(up).status == 404


def test_scale_down_removes_the_oldest_member_first(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=5, desired=3))
    before = scaling.group("web/asg")["members"]
    scaling.post(scaling.outputs("web")["scale_dn_url"])
    after = scaling.wait_idle("web/asg")["members"]
    assert [m["name"] for m in after] == [m["name"] for m in before[1:]]
    scaling.assert_no_orphans()


def test_duplicate_deliveries_scale_once(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=10, desired=1))
    up = scaling.outputs("web")["scale_up_url"]
    first = scaling.post(up, headers={"Idempotency-Key": "delivery-1"}).json()
    again = scaling.post(up, headers={"Idempotency-Key": "delivery-1"}).json()
    assert again == {"receipt_id": first["receipt_id"], "duplicate": True}
    aodh = [scaling.post(up, AODH_ALARM).json() for _ in range(3)]
    assert len({r["receipt_id"] for r in aodh}) == 1 and aodh[1]["duplicate"]
    manager = [scaling.post(up, ALERTMANAGER).json() for _ in range(2)]
    assert manager[0]["receipt_id"] == manager[1]["receipt_id"]
    group = scaling.wait_idle("web/asg")
    assert (group["desired_capacity"], group["current_size"]) == (4, 4)  # 1 + three deliveries
    events = scaling.service.list_scale_events(scaling.ctx, "web/asg")
    assert len(events) == 3
    scaling.assert_no_orphans()


def test_policy_cooldown_refuses_with_the_reason(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=10, desired=1, policy_cooldown=600))
    outputs = scaling.outputs("web")
    assert scaling.post(outputs["scale_up_url"]).status == 202
    scaling.wait_idle("web/asg")
    refused = scaling.post(outputs["scale_up_url"]).json()["receipt_id"]
    event = event_of(scaling, refused)
    assert event["status"] == "REFUSED"
    assert "in cooldown: policy scaleup_policy took effect" in event["reason"]
    # The other policy has its own cooldown.
    assert scaling.post(outputs["scale_dn_url"]).status == 202
    assert scaling.wait_idle("web/asg")["current_size"] == 1


def test_group_cooldown_applies_to_every_policy(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=10, desired=2, cooldown=600))
    outputs = scaling.outputs("web")
    scaling.post(outputs["scale_up_url"])
    scaling.wait_idle("web/asg")
    refused = scaling.post(outputs["scale_dn_url"]).json()["receipt_id"]
    assert "in cooldown: the group scaled" in event_of(scaling, refused)["reason"]
    assert scaling.group("web/asg")["desired_capacity"] == 3
    # An operator's resize is not a policy: no cooldown.
    receipt = scaling.service.resize_group(scaling.ctx, "web/asg", 1)
    assert receipt["status"] == "IN_PROGRESS"
    assert scaling.wait_idle("web/asg")["current_size"] == 1


def test_resize_is_clamped_to_the_bounds(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=2, max=4, desired=2))
    receipt = scaling.service.resize_group(scaling.ctx, "web/asg", 50)
    assert receipt["desired_after"] == 4
    assert "clamped at max_size=4" in receipt["decision"]
    assert scaling.wait_idle("web/asg")["current_size"] == 4
    receipt = scaling.service.resize_group(scaling.ctx, "asg", 0)
    assert receipt["desired_after"] == 2 and "clamped at min_size=2" in receipt["decision"]
    assert scaling.wait_idle("web/asg")["current_size"] == 2
    scaling.assert_no_orphans()


PERCENT = """
heat_template_version: 2016-10-14
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 20
      desired_capacity: 4
      resource: {type: OS::Nova::Server, properties: {image: cirros, flavor: m1.tiny}}
  grow:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: percent_change_in_capacity
      scaling_adjustment: 10
      min_adjustment_step: 2
  halve:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: percent_change_in_capacity
      scaling_adjustment: -50
"""


def test_percent_adjustments_with_min_adjustment_step(scaling: ScalingCloud) -> None:
    scaling.create("pct", PERCENT)
    grown = scaling.service.execute_policy(scaling.ctx, "pct", "grow")
    assert (grown["desired_before"], grown["desired_after"]) == (4, 6)  # 10% of 4, at least 2
    assert scaling.wait_idle("pct/asg")["current_size"] == 6
    halved = scaling.service.execute_policy(scaling.ctx, "pct", "halve")
    assert halved["desired_after"] == 3
    assert scaling.wait_idle("pct/asg")["current_size"] == 3
    scaling.assert_no_orphans()


def test_pause_keeps_requests_visible_and_changes_nothing(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=5, desired=1))
    up = scaling.outputs("web")["scale_up_url"]
    assert scaling.service.pause_group(scaling.ctx, "web/asg")["paused"] is True
    refused = scaling.post(up).json()["receipt_id"]
    assert event_of(scaling, refused)["status"] == "REFUSED"
    assert "paused" in event_of(scaling, refused)["reason"]
    assert scaling.group("web/asg")["desired_capacity"] == 1
    scaling.service.resume_group(scaling.ctx, "web/asg")
    scaling.post(up)
    assert scaling.wait_idle("web/asg")["current_size"] == 2
    sources = [e["source"] for e in scaling.service.list_scale_events(scaling.ctx, "web/asg")]
    assert sources == ["pause", "webhook:generic", "resume", "webhook:generic"]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400),
        (b"x" * 70000, {"Content-Type": "application/json"}, 413),
    ],
)
def test_bad_webhook_requests_change_nothing(
    scaling: ScalingCloud, body: bytes, headers: dict, status: int
) -> None:
    scaling.create("web", heat_example(min=1, max=5, desired=1))
    url = urllib.parse.urlsplit(scaling.outputs("web")["scale_up_url"])
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    connection.request("POST", url.path, body=body, headers=headers)
    assert connection.getresponse().status == status
    connection.close()
    assert scaling.service.list_scale_events(scaling.ctx, "web/asg") == []
    assert scaling.group("web/asg")["desired_capacity"] == 1


def test_unknown_token_is_404_and_records_nothing(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=5, desired=1))
    up = scaling.outputs("web")["scale_up_url"]
    forged = up[:-5] + ("AAAAA" if not up.endswith("AAAAA") else "BBBBB")
    assert scaling.post(forged).status == 404
    assert scaling.post(up.rsplit("/", 1)[0] + "/short").status == 404
    assert scaling.service.list_scale_events(scaling.ctx, "web/asg") == []


def test_a_policy_pointing_at_a_missing_group_fails_cleanly(scaling: ScalingCloud) -> None:
    template = """
heat_template_version: 2016-10-14
resources:
  up:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: 5d1b5b44-0000-4000-8000-000000000000
      adjustment_type: change_in_capacity
      scaling_adjustment: 1
"""
    stack = scaling.create("orphan-policy", template)
    assert stack["stack_status"] == "ROLLBACK_COMPLETE"
    assert "auto_scaling_group_id: no scaling group" in stack["stack_status_reason"]
    assert scaling.service.list_webhooks(scaling.ctx) == []


def test_deleting_a_stack_while_its_group_scales_is_refused(scaling: ScalingCloud) -> None:
    scaling.create("web", heat_example(min=1, max=5, desired=1))
    scaling.sim.set_delays(build_delay=1.0)
    scaling.service.resize_group(scaling.ctx, "web/asg", 3)
    with pytest.raises(exceptions.GroupBusy, match=r"scale flow .* is running"):
        scaling.service.delete_stack(scaling.ctx, "web")
    assert scaling.wait_idle("web/asg")["current_size"] == 3
    assert scaling.delete("web")["stack_status"] == "DELETE_COMPLETE"
    assert scaling.live_server_ids() == set()
