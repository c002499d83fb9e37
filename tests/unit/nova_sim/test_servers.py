"""Servers through python-novaclient: create, lifecycle, list, filters, paging, delete."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from novaclient import exceptions as nova_exc

from flowstack.nova_sim import CIRROS_IMAGE_ID, DEFAULT_PROJECT_ID, NovaSimulator
from tests.unit.nova_sim.helpers import FakeClock, http, wait_for, wait_status


@pytest.fixture
def slow_sim(clock: FakeClock) -> Any:
    """A simulator on a fake clock: BUILD for 10 s, deleting for 5 s, until advanced."""
    with NovaSimulator(build_delay=10, delete_delay=5, clock=clock) as simulator:
        yield simulator


def test_create_builds_then_becomes_active(nova: Any, sim: Any) -> None:
    flavor = nova.flavors.find(name="m1.tiny")
    created = nova.servers.create("web-1", CIRROS_IMAGE_ID, flavor, meta={"stack": "s1"})
    assert created.adminPass
    server = wait_status(nova, created.id, "ACTIVE")
    assert server.name == "web-1"
    assert server.metadata == {"stack": "s1"}
    assert server.accessIPv4 == ""
    assert server.image["id"] == CIRROS_IMAGE_ID
    assert server.flavor["id"] == "1"
    assert server.tenant_id == DEFAULT_PROJECT_ID
    assert getattr(server, "OS-EXT-STS:vm_state") == "active"
    assert getattr(server, "OS-EXT-STS:power_state") == 1
    assert getattr(server, "OS-SRV-USG:launched_at")
    assert server.hostId


def test_build_state_seen_on_a_fake_clock(slow_sim: Any, make_nova: Any, clock: FakeClock) -> None:
    nova = make_nova(slow_sim)
    server = nova.servers.create("slow", CIRROS_IMAGE_ID, "1")
    seen = nova.servers.get(server.id)
    assert seen.status == "BUILD"
    assert getattr(seen, "OS-EXT-STS:task_state") == "scheduling"
    assert seen.addresses == {}  # Nova hides addresses while building
    assert seen.hostId == ""
    clock.advance(9)
    assert getattr(nova.servers.get(server.id), "OS-EXT-STS:task_state") == "spawning"
    clock.advance(1)
    active = nova.servers.get(server.id)
    assert active.status == "ACTIVE"
    assert "private" in active.addresses
    nova.servers.delete(server.id)
    deleting = nova.servers.get(server.id)
    assert deleting.status == "ACTIVE"
    assert getattr(deleting, "OS-EXT-STS:task_state") == "deleting"
    clock.advance(5)
    with pytest.raises(nova_exc.NotFound):
        nova.servers.get(server.id)


def test_addresses_on_private(nova: Any) -> None:
    ids = [nova.servers.create(f"net-{i}", CIRROS_IMAGE_ID, "1").id for i in range(3)]
    addresses = []
    for server_id in ids:
        server = wait_status(nova, server_id, "ACTIVE")
        (entry,) = server.addresses["private"]
        assert entry["version"] == 4
        assert entry["OS-EXT-IPS:type"] == "fixed"
        assert entry["OS-EXT-IPS-MAC:mac_addr"].startswith("fa:16:3e:")
        assert ipaddress.IPv4Address(entry["addr"]) in ipaddress.IPv4Network("10.0.0.0/26")
        assert server.networks == {"private": [entry["addr"]]}
        addresses.append(entry["addr"])
    assert len(set(addresses)) == 3


def test_list_filters_by_name_regex(nova: Any) -> None:
    for name in ("web-1", "web-2", "db-1", "stack-web-x"):
        nova.servers.create(name, CIRROS_IMAGE_ID, "1")
    names = lambda opts: sorted(s.name for s in nova.servers.list(search_opts=opts))  # noqa: E731
    assert names({"name": "^web-"}) == ["web-1", "web-2"]
    assert names({"name": "web"}) == ["stack-web-x", "web-1", "web-2"]  # re.search, like Nova
    assert names({"name": "^db-1$"}) == ["db-1"]
    assert [s.name for s in nova.servers.list(detailed=False, search_opts={"name": "^db"})] == [
        "db-1"
    ]


def test_list_filters_by_status(nova: Any, sim: Any) -> None:
    sim.set_faults(build_errors=[{"name_regex": "^bad"}])
    good = nova.servers.create("good", CIRROS_IMAGE_ID, "1")
    bad = nova.servers.create("bad", CIRROS_IMAGE_ID, "1")
    wait_status(nova, good.id, "ACTIVE")
    wait_status(nova, bad.id, "ERROR")
    assert [s.id for s in nova.servers.list(search_opts={"status": "ERROR"})] == [bad.id]
    assert [s.id for s in nova.servers.list(search_opts={"status": "ACTIVE"})] == [good.id]


def test_paging_with_limit_and_marker(nova: Any, sim: Any) -> None:
    created = [nova.servers.create(f"page-{i}", CIRROS_IMAGE_ID, "1").id for i in range(5)]
    first = nova.servers.list(limit=2)
    second = nova.servers.list(limit=2, marker=first[-1].id)
    third = nova.servers.list(limit=2, marker=second[-1].id)
    seen = [s.id for s in [*first, *second, *third]]
    assert seen == list(reversed(created))  # newest first, like Nova
    assert len(third) == 1
    assert [s.id for s in nova.servers.list(limit=-1)] == list(reversed(created))
    status, _headers, body = http("GET", sim.endpoint + "/servers?limit=2")
    assert status == 200
    (link,) = body["servers_links"]
    assert link["rel"] == "next"
    assert f"marker={body['servers'][-1]['id']}" in link["href"]
    with pytest.raises(nova_exc.BadRequest):
        nova.servers.list(marker="00000000-0000-0000-0000-000000000000")


def test_delete_then_404(nova: Any) -> None:
    server = nova.servers.create("doomed", CIRROS_IMAGE_ID, "1")
    wait_status(nova, server.id, "ACTIVE")
    nova.servers.delete(server.id)

    def gone() -> bool:
        try:
            nova.servers.get(server.id)
        except nova_exc.NotFound:
            return True
        return False

    wait_for(gone, what="the server to 404")
    assert nova.servers.list() == []
    with pytest.raises(nova_exc.NotFound):
        nova.servers.delete(server.id)


def test_deleted_server_stays_in_admin_view(nova: Any, sim: Any) -> None:
    server = nova.servers.create("history", CIRROS_IMAGE_ID, "1")
    nova.servers.delete(server.id)
    wait_for(lambda: not sim.live_servers(), what="no live servers")
    (record,) = sim.all_servers()
    assert record["status"] == "DELETED"
    assert record["deleted_at"] is not None
    events = [e["event"] for e in record["history"]]
    assert events[0] == "create" and "delete-requested" in events
    assert events[-1] == "status"


def test_creator_is_recorded(sim: Any, make_nova: Any) -> None:
    nova = make_nova(sim, token="alice:project-a")  # Nova noauth2-style token
    server = nova.servers.create("mine", CIRROS_IMAGE_ID, "1")
    record = sim.server(server.id)
    assert record["user_id"] == "alice"
    assert record["project_id"] == "project-a"
    assert record["request_id"] in server.request_ids
    # Another project does not see it.
    assert make_nova(sim).servers.list() == []
    assert "alice:project-a" not in repr(sim.all_servers())


def test_project_in_the_url(sim: Any, make_nova: Any) -> None:
    scoped = make_nova(sim, endpoint=f"{sim.endpoint}/p-123")
    server = scoped.servers.create("scoped", CIRROS_IMAGE_ID, "1")
    assert sim.server(server.id)["project_id"] == "p-123"
    assert [s.id for s in scoped.servers.list()] == [server.id]
    assert f"/v2.1/p-123/servers/{server.id}" in server.links[0]["href"]


@pytest.mark.parametrize(
    ("image", "flavor", "message"),
    [
        ("not-a-uuid", "1", "imageRef"),
        ("11111111-2222-3333-4444-555555555555", "1", "Can not find requested image"),
        (CIRROS_IMAGE_ID, "99", "Flavor 99 could not be found."),
    ],
)
def test_bad_create_is_a_400(nova: Any, image: str, flavor: str, message: str) -> None:
    with pytest.raises(nova_exc.BadRequest) as caught:
        nova.servers.create("bad", image, flavor)
    assert message in str(caught.value)


def test_bad_name_and_unknown_key(sim: Any) -> None:
    status, _h, body = http(
        "POST",
        sim.endpoint + "/servers",
        {"server": {"name": " x", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1"}},
    )
    assert status == 400 and "invalid 'name'" in body["badRequest"]["message"]
    status, _h, body = http(
        "POST",
        sim.endpoint + "/servers",
        {"server": {"name": "x", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1", "bogus": 1}},
    )
    assert status == 400 and "'bogus' was unexpected" in body["badRequest"]["message"]


def test_unknown_key_name_is_a_400(nova: Any) -> None:
    with pytest.raises(nova_exc.BadRequest, match="Invalid key_name provided"):
        nova.servers.create("k", CIRROS_IMAGE_ID, "1", key_name="nope")


def test_multiple_create(nova: Any, sim: Any) -> None:
    reservation = nova.servers.create(
        "multi", CIRROS_IMAGE_ID, "1", min_count=3, reservation_id=True
    )
    assert reservation.startswith("r-")
    names = sorted(s.name for s in nova.servers.list())
    assert names == ["multi-1", "multi-2", "multi-3"]


def test_metadata_calls(nova: Any) -> None:
    server = nova.servers.create("meta", CIRROS_IMAGE_ID, "1", meta={"a": "1"})
    nova.servers.set_meta(server, {"b": "2"})
    nova.servers.set_meta_item(server, "c", "3")
    nova.servers.delete_meta(server, ["a"])
    assert nova.servers.get(server.id).metadata == {"b": "2", "c": "3"}


def test_update_name(nova: Any) -> None:
    server = nova.servers.create("before", CIRROS_IMAGE_ID, "1")
    nova.servers.update(server, name="after")
    assert nova.servers.get(server.id).name == "after"


def test_limits_report_usage(nova: Any, sim: Any) -> None:
    sim.set_faults(quota={"instances": 10})
    nova.servers.create("counted", CIRROS_IMAGE_ID, "3")
    absolute = {item.name: item.value for item in nova.limits.get().absolute}
    assert absolute["maxTotalInstances"] == 10
    assert absolute["totalInstancesUsed"] == 1
    assert absolute["totalCoresUsed"] == 2
    assert absolute["totalRAMUsed"] == 4096
