"""The Octavia subset as openstacksdk's load-balancer proxy sees it, over real HTTP.

Status transitions run on a fake clock (nothing sleeps, nothing is flaky);
one test uses the real clock to retry a 409 after the load balancer settles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from keystoneauth1.identity import v3
from openstack import connection
from openstack import exceptions as sdk_exc

from flowstack.nova_sim import PRIVATE_NETWORK_ID, NovaSimulator
from tests.unit.nova_sim.conftest import LB_PROVISION, LB_UPDATE
from tests.unit.nova_sim.helpers import FakeClock, http

UNKNOWN_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def octavia(lbsim: NovaSimulator) -> Iterator[Any]:
    """openstacksdk's load-balancer proxy, built as a user would against the simulator."""
    session = ks_session.Session(auth=token_endpoint.Token(lbsim.endpoint, "any-token"))
    conn = connection.Connection(session=session, load_balancer_endpoint_override=lbsim.lb_endpoint)
    yield conn.load_balancer
    conn.close()
    session.session.close()


def make_lb(octavia: Any, clock: FakeClock, name: str = "web") -> Any:
    lb = octavia.create_load_balancer(name=name, vip_network_id=PRIVATE_NETWORK_ID)
    clock.advance(LB_PROVISION)
    return lb


def make_pool(octavia: Any, clock: FakeClock, lb: Any) -> Any:
    pool = octavia.create_pool(
        name="web-pool", loadbalancer_id=lb.id, protocol="HTTP", lb_algorithm="ROUND_ROBIN"
    )
    clock.advance(LB_UPDATE)
    return pool


# -- discovery ------------------------------------------------------------------
def test_version_discovery_and_the_v2_0_alias(lbsim: NovaSimulator) -> None:
    status, headers, body = http("GET", lbsim.lb_endpoint)
    assert status == 200
    [entry] = body["versions"]
    assert entry["status"] == "CURRENT"
    assert entry["links"][0]["href"] == f"{lbsim.lb_endpoint}/v2"
    assert "x-openstack-request-id" in {k.lower() for k in headers}
    assert http("GET", f"{lbsim.lb_endpoint}/v2")[2]["version"]["id"] == "v2.0"
    for version in ("v2", "v2.0"):
        status, _h, body = http("GET", f"{lbsim.lb_endpoint}/{version}/lbaas/loadbalancers")
        assert (status, body) == (200, {"loadbalancers": [], "loadbalancers_links": []})


def test_sdk_through_the_identity_catalog(lbsim: NovaSimulator) -> None:
    auth = v3.Password(
        auth_url=lbsim.identity_url,
        username="demo",
        password="secret",
        project_name="demo",
        user_domain_id="default",
        project_domain_id="default",
    )
    session = ks_session.Session(auth=auth)
    try:
        assert session.get_endpoint(service_type="load-balancer") == lbsim.lb_endpoint
        conn = connection.Connection(session=session)
        lb = conn.load_balancer.create_load_balancer(name="c", vip_network_id=PRIVATE_NETWORK_ID)
        assert [x.id for x in conn.load_balancer.load_balancers()] == [lb.id]
        conn.close()
    finally:
        session.session.close()


def test_lb_client_helper(lbsim: NovaSimulator) -> None:
    proxy = lbsim.lb_client()
    lb = proxy.create_load_balancer(name="h", vip_network_id=PRIVATE_NETWORK_ID)
    assert proxy.get_load_balancer(lb.id).name == "h"


# -- load balancers -------------------------------------------------------------
def test_load_balancer_goes_pending_create_then_active(octavia: Any, clock: FakeClock) -> None:
    lb = octavia.create_load_balancer(name="web", vip_network_id=PRIVATE_NETWORK_ID, tags=["t"])
    assert (lb.provisioning_status, lb.operating_status) == ("PENDING_CREATE", "OFFLINE")
    assert lb.vip_address.startswith("10.0.0.")
    assert lb.vip_network_id == PRIVATE_NETWORK_ID
    assert lb.vip_subnet_id and lb.vip_port_id
    assert (lb.provider, lb.is_admin_state_up, lb.tags) == ("amphora", True, ["t"])
    clock.advance(LB_PROVISION - 0.01)
    assert octavia.get_load_balancer(lb.id).provisioning_status == "PENDING_CREATE"
    clock.advance(0.01)
    active = octavia.get_load_balancer(lb.id)
    assert (active.provisioning_status, active.operating_status) == ("ACTIVE", "ONLINE")
    assert [x.id for x in octavia.load_balancers(name="web")] == [lb.id]
    assert list(octavia.load_balancers(name="other")) == []
    second = make_lb(octavia, clock, "second")
    assert second.vip_address != lb.vip_address


