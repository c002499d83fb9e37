"""Orphans against a NovaSimulator over HTTP: listed, deleted, adopted, each by someone.

Orphans are made the way an operator meets them: a server booted by hand
with flowstack's tag (a duplicate, one left from a deleted stack, one from
another deployment), a server deleted behind flowstack's back, and a
resource whose create Nova refused (over quota), for which the operator
boots the server by hand and then adopts it.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from novaclient import exceptions as nova_exc

from flowstack import exceptions
from flowstack.context import RequestContext
from flowstack.nova_sim import CIRROS_IMAGE_ID, NovaSimulator
from flowstack.resources.types.nova_server import TAG_RESOURCE, TAG_STACK
from tests.functional.resources.conftest import Cloud
from tests.functional.resources.test_server_stacks import servers

BOB = RequestContext(project_id="project-b", user_id="bob")
ADMIN = RequestContext(project_id="ops", user_id="root", roles=["admin"])


def boot(nova: Any, stack_id: str, resource: str, name: str = "by-hand") -> str:
    """A server booted outside flowstack, carrying its tag."""
    meta = {TAG_STACK: stack_id, TAG_RESOURCE: resource}
    return str(nova.servers.create(name, CIRROS_IMAGE_ID, "1", meta=meta).id)


def wait_gone(nova: Any, server_id: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            nova.servers.get(server_id)
        except nova_exc.NotFound:
            return
        assert time.monotonic() < deadline, f"server {server_id} still there"
        time.sleep(0.02)


def wait_active(nova: Any, server_id: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while nova.servers.get(server_id).status != "ACTIVE":
        assert time.monotonic() < deadline, f"server {server_id} not ACTIVE"
        time.sleep(0.02)


def by_server(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["server_id"]: row for row in found}


def reasons(cloud: Cloud, stack: str) -> list[str]:
    return [e["resource_status_reason"] for e in cloud.service.list_events(cloud.ctx, stack)]


def test_list_then_delete_leaves_no_orphan(cloud: Cloud) -> None:
    nova = cloud.clients.nova()
    shop = cloud.create("shop", servers(2))
    assert shop["stack_status"] == "CREATE_COMPLETE"
    held = {name: r["physical_resource_id"] for name, r in cloud.resources("shop").items()}
    gone = cloud.create("gone", servers(1))
    assert cloud.delete("gone")["stack_status"] == "DELETE_COMPLETE"

    duplicate = boot(nova, shop["id"], "server1")
    leftover = boot(nova, gone["id"], "server1")
    foreign = boot(nova, str(uuid.uuid4()), "web")  # a stack this database never had
    nova.servers.delete(held["server2"])  # behind flowstack's back
    wait_gone(nova, held["server2"])

    found = by_server(cloud.service.list_orphans(cloud.ctx))
    assert set(found) == {duplicate, leftover, held["server2"]}
    assert found[duplicate]["kind"] == "server"
    assert found[duplicate]["reason"] == f"resource 'server1' holds server {held['server1']}"
    assert (found[leftover]["stack_name"], found[leftover]["reason"]) == (
        "gone",
        "stack gone was deleted",
    )
    missing = found[held["server2"]]
    assert (missing["kind"], missing["server_status"], missing["resource"]) == (
        "missing",
        "MISSING",
        "server2",
    )
    assert "is missing from Nova" in missing["reason"]
    assert cloud.service.list_orphans(BOB) == []  # another project's stacks
    as_admin = by_server(cloud.service.list_orphans(ADMIN))
    assert set(as_admin) == {duplicate, leftover, foreign, held["server2"]}
    assert as_admin[foreign]["stack_name"] is None
    assert "not in flowstack's database" in as_admin[foreign]["reason"]

    with pytest.raises(exceptions.InvalidRequest):
        cloud.service.delete_orphans(cloud.ctx)
    reports = cloud.service.delete_orphans(cloud.ctx, [held["server1"]], delete_all=True)
    assert {r["server_id"]: r["result"] for r in reports} == {
        held["server1"]: "not deleted: not an orphaned server (see `orphans list`)",
        duplicate: "deleted",
        leftover: "deleted",
    }
    for server_id in (duplicate, leftover):
        with pytest.raises(nova_exc.NotFound):
            nova.servers.get(server_id)
    assert f"orphaned server {duplicate} deleted by alice" in reasons(cloud, "shop")
    assert f"orphaned server {leftover} deleted by alice" in reasons(cloud, gone["id"])

    # A server of an unknown stack goes only when an administrator names it.
    (skipped,) = cloud.service.delete_orphans(ADMIN, delete_all=True)
    assert (skipped["server_id"], skipped["result"]) == (
        foreign,
        "skipped: unknown stack; name it to delete",
    )
    assert [r["result"] for r in cloud.service.delete_orphans(ADMIN, [foreign])] == ["deleted"]

    remaining = cloud.service.list_orphans(ADMIN)
    assert [(r["kind"], r["server_id"]) for r in remaining] == [("missing", held["server2"])]
    assert cloud.live_server_ids() == {held["server1"]}


def test_a_refused_create_is_fixed_by_hand_and_adopted(cloud: Cloud) -> None:
    nova = cloud.clients.nova()
    cloud.sim.set_faults(quota={"instances": 1})
    stack = cloud.create("tight", servers(2), disable_rollback=True)
    assert stack["stack_status"] == "CREATE_FAILED"
    resources = cloud.resources("tight")
    (refused,) = [
        n for n, r in resources.items() if "Quota exceeded" in r["resource_status_reason"]
    ]
    (built,) = set(resources) - {refused}
    assert resources[refused]["physical_resource_id"] == ""
    assert cloud.service.list_orphans(cloud.ctx) == []

    cloud.sim.clear_faults()  # the operator raised the quota, and boots the server by hand
    server_id = boot(nova, stack["id"], refused, name=f"tight-{refused}")
    wait_active(nova, server_id)
    (orphan,) = cloud.service.list_orphans(cloud.ctx)
    assert (orphan["server_id"], orphan["reason"]) == (
        server_id,
        f"resource {refused!r} holds no server",
    )

    with pytest.raises(exceptions.NotFound, match="not an orphaned server"):
        cloud.service.adopt_orphan(cloud.ctx, resources[built]["physical_resource_id"])
    with pytest.raises(exceptions.NotFound):
        cloud.service.adopt_orphan(BOB, server_id)
    adopted = cloud.service.adopt_orphan(cloud.ctx, server_id)
    assert adopted["resource"] == refused
    assert adopted["resource_status"] == "CREATE_COMPLETE"
    row = cloud.service.show_resource(cloud.ctx, "tight", refused)
    assert (row["physical_resource_id"], row["resource_status"]) == (server_id, "CREATE_COMPLETE")
    assert row["attributes"]["name"] == f"tight-{refused}"
    assert row["attributes"]["first_address"]
    assert f"server {server_id} adopted by alice" in reasons(cloud, "tight")
    assert cloud.service.list_orphans(cloud.ctx) == []

    # The stack now owns it: deleting the stack removes both servers.
    assert cloud.delete("tight")["stack_status"] == "DELETE_COMPLETE"
    assert cloud.sim.live_servers() == []


def test_a_resource_holding_its_server_cannot_adopt_another(cloud: Cloud) -> None:
    nova = cloud.clients.nova()
    stack = cloud.create("full", servers(1))
    extra = boot(nova, stack["id"], "server1")
    wait_active(nova, extra)
    with pytest.raises(exceptions.Conflict, match="holds server"):
        cloud.service.adopt_orphan(cloud.ctx, extra)
    assert cloud.resources("full")["server1"]["physical_resource_id"] != extra


def test_stacks_at_work_are_left_alone(cloud: Cloud) -> None:
    cloud.sim.set_delays(build_delay=1.0)
    flow_id = cloud.start("busy", servers(1))
    deadline = time.monotonic() + 10
    while not cloud.sim.live_servers():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    # Its server exists and the resource may not have recorded it yet: not an orphan.
    assert cloud.service.list_orphans(cloud.ctx) == []
    assert cloud.finish(flow_id, "busy")["stack_status"] == "CREATE_COMPLETE"


def test_orphans_through_the_cli(sim: NovaSimulator, tmp_path: Path) -> None:
    config = tmp_path / "flowstack.conf"
    config.write_text(f"[nova]\nendpoint_override = {sim.endpoint}\n")
    template = tmp_path / "servers.yaml"
    template.write_text(servers(1))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *(sys.executable, "-m", "flowstack.cli.app", "--config-file", str(config)),
                *("--state-dir", str(tmp_path / "state"), *args),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    created = cli("stack", "create", "web", "-t", str(template), "--wait", "-f", "json")
    assert created.returncode == 0, created.stderr
    stack_id = created.stdout.split('"id": "', 1)[1].split('"', 1)[0]
    stray = boot(sim.client(), stack_id, "server1")

    listed = cli("orphans", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert stray in listed.stdout and "holds server" in listed.stdout
    deleted = cli("orphans", "delete", "--all", "-f", "value", "-c", "server_id", "-c", "result")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.split() == [stray, "deleted"]
    assert cli("orphans", "list", "-f", "json").stdout.strip() == "[]"
    events = cli("stack", "event", "list", "web", "-f", "value", "-c", "resource_status_reason")
    assert f"orphaned server {stray} deleted by embedded" in events.stdout

    refused = cli("orphans", "delete")
    assert refused.returncode == 1
    assert "name SERVER_ID(s), or give --all" in refused.stderr
    not_one = cli("orphans", "adopt", stray)
    assert not_one.returncode == 1 and "not an orphaned server" in not_one.stderr
