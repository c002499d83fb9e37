"""The lazily derived lifecycle, address pools and fault rules, without HTTP."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowstack.nova_sim.config import NetworkSpec
from flowstack.nova_sim.errors import SimulatorConfigError
from flowstack.nova_sim.faults import FaultConfig, FaultInjector, Subject
from flowstack.nova_sim.lifecycle import ServerRecord, history, observe, settle_failed_delete
from flowstack.nova_sim.network import Ipam


def record(**changes: object) -> ServerRecord:
    base = ServerRecord(
        id="s1",
        name="web",
        seq=1,
        project_id="p",
        user_id="u",
        request_id="req-1",
        created_at=100.0,
        build_delay=8.0,
        flavor={"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "vcpus": 1},
        image_id="img",
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_build_phases_then_active() -> None:
    server = record()
    phases = [observe(server, 100.0 + t).task_state for t in (0, 2, 4, 6)]
    assert phases == ["scheduling", "networking", "block_device_mapping", "spawning"]
    assert observe(server, 107.9).status == "BUILD"
    active = observe(server, 108.0)
    assert (active.status, active.vm_state, active.task_state) == ("ACTIVE", "active", None)
    assert active.launched_at == 108.0


def test_build_fault_gives_error_and_frees_ports() -> None:
    server = record(build_fault={"code": 500, "message": "boom", "created": 108.0})
    seen = observe(server, 200.0)
    assert seen.status == "ERROR" and seen.fault["message"] == "boom"
    assert not seen.holds_ports and not seen.gone


def test_delete_freezes_status_then_gone() -> None:
    server = record(delete_requested_at=104.0, delete_completes_at=110.0)
    during = observe(server, 109.0)
    assert (during.status, during.task_state) == ("BUILD", "deleting")  # never became ACTIVE
    after = observe(server, 110.0)
    assert after.gone and after.status == "DELETED" and after.terminated_at == 110.0


def test_hanging_delete_never_completes() -> None:
    server = record(delete_requested_at=120.0, delete_completes_at=None)
    assert observe(server, 10**9).task_state == "deleting"


def test_failed_async_delete_then_retry() -> None:
    fault = {"code": 500, "message": "nope", "created": 125.0}
    server = record(delete_requested_at=120.0, delete_completes_at=125.0, delete_fault=fault)
    assert observe(server, 124.0).task_state == "deleting"
    failed = observe(server, 126.0)
    assert (failed.status, failed.task_state, failed.fault) == ("ERROR", None, fault)
    settle_failed_delete(server, 130.0)
    server.delete_requested_at, server.delete_completes_at = 130.0, 131.0
    assert observe(server, 130.5).status == "ERROR"
    assert observe(server, 130.5).task_state == "deleting"
    assert observe(server, 131.0).gone
    statuses = [e.get("status") for e in history(server, 140.0) if e["event"] == "status"]
    assert statuses == ["ACTIVE", "ERROR", "DELETED"]


def test_round_trip_through_json_dict() -> None:
    server = record(metadata={"a": "b"}, delete_requested_at=150.0, delete_completes_at=151.0)
    assert ServerRecord.from_dict(server.to_dict()) == server


# -- addresses --------------------------------------------------------------------
def test_ipam_skips_gateway_and_dhcp_and_grows() -> None:
    ipam = Ipam(NetworkSpec("private", "net", cidr="10.0.0.0/29", subnet_pool="10.0.0.0/28"))
    held = lambda owner: True  # noqa: E731
    first = [ipam.allocate(f"s{i}", held) for i in range(4)]
    assert first == ["10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    grown = [ipam.allocate(f"t{i}", held) for i in range(4)]
    assert grown == ["10.0.0.11", "10.0.0.12", "10.0.0.13", "10.0.0.14"]
    assert ipam.allocate("none-left", held) is None


def test_ipam_reuses_addresses_of_gone_servers() -> None:
    ipam = Ipam(NetworkSpec("private", "net", cidr="10.0.0.0/29", subnet_pool=None))
    alive = {"a", "b", "c", "d"}
    for owner in sorted(alive):
        ipam.allocate(owner, lambda o: o in alive)
    alive.discard("b")
    assert ipam.allocate("e", lambda o: o in alive) == "10.0.0.4"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=80))
def test_live_servers_never_share_an_address(ops: list[tuple[bool, int]]) -> None:
    ipam = Ipam(NetworkSpec("private", "net", cidr="10.0.0.0/28", subnet_pool="10.0.0.0/24"))
    alive: dict[str, str] = {}
    counter = 0
    for create, pick in ops:
        if create or not alive:
            counter += 1
            owner = f"s{counter}"
            address = ipam.allocate(owner, lambda o: o in alive)
            assert address is not None
            alive[owner] = address
        else:
            del alive[sorted(alive)[pick % len(alive)]]
        addresses = list(alive.values())
        assert len(addresses) == len(set(addresses))
        for address in addresses:
            host = ipaddress.IPv4Address(address)
            assert host in ipaddress.IPv4Network("10.0.0.0/24")
            assert int(host) % 16 not in (0, 1, 2, 15)  # network, gateway, DHCP, broadcast


# -- fault rules --------------------------------------------------------------------
def test_every_nth_counts_only_matching_events() -> None:
    faults = FaultInjector({"build_errors": [{"every_nth": 2, "name_regex": "^w"}]})
    fired = [
        faults.build_error(Subject(name)) is not None for name in ["w1", "x", "w2", "w3", "w4"]
    ]
    assert fired == [False, False, True, False, True]


def test_times_limits_a_rule() -> None:
    faults = FaultInjector({"api_errors": [{"path": "/servers", "times": 2}]})
    assert [faults.api_error("GET", "/v2.1/servers") is not None for _ in range(4)] == [
        True,
        True,
        False,
        False,
    ]
    assert faults.api_error("GET", "/v2.1/flavors") is None


def test_update_keeps_counters_and_appends() -> None:
    faults = FaultInjector({"delete_errors": [{"times": 1}]})
    assert faults.delete_error(Subject("a")) is not None
    faults.update({"delete_errors": [{"status": 503}]})
    snapshot = faults.snapshot()
    assert [r["fired"] for r in snapshot["delete_errors"]] == [1, 0]
    rule = faults.delete_error(Subject("a"))
    assert rule is not None and rule.status == 503


@pytest.mark.parametrize(
    "bad",
    [
        {"build_errors": [{"rate": 2}]},
        {"build_errors": [{"name_regex": "("}]},
        {"api_errors": [{"status": 200}]},
        {"lost_responses": [{"mode": "vanish"}]},
        {"delete_errors": [{"unknown": 1}]},
        {"quota": {"servers": 1}},
        {"build_errors": {"every_nth": 2}},
    ],
)
def test_invalid_fault_rules_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(SimulatorConfigError):
        FaultConfig.from_dict(bad)


def test_fault_config_round_trips() -> None:
    data = {
        "seed": 3,
        "quota": {"instances": 4, "cores": None, "ram": None},
        "build_errors": [{"rate": 0.5, "message": "m"}],
        "lost_responses": [{"mode": "drop", "times": 1}],
    }
    config = FaultConfig.from_dict(data)
    assert FaultConfig.from_dict(config.to_dict(counters=False)).to_dict() == config.to_dict()