def test_load_balancer_needs_a_known_vip_network(octavia: Any) -> None:
    with pytest.raises(sdk_exc.BadRequestException, match="VIP must contain one of"):
        octavia.create_load_balancer(name="novip")
    with pytest.raises(sdk_exc.BadRequestException, match=f"Subnet {UNKNOWN_ID} not found"):
        octavia.create_load_balancer(name="x", vip_subnet_id=UNKNOWN_ID)
    with pytest.raises(sdk_exc.NotFoundException):
        octavia.get_load_balancer(UNKNOWN_ID)


def test_update_and_delete_a_load_balancer(octavia: Any, clock: FakeClock) -> None:
    lb = make_lb(octavia, clock)
    pool = make_pool(octavia, clock, lb)
    updated = octavia.update_load_balancer(lb, name="renamed")
    assert (updated.name, updated.provisioning_status) == ("renamed", "PENDING_UPDATE")
    clock.advance(LB_UPDATE)
    with pytest.raises(sdk_exc.BadRequestException, match="it has children"):
        octavia.delete_load_balancer(lb)
    octavia.delete_load_balancer(lb, cascade=True)
    assert octavia.get_load_balancer(lb.id).provisioning_status == "PENDING_DELETE"
    assert octavia.get_pool(pool.id).provisioning_status == "PENDING_DELETE"
    clock.advance(LB_PROVISION)
    with pytest.raises(sdk_exc.NotFoundException):
        octavia.get_load_balancer(lb.id)
    with pytest.raises(sdk_exc.NotFoundException):
        octavia.get_pool(pool.id)


# -- pools ----------------------------------------------------------------------
def test_pool_create_puts_the_load_balancer_in_pending_update(
    octavia: Any, clock: FakeClock
) -> None:
    lb = make_lb(octavia, clock)
    pool = octavia.create_pool(
        name="p", loadbalancer_id=lb.id, protocol="HTTP", lb_algorithm="ROUND_ROBIN"
    )
    assert pool.provisioning_status == "PENDING_CREATE"
    assert pool.loadbalancers == [{"id": lb.id}]
    assert (pool.protocol, pool.lb_algorithm, pool.members) == ("HTTP", "ROUND_ROBIN", [])
    assert octavia.get_load_balancer(lb.id).provisioning_status == "PENDING_UPDATE"
    clock.advance(LB_UPDATE)
    assert octavia.get_pool(pool.id).provisioning_status == "ACTIVE"
    assert octavia.get_load_balancer(lb.id).pools == [{"id": pool.id}]
    assert [p.id for p in octavia.pools(loadbalancer_id=lb.id)] == [pool.id]
    assert list(octavia.pools(loadbalancer_id=UNKNOWN_ID)) == []
    changed = octavia.update_pool(pool, lb_algorithm="LEAST_CONNECTIONS")
    assert (changed.lb_algorithm, changed.provisioning_status) == (
        "LEAST_CONNECTIONS",
        "PENDING_UPDATE",
    )
    clock.advance(LB_UPDATE)
    octavia.delete_pool(pool)
    clock.advance(LB_UPDATE)
    with pytest.raises(sdk_exc.NotFoundException):
        octavia.get_pool(pool.id)


def test_pool_validation(octavia: Any, clock: FakeClock) -> None:
    lb = make_lb(octavia, clock)
    with pytest.raises(sdk_exc.BadRequestException, match="lb_algorithm"):
        octavia.create_pool(loadbalancer_id=lb.id, protocol="HTTP", lb_algorithm="RANDOM")
    with pytest.raises(sdk_exc.BadRequestException, match="Mandatory field missing"):
        octavia.create_pool(loadbalancer_id=lb.id, lb_algorithm="ROUND_ROBIN")
    with pytest.raises(sdk_exc.NotFoundException, match=f"Load Balancer {UNKNOWN_ID}"):
        octavia.create_pool(loadbalancer_id=UNKNOWN_ID, protocol="TCP", lb_algorithm="SOURCE_IP")


