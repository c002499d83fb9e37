"""Load-balancer faults, the shared event log, admin endpoints, persistence and settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from novaclient import exceptions as nova_exc
from openstack import exceptions as sdk_exc

from flowstack.nova_sim import CIRROS_IMAGE_ID, PRIVATE_NETWORK_ID, NovaSimulator
from flowstack.nova_sim.cli import build_parser, load_config
from flowstack.nova_sim.errors import SimulatorConfigError
from tests.unit.nova_sim.conftest import LB_PROVISION, LB_UPDATE
from tests.unit.nova_sim.helpers import FakeClock, http, wait_status


@pytest.fixture
def octavia(lbsim: NovaSimulator) -> Any:
    return lbsim.lb_client()


# -- faults ---------------------------------------------------------------------
def test_lb_errors_answer_the_status_then_stop(lbsim: NovaSimulator, octavia: Any) -> None:
    lb = lbsim.create_loadbalancer("f")
    pool_id = lb["pools"][0]["id"]
    lbsim.set_faults(
        lb_errors=[{"method": "POST", "path": "/members$", "status": 503, "times": 1}],
        api_errors=[{"status": 500}],  # compute-side rules never touch /load-balancer
    )
    with pytest.raises(sdk_exc.HttpException) as caught:
        octavia.create_member(pool_id, address="10.0.0.5", protocol_port=80)
    assert caught.value.status_code == 503
    assert caught.value.details == "Service Unavailable"
    assert caught.value.response.json()["faultcode"] == "Server"
    assert lbsim.pool_members(pool_id) == []  # refused before doing anything
    member = octavia.create_member(pool_id, address="10.0.0.5", protocol_port=80)
    assert member.provisioning_status == "PENDING_CREATE"
    rule = lbsim.fault_config["lb_errors"][0]
    assert (rule["seen"], rule["fired"]) == (2, 1)
    assert lbsim.fault_config["api_errors"][0]["seen"] == 0


def test_a_lost_member_create_answer_still_created_it(lbsim: NovaSimulator, octavia: Any) -> None:
    lb = lbsim.create_loadbalancer("lost")
    pool_id = lb["pools"][0]["id"]
    lbsim.set_faults(lost_responses=[{"path": "/members$", "times": 1}])
    with pytest.raises(sdk_exc.HttpException) as caught:
        octavia.create_member(pool_id, address="10.0.0.5", protocol_port=80)
    assert caught.value.status_code == 500
    assert caught.value.response.json()["faultcode"] == "Server"
    [member] = lbsim.pool_members(pool_id)  # the work was done, only the answer was lost
    assert member["address"] == "10.0.0.5"


def test_lb_immutable_answers_409_n_times(
    lbsim: NovaSimulator, octavia: Any, clock: FakeClock
) -> None:
    lb = lbsim.create_loadbalancer("i", members=[{"address": "10.0.0.5", "protocol_port": 80}])
    pool_id, member_id = lb["pools"][0]["id"], lb["pools"][0]["members"][0]["id"]
    lbsim.set_faults(lb_immutable=[{"resource": "member", "operation": "delete", "times": 2}])
    octavia.update_member(member_id, pool_id, weight=0)  # an update is not selected
    clock.advance(LB_UPDATE)
    for _ in range(2):
        with pytest.raises(sdk_exc.ConflictException, match=f"Load Balancer {lb['id']} is imm"):
            octavia.delete_member(member_id, pool_id)
    octavia.delete_member(member_id, pool_id)
    assert [e["event"] for e in lbsim.lb_events(kind="member")] == [
        "member-create",
        "member-update",
        "member-delete",
    ]


def test_provisioning_errors_end_in_error(
    lbsim: NovaSimulator, octavia: Any, clock: FakeClock
) -> None:
    lbsim.set_faults(
        lb_provisioning_errors=[
            {"resource": "member", "address": "10.0.0.9"},
            {"resource": "loadbalancer", "name_regex": "^broken"},
            {"resource": "member", "operation": "delete", "address": "10.0.0.8"},
        ]
    )
    broken = octavia.create_load_balancer(name="broken-1", vip_network_id=PRIVATE_NETWORK_ID)
    assert broken.provisioning_status == "PENDING_CREATE"
    clock.advance(LB_PROVISION)
    failed = octavia.get_load_balancer(broken.id)
    assert (failed.provisioning_status, failed.operating_status) == ("ERROR", "ERROR")

    lb = lbsim.create_loadbalancer("ok")
    pool_id = lb["pools"][0]["id"]
    bad = octavia.create_member(pool_id, address="10.0.0.9", protocol_port=80)
    assert bad.provisioning_status == "PENDING_CREATE"
    clock.advance(LB_UPDATE)
    bad = octavia.get_member(bad, pool_id)
    assert (bad.provisioning_status, bad.operating_status) == ("ERROR", "ERROR")
    assert octavia.get_load_balancer(lb["id"]).provisioning_status == "ACTIVE"  # as Octavia
    stuck = octavia.create_member(pool_id, address="10.0.0.8", protocol_port=80)
    clock.advance(LB_UPDATE)
    octavia.delete_member(stuck, pool_id)
    clock.advance(LB_UPDATE)
    assert octavia.get_member(stuck, pool_id).provisioning_status == "ERROR"  # not gone
    octavia.delete_member(bad, pool_id)  # a member in ERROR can be deleted
    clock.advance(LB_UPDATE)
    assert [m["address"] for m in lbsim.pool_members(pool_id)] == ["10.0.0.8"]
    outcomes = {e["address"]: e["outcome"] for e in lbsim.lb_events(event="member-delete")}
    assert outcomes == {"10.0.0.8": "ERROR", "10.0.0.9": "DELETED"}


def test_a_failed_load_balancer_is_immutable_but_deletable(
    lbsim: NovaSimulator, octavia: Any, clock: FakeClock
) -> None:
    lb = lbsim.create_loadbalancer("e", members=[{"address": "10.0.0.5", "protocol_port": 80}])
    pool_id = lb["pools"][0]["id"]
    lbsim.fail_loadbalancer(lb["id"])
    shown = octavia.get_load_balancer(lb["id"])
    assert (shown.provisioning_status, shown.operating_status) == ("ERROR", "ERROR")
    with pytest.raises(sdk_exc.ConflictException, match="immutable"):
        octavia.create_member(pool_id, address="10.0.0.6", protocol_port=80)
    member_id = lb["pools"][0]["members"][0]["id"]
    with pytest.raises(sdk_exc.ConflictException, match="immutable"):
        octavia.delete_member(member_id, pool_id)
    octavia.delete_load_balancer(lb["id"], cascade=True)
    clock.advance(LB_PROVISION)
    assert lbsim.loadbalancers(live_only=True) == []
    assert lbsim.pool_members(pool_id) == []
    with pytest.raises(KeyError):
        lbsim.fail_loadbalancer(lb["id"])


def test_lb_fault_rules_are_validated() -> None:
    with pytest.raises(SimulatorConfigError, match="resource must be one of"):
        NovaSimulator(faults={"lb_immutable": [{"resource": "listener"}]})
    with pytest.raises(SimulatorConfigError, match="operation must be one of"):
        NovaSimulator(faults={"lb_provisioning_errors": [{"operation": "rename"}]})
    with pytest.raises(SimulatorConfigError, match="unknown key"):
        NovaSimulator(faults={"lb_errors": [{"address": "10.0.0.1"}]})


# -- the shared event log -------------------------------------------------------
def test_events_order_member_changes_before_the_server_delete(make_nova: Any) -> None:
    with NovaSimulator(build_delay=0, delete_delay=0, lb_update_delay=0) as sim:
        nova, octavia = make_nova(sim), sim.lb_client()
        server = nova.servers.create("web-1", CIRROS_IMAGE_ID, "1")
        address = wait_status(nova, server.id, "ACTIVE").addresses["private"][0]["addr"]
        lb = sim.create_loadbalancer("web")
        pool_id = lb["pools"][0]["id"]
        member = octavia.create_member(pool_id, address=address, protocol_port=80, weight=5)
        octavia.update_member(member, pool_id, weight=0)
        octavia.delete_member(member, pool_id)
        nova.servers.delete(server.id)

        events = [e for e in sim.lb_events() if e["kind"] in ("member", "server")]
        assert [e["event"] for e in events] == [
            "member-create",
            "member-update",
            "member-delete",
            "server-delete",
        ]
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        _create, update, delete, server_delete = events
        assert update["changes"] == {"weight": [5, 0]}
        assert update["weight"] == 0 and delete["address"] == address
        assert (server_delete["server_id"], server_delete["name"]) == (server.id, "web-1")
        assert delete["completes_at"] <= server_delete["at"]

        _s, _h, body = http("GET", f"{sim.url}/_admin/lb-events?after={update['seq']}")
        assert [e["event"] for e in body["events"]] == ["member-delete", "server-delete"]
        assert body["last_seq"] == server_delete["seq"]
        _s, _h, body = http("GET", f"{sim.url}/_admin/lb-events?member_id={member.id}")
        assert len(body["events"]) == 3
        assert http("GET", f"{sim.url}/_admin/lb-events?colour=red")[0] == 400


def test_a_refused_server_delete_is_not_logged(sim: NovaSimulator, nova: Any) -> None:
    server = nova.servers.create("kept", CIRROS_IMAGE_ID, "1")
    sim.set_faults(delete_errors=[{"status": 500}])
    with pytest.raises(nova_exc.ClientException):
        nova.servers.delete(server.id)
    assert sim.lb_events(kind="server") == []


# -- admin endpoint and helpers -------------------------------------------------
def test_admin_endpoints(lbsim: NovaSimulator, clock: FakeClock) -> None:
    admin = f"{lbsim.url}/_admin"
    spec = {
        "name": "adm",
        "pools": [{"name": "p1", "protocol": "TCP", "lb_algorithm": "SOURCE_IP"}],
        "members": [{"address": "10.0.0.5", "protocol_port": 22, "weight": 3}],
    }
    status, _h, body = http("POST", f"{admin}/loadbalancers", spec)
    assert status == 201
    record = body["loadbalancer"]
    assert (record["provisioning_status"], record["live"]) == ("ACTIVE", True)
    [pool] = record["pools"]
    assert (pool["name"], pool["protocol"], pool["members"][0]["weight"]) == ("p1", "TCP", 3)
    status, _h, body = http("POST", f"{admin}/loadbalancers", {"name": "x", "color": "red"})
    assert status == 400 and "color" in body["error"]["message"]
    status, _h, body = http("GET", f"{admin}/loadbalancers")
    assert (body["live_count"], body["total_count"]) == (1, 1)
    assert http("GET", f"{admin}/loadbalancers/{record['id']}")[2]["loadbalancer"]["name"] == "adm"
    assert http("GET", f"{admin}/loadbalancers/nope")[0] == 404
    members = http("GET", f"{admin}/pools/{pool['id']}/members")[2]["members"]
    assert [m["address"] for m in members] == ["10.0.0.5"]
    status, _h, body = http("POST", f"{admin}/loadbalancers/{record['id']}/fail", {})
    assert status == 202
    assert lbsim.loadbalancer(record["id"])["provisioning_status"] == "ERROR"

    status, _h, body = http("PATCH", f"{admin}/config", {"lb_update_delay": 2})
    assert body["lb_update_delay"] == 2.0 and body["lb_provision_delay"] == LB_PROVISION
    assert http("PATCH", f"{admin}/config", {"lb_update_delay": -1})[0] == 400
    pending = lbsim.create_loadbalancer("later", settled=False)
    assert (pending["provisioning_status"], pending["pools"]) == ("PENDING_CREATE", [])
    assert http("POST", f"{admin}/reset")[0] == 204
    assert lbsim.loadbalancers() == [] and lbsim.lb_events() == []


def test_set_delays_changes_lb_delays(lbsim: NovaSimulator, clock: FakeClock) -> None:
    lbsim.set_delays(lb_provision_delay=5, lb_update_delay=3)
    lb = lbsim.lb_client().create_load_balancer(name="d", vip_network_id=PRIVATE_NETWORK_ID)
    clock.advance(4.9)
    assert lbsim.loadbalancer(lb.id)["provisioning_status"] == "PENDING_CREATE"
    clock.advance(0.1)
    assert lbsim.loadbalancer(lb.id)["provisioning_status"] == "ACTIVE"


# -- persistence and settings ---------------------------------------------------
def test_load_balancers_survive_a_new_simulator(tmp_path: Path) -> None:
    state_file = str(tmp_path / "state.json")
    clock = FakeClock()
    with NovaSimulator(state_file=state_file, clock=clock, lb_update_delay=10) as first:
        lb = first.create_loadbalancer("kept")
        pool_id = lb["pools"][0]["id"]
        member = first.lb_client().create_member(pool_id, address="10.0.0.5", protocol_port=80)
    clock.advance(60)
    with NovaSimulator(state_file=state_file, clock=clock) as second:
        [member_record] = second.pool_members(pool_id)
        assert (member_record["id"], member_record["provisioning_status"]) == (member.id, "ACTIVE")
        second.lb_client().delete_member(member.id, pool_id)
        assert [e["seq"] for e in second.lb_events()] == [1, 2, 3, 4]


def test_delay_settings_from_config_and_cli() -> None:
    with pytest.raises(SimulatorConfigError, match="lb_update_delay"):
        NovaSimulator(lb_update_delay=-1)
    args = build_parser().parse_args(["--lb-provision-delay", "3", "--lb-update-delay", "0.5"])
    config = load_config(args)
    assert (config.lb_provision_delay, config.lb_update_delay) == (3.0, 0.5)
