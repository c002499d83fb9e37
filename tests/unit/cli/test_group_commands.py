"""The scaling commands end to end through the embedded CLI (separate processes)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.cli.conftest import Cli

GROUP = """
heat_template_version: 2016-10-14
resources:
  asg:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 4
      desired_capacity: 1
      resource: {type: OS::Heat::None}
  up:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: asg}
      adjustment_type: change_in_capacity
      scaling_adjustment: 2
outputs:
  url: {value: {get_attr: [up, alarm_url]}}
"""


def test_group_commands(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    created = cli("stack", "create", "web", "-t", cli.file("g.yaml", GROUP), "--wait")
    assert created.returncode == 0, created.stderr

    [group] = cli.json("group", "list")
    assert (group["resource_name"], group["current_size"], group["max_size"]) == ("asg", 1, 4)

    executed = cli.json("policy", "execute", "web", "up", "--wait")
    assert (executed["status"], executed["desired_after"]) == ("COMPLETE", 3)
    resized = cli.json("group", "resize", "web/asg", "9", "--wait")
    assert resized["status"] == "COMPLETE"
    assert "clamped at max_size=4" in resized["decision"]

    shown = cli.json("group", "show", "asg")
    assert (shown["desired_capacity"], shown["current_size"]) == (4, 4)
    explained = cli.json("group", "explain", "web/asg")
    assert [e["source"] for e in explained] == ["policy", "resize"]
    event = cli.json("scale-event", "show", executed["receipt_id"])
    assert event["steps"][0].startswith("received (policy, policy up")

    paused = cli.json("group", "pause", "web/asg")
    assert paused["paused"] is True
    refused = cli("policy", "execute", "web", "up", "--wait", "-f", "json")
    assert refused.returncode == 1 and "REFUSED" in refused.stdout + refused.stderr

    [webhook] = cli.json("webhook", "list")
    assert webhook["policy"] == "up" and len(webhook["fingerprint"]) == 8
    url = cli.json("stack", "output", "show", "web", "url")[0]["output_value"]
    token = url.rsplit("/", 1)[1]
    listing = cli("webhook", "show", webhook["id"]).stdout
    assert token not in listing and webhook["fingerprint"] in listing

    missing = cli("group", "show", "nope")
    assert missing.returncode != 0 and "Scaling group not found: nope" in missing.stderr