# -- members --------------------------------------------------------------------
def test_member_create_update_delete_with_pending_states(octavia: Any, clock: FakeClock) -> None:
    lb = make_lb(octavia, clock)
    pool = make_pool(octavia, clock, lb)
    member = octavia.create_member(pool, address="10.0.0.5", protocol_port=80, name="web-1")
    assert (member.provisioning_status, member.operating_status) == (
        "PENDING_CREATE",
        "NO_MONITOR",
    )
    assert (member.weight, member.is_admin_state_up, member.backup) == (1, True, False)
    assert octavia.get_pool(pool.id).provisioning_status == "PENDING_UPDATE"
    assert octavia.get_load_balancer(lb.id).provisioning_status == "PENDING_UPDATE"

    clock.advance(LB_UPDATE)
    member = octavia.get_member(member, pool)
    assert (member.provisioning_status, member.operating_status) == ("ACTIVE", "ONLINE")
    assert octavia.get_load_balancer(lb.id).provisioning_status == "ACTIVE"
    assert octavia.get_pool(pool.id).members == [{"id": member.id}]

    drained = octavia.update_member(member, pool, weight=0)
    assert (drained.weight, drained.provisioning_status) == (0, "PENDING_UPDATE")
    clock.advance(LB_UPDATE)
    down = octavia.update_member(member, pool, admin_state_up=False)
    clock.advance(LB_UPDATE)
    assert octavia.get_member(down, pool).operating_status == "OFFLINE"

    octavia.delete_member(member, pool)
    assert octavia.get_member(member, pool).provisioning_status == "PENDING_DELETE"
    assert octavia.get_load_balancer(lb.id).provisioning_status == "PENDING_UPDATE"
    clock.advance(LB_UPDATE)
    with pytest.raises(sdk_exc.NotFoundException, match=f"Member {member.id} not found"):
        octavia.get_member(member, pool)
    assert list(octavia.members(pool)) == []
    assert octavia.get_load_balancer(lb.id).provisioning_status == "ACTIVE"


def test_changes_while_pending_are_immutable(octavia: Any, clock: FakeClock) -> None:
    lb = octavia.create_load_balancer(name="web", vip_network_id=PRIVATE_NETWORK_ID)
    message = f"Load Balancer {lb.id} is immutable and cannot be updated."
    with pytest.raises(sdk_exc.ConflictException, match=message):
        octavia.create_pool(loadbalancer_id=lb.id, protocol="HTTP", lb_algorithm="ROUND_ROBIN")
    clock.advance(LB_PROVISION)
    pool = make_pool(octavia, clock, lb)
    first = octavia.create_member(pool, address="10.0.0.5", protocol_port=80)
    for attempt in (
        lambda: octavia.create_member(pool, address="10.0.0.6", protocol_port=80),
        lambda: octavia.update_member(first, pool, weight=5),
        lambda: octavia.delete_member(first, pool),
        lambda: octavia.update_pool(pool, name="x"),
        lambda: octavia.update_load_balancer(lb, name="x"),
    ):
        with pytest.raises(sdk_exc.ConflictException) as caught:
            attempt()
        assert caught.value.status_code == 409
        assert caught.value.details == message
    clock.advance(LB_UPDATE)
    octavia.create_member(pool, address="10.0.0.6", protocol_port=80)  # settled: accepted


def test_retry_after_the_load_balancer_settles() -> None:
    """Real clock: a 409 while PENDING_UPDATE, the SDK's wait, then the retry succeeds."""
    with NovaSimulator(lb_provision_delay=0.05, lb_update_delay=0.1) as sim:
        lb = sim.create_loadbalancer("real")
        pool_id = lb["pools"][0]["id"]
        octavia = sim.lb_client()
        member = octavia.create_member(pool_id, address="10.0.0.7", protocol_port=8080)
        with pytest.raises(sdk_exc.ConflictException, match="immutable"):
            octavia.delete_member(member, pool_id)
        octavia.wait_for_load_balancer(lb["id"], interval=0.02, wait=5)
        octavia.delete_member(member, pool_id)
        assert [e["event"] for e in sim.lb_events(kind="member")] == [
            "member-create",
            "member-delete",
        ]


def test_member_validation(octavia: Any, clock: FakeClock) -> None:
    lb = make_lb(octavia, clock)
    pool = make_pool(octavia, clock, lb)
    octavia.create_member(pool, address="10.0.0.5", protocol_port=80)
    clock.advance(LB_UPDATE)
    with pytest.raises(sdk_exc.ConflictException) as dup:
        octavia.create_member(pool, address="10.0.0.5", protocol_port=80)
    assert dup.value.details == (
        "Another member on this pool is already using ip 10.0.0.5 on protocol_port 80"
    )
    octavia.create_member(pool, address="10.0.0.5", protocol_port=81)  # another port is fine
    clock.advance(LB_UPDATE)
    with pytest.raises(sdk_exc.NotFoundException, match=f"Pool {UNKNOWN_ID} not found"):
        octavia.create_member(UNKNOWN_ID, address="10.0.0.9", protocol_port=80)
    bad = [
        ({"protocol_port": 0}, "Value should be greater or equal to 1"),
        ({"protocol_port": 65536}, "Value should be lower or equal to 65535"),
        ({"protocol_port": 80, "weight": 257}, "Value should be lower or equal to 256"),
        ({"protocol_port": 80, "weight": -1}, "Value should be greater or equal to 0"),
        ({"protocol_port": 80, "subnet_id": UNKNOWN_ID}, f"Subnet {UNKNOWN_ID} not found"),
    ]
    for fields, text in bad:
        with pytest.raises(sdk_exc.BadRequestException) as caught:
            octavia.create_member(pool, address="10.0.0.9", **fields)
        assert text in caught.value.details
    with pytest.raises(sdk_exc.BadRequestException, match="IPv4 or IPv6"):
        octavia.create_member(pool, address="not-an-ip", protocol_port=80)
    with pytest.raises(sdk_exc.BadRequestException, match="Mandatory field missing"):
        octavia.create_member(pool, address="10.0.0.9")


def test_member_list_filters_and_pages(octavia: Any, clock: FakeClock) -> None:
    lb = make_lb(octavia, clock)
    pool = make_pool(octavia, clock, lb)
    ids = []
    for i in range(3):
        address = f"10.0.0.{10 + i}"
        ids.append(octavia.create_member(pool, address=address, protocol_port=80, name=f"m{i}").id)
        clock.advance(LB_UPDATE)
    assert [m.id for m in octavia.members(pool, address="10.0.0.11")] == [ids[1]]
    assert [m.id for m in octavia.members(pool, protocol_port=80)] == ids
    assert [m.id for m in octavia.members(pool, limit=2)] == ids  # follows the next link
    assert octavia.find_member("m2", pool).id == ids[2]  # by name: GET by id 404s, then a list
    assert octavia.find_member("nope", pool, ignore_missing=True) is None


# -- plain HTTP: what the SDK hides ---------------------------------------------
def test_raw_bodies_errors_and_paging(lbsim: NovaSimulator, clock: FakeClock) -> None:
    lb = lbsim.create_loadbalancer("raw", members=[{"address": "10.0.0.5", "protocol_port": 80}])
    pool_id = lb["pools"][0]["id"]
    members_url = f"{lbsim.lb_endpoint}/v2/lbaas/pools/{pool_id}/members"
    status, _h, body = http("POST", members_url, {"member": {"address": "10.0.0.6"}})
    assert status == 400
    assert body == {
        "faultcode": "Client",
        "faultstring": "Invalid input for field/attribute protocol_port. Value: 'None'. "
        "Mandatory field missing.",
        "debuginfo": None,
    }
    bad = {"member": {"address": "10.0.0.6", "protocol_port": 80, "color": "red"}}
    status, _h, body = http("POST", members_url, bad)
    assert status == 400 and "Unknown attribute for argument member: color" in body["faultstring"]
    status, _h, body = http(
        "POST", members_url, {"member": {"address": "10.0.0.6", "protocol_port": 80}}
    )
    assert status == 201
    member = body["member"]
    expected_keys = {"id", "name", "project_id", "provisioning_status", "operating_status",
                     "admin_state_up", "address", "protocol_port", "weight", "subnet_id",
                     "monitor_address", "monitor_port", "backup", "tags", "created_at",
                     "updated_at"}  # fmt: skip
    assert expected_keys <= set(member)
    clock.advance(LB_UPDATE)
    status, _h, body = http("GET", f"{members_url}?limit=1")
    assert len(body["members"]) == 1
    [link] = body["members_links"]
    assert link["rel"] == "next" and "marker=" in link["href"]
    status, _h, body = http("GET", link["href"])
    assert [m["address"] for m in body["members"]] == ["10.0.0.6"]
    status, _h, body = http("GET", f"{members_url}?fields=address")
    assert body["members"] == [{"address": "10.0.0.5"}, {"address": "10.0.0.6"}]
    status, _h, body = http("GET", f"{members_url}?colour=red")
    assert status == 400
    status, _h, body = http("PATCH", members_url)
    assert status == 405 and body["faultcode"] == "Client"
    status, _h, body = http("DELETE", f"{members_url}/{member['id']}")
    assert (status, body) == (204, None)
    pool_url = f"{lbsim.lb_endpoint}/v2/lbaas/pools/{pool_id}"
    status, _h, body = http("GET", pool_url)
    assert body["pool"]["provisioning_status"] == "PENDING_UPDATE"
    status, _h, body = http("GET", f"{lbsim.lb_endpoint}/v2/lbaas/nothing")
    assert status == 404
