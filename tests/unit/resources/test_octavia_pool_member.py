"""OS::Octavia::PoolMember driven step by step against a real NovaSimulator over HTTP.

Each test plays the part of the flow's tasks (record the intent, handle_create,
poll; handle_delete, poll) through openstacksdk's load-balancer proxy; order is
proved from the simulator's event log.  The [octavia] options and
``Clients.octavia()`` are tested here too, since the plugin is their reason to exist.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from flowstack import exceptions
from flowstack.clients import Clients
from flowstack.clients.octavia import OctaviaTransientError
from flowstack.conf import nova as nova_conf
from flowstack.conf import octavia as octavia_conf
from flowstack.nova_sim import NovaSimulator
from flowstack.resources.base import StackInfo
from flowstack.resources.types.octavia_pool_member import TAG_PREFIX, PoolMember
from flowstack.schema import properties as p

STACK = StackInfo(id="0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", name="shop", project_id="p")
RETRIES = 3
DRAIN = 0.3
UPDATE = 0.1
ADDRESS = "10.0.0.5"


@pytest.fixture
def sim() -> Iterator[NovaSimulator]:
    with NovaSimulator(
        build_delay=0.05, delete_delay=0.05, lb_provision_delay=UPDATE, lb_update_delay=UPDATE
    ) as simulator:
        yield simulator


@pytest.fixture
def octavia_settings(conf: cfg.ConfigOpts, sim: NovaSimulator) -> cfg.ConfigOpts:
    nova_conf.register_opts(conf)
    octavia_conf.register_opts(conf)
    conf.set_override("endpoint_override", sim.lb_endpoint, group="octavia")
    conf.set_override("api_retries", RETRIES, group="octavia")
    conf.set_override("drain_timeout", DRAIN, group="octavia")
    conf.set_override("provisioning_timeout", 5, group="octavia")
    return conf


@pytest.fixture
def clients(octavia_settings: cfg.ConfigOpts, sim: NovaSimulator) -> Iterator[Clients]:
    with Clients(octavia_settings, endpoint_override=sim.endpoint) as built:
        yield built


@pytest.fixture
def lb(sim: NovaSimulator) -> dict[str, Any]:
    """An ACTIVE load balancer with one empty pool, ``web-pool``."""
    return sim.create_loadbalancer("web")


def pool_of(lb: dict[str, Any]) -> str:
    return str(lb["pools"][0]["id"])


def props(**given: Any) -> dict[str, Any]:
    given.setdefault("pool", "web-pool")
    given.setdefault("address", ADDRESS)
    given.setdefault("protocol_port", 80)
    values, errors, _ = p.validate_properties(PoolMember.properties_schema, given, "props")
    assert not errors, errors
    return values


def plugin(clients: Clients, name: str = "member", **state: Any) -> PoolMember:
    return PoolMember(name, STACK, clients=clients, **state)


def start(member: PoolMember, properties: dict[str, Any]) -> PoolMember:
    """What CreateResource does: record the intent, then handle_create."""
    member.data["intent"] = member.intent(properties)
    member.handle_create(properties)
    return member


def reload(member: PoolMember, *, physical_id: bool = True) -> PoolMember:
    """The plugin as a re-executed task loads it from the database."""
    return PoolMember(
        member.name,
        member.stack,
        physical_id=member.physical_id if physical_id else None,
        data=json.loads(json.dumps(member.data)),
        clients=member.clients,
    )


def wait(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def create(clients: Clients, name: str = "member", **given: Any) -> PoolMember:
    member = start(plugin(clients, name), props(**given))
    wait(member.check_create_complete)
    return member


def delete(member: PoolMember) -> None:
    member.handle_delete()
    wait(member.check_delete_complete)


def member_events(sim: NovaSimulator) -> list[tuple[str, dict[str, Any] | None]]:
    return [(e["event"], e.get("changes")) for e in sim.lb_events(kind="member")]


# -- create ------------------------------------------------------------------------------


def test_create_adds_the_member_and_exposes_heat_attributes(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = start(plugin(clients), props(weight=3, tags=["blue"]))
    assert member.data["pool_id"] == pool_of(lb)  # the pool given by name, recorded by id
    assert member.check_create_complete() is False  # creating: PENDING_CREATE
    wait(member.check_create_complete)
    [record] = sim.pool_members(pool_of(lb))
    assert record["id"] == member.physical_id
    assert (record["address"], record["protocol_port"], record["weight"]) == (ADDRESS, 80, 3)
    assert record["tags"] == ["blue", f"{TAG_PREFIX}{STACK.id}:member"]
    assert record["provisioning_status"] == "ACTIVE"
    values = member.attributes()
    assert {k: v for k, v in values.items() if k != "show"} == {
        "address": ADDRESS,
        "pool_id": pool_of(lb),
        "protocol_port": 80,
        "weight": 3,
        "operating_status": "ONLINE",
        "provisioning_status": "ACTIVE",
    }
    assert values["show"]["id"] == member.physical_id
    assert values["show"]["admin_state_up"] is True
    assert reload(member).attributes()["weight"] == 3  # one GET after a reload
    assert member.data["in_service"] is True
    assert member.health() is None


def test_optional_properties_reach_octavia(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = create(clients, admin_state_up=False, monitor_address="10.0.0.50", monitor_port=81)
    [record] = sim.pool_members(pool_of(lb))
    assert (record["admin_state_up"], record["monitor_address"], record["monitor_port"]) == (
        False,
        "10.0.0.50",
        81,
    )
    assert member.attributes()["operating_status"] == "OFFLINE"


def test_create_waits_for_a_busy_load_balancer(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    sim.set_delays(lb_update_delay=1.0)  # long enough for the first poll to see it busy
    sim.lb_client().create_member(pool_of(lb), address="10.0.0.99", protocol_port=80)
    sim.set_delays(lb_update_delay=UPDATE)
    member = start(plugin(clients), props())
    assert member.check_create_complete() is False  # PENDING_UPDATE: nothing sent
    assert [e["address"] for e in sim.lb_events(event="member-create")] == ["10.0.0.99"]
    wait(member.check_create_complete)
    assert [e["address"] for e in sim.lb_events(event="member-create")] == ["10.0.0.99", ADDRESS]


def test_a_409_immutable_answer_is_polled_again(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    sim.set_faults(lb_immutable=[{"resource": "member", "operation": "create", "times": 2}])
    member = start(plugin(clients), props())
    assert member.check_create_complete() is False
    assert member.check_create_complete() is False
    wait(member.check_create_complete)
    assert sim.fault_config["lb_immutable"][0]["fired"] == 2
    assert [r["id"] for r in sim.pool_members(pool_of(lb))] == [member.physical_id]


def test_an_existing_member_is_adopted_never_added_twice(
    clients: Clients, sim: NovaSimulator
) -> None:
    lb = sim.create_loadbalancer("web", members=[{"address": ADDRESS, "protocol_port": 80}])
    [existing] = sim.pool_members(pool_of(lb))
    member = create(clients, pool=pool_of(lb))
    assert member.physical_id == existing["id"]
    assert len(sim.lb_events(event="member-create")) == 1  # the simulator's own, not ours


def test_a_lost_create_answer_is_adopted(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    sim.set_faults(
        lost_responses=[{"method": "POST", "path": "/members$", "mode": "error", "times": 1}]
    )
    member = create(clients)
    assert len(sim.lb_events(event="member-create")) == 1
    assert [r["id"] for r in sim.pool_members(pool_of(lb))] == [member.physical_id]
    # A create re-executed without the member's id finds it too.
    again = reload(member, physical_id=False)
    wait(again.check_create_complete)
    assert again.physical_id == member.physical_id
    assert len(sim.lb_events(event="member-create")) == 1


def test_an_unknown_pool_fails_at_once_naming_it(clients: Clients, sim: NovaSimulator) -> None:
    with pytest.raises(exceptions.ResourceFailure, match="pool 'nope' not found"):
        start(plugin(clients), props(pool="nope"))
    failed = plugin(clients, data={"intent": {"pool": "nope"}})
    delete(failed)  # a rollback has nothing to remove
    assert sim.lb_events(kind="member") == []


def test_a_load_balancer_in_error_fails_clearly(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = start(plugin(clients), props())
    sim.fail_loadbalancer(lb["id"])
    with pytest.raises(exceptions.ResourceFailure, match=f"load balancer {lb['id']} is in ERROR"):
        member.check_create_complete()
    delete(member)  # nothing was created: the rollback is done at once
    assert sim.lb_events(kind="member") == []


def test_a_provisioning_error_fails_and_rolls_back_without_draining(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    sim.set_faults(lb_provisioning_errors=[{"resource": "member", "address": ADDRESS}])
    member = start(plugin(clients), props())
    with pytest.raises(exceptions.ResourceFailure, match="provisioning_status ERROR"):
        wait(member.check_create_complete)
    delete(member)
    assert member_events(sim) == [("member-create", None), ("member-delete", None)]
    assert sim.pool_members(pool_of(lb)) == []


def test_an_unsupported_request_fails_with_octavias_reason(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    with pytest.raises(exceptions.ResourceFailure, match="give the subnet's id"):
        start(plugin(clients), props(subnet="private-subnet"))
    member = start(plugin(clients), props(subnet="11111111-2222-3333-4444-555555555555"))
    with pytest.raises(exceptions.ResourceFailure, match=r"HTTP 400.*Subnet .* not found"):
        wait(member.check_create_complete)


def test_transient_errors_are_retried_then_given_up(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    sim.set_faults(lb_errors=[{"method": "POST", "path": "/members$", "status": 503, "times": 2}])
    create(clients, name="bumpy")
    sim.set_faults(lb_errors=[{"method": "POST", "path": "/members$", "status": 500}])
    member = start(plugin(clients, "broken"), props(address="10.0.0.6"))
    with pytest.raises(exceptions.ResourceFailure, match=r"HTTP 500.*gave up after 4 attempts"):
        wait(member.check_create_complete)
    assert [r["address"] for r in sim.pool_members(pool_of(lb))] == [ADDRESS]


def test_provisioning_timeout(
    octavia_settings: cfg.ConfigOpts, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    octavia_settings.set_override("provisioning_timeout", 1, group="octavia")
    sim.set_delays(lb_update_delay=30)
    with Clients(octavia_settings, endpoint_override=sim.endpoint) as clients:
        member = start(plugin(clients), props())
        with pytest.raises(exceptions.ResourceFailure, match="still PENDING_CREATE after"):
            wait(member.check_create_complete)


# -- delete ------------------------------------------------------------------------------


def test_delete_drains_then_removes_after_the_drain_timeout(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = create(clients)
    member.handle_delete()
    assert member.check_delete_complete() is False
    [record] = sim.pool_members(pool_of(lb))
    assert record["weight"] == 0  # drained: no new connections, the member still there
    wait(member.check_delete_complete)
    assert sim.pool_members(pool_of(lb)) == []
    update, removal = sim.lb_events(after=sim.lb_events(event="member-create")[0]["seq"])
    assert (update["event"], update["changes"]) == ("member-update", {"weight": [1, 0]})
    assert removal["event"] == "member-delete"
    assert removal["at"] - update["at"] >= DRAIN


def test_no_drain_when_the_drain_timeout_is_zero(
    octavia_settings: cfg.ConfigOpts, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    octavia_settings.set_override("drain_timeout", 0, group="octavia")
    with Clients(octavia_settings, endpoint_override=sim.endpoint) as clients:
        delete(create(clients))
    assert member_events(sim) == [("member-create", None), ("member-delete", None)]


def test_rollback_without_the_member_id_finds_it_by_tag_and_skips_draining(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = start(plugin(clients), props())
    member.check_create_complete()  # sent: PENDING_CREATE, so the delete first meets a 409
    assert member.physical_id
    lost = reload(member, physical_id=False)
    delete(lost)
    assert lost.physical_id == member.physical_id
    assert member_events(sim) == [("member-create", None), ("member-delete", None)]
    assert sim.pool_members(pool_of(lb)) == []


def test_rollback_leaves_a_member_that_is_not_its_own(clients: Clients, sim: NovaSimulator) -> None:
    lb = sim.create_loadbalancer("web", members=[{"address": ADDRESS, "protocol_port": 80}])
    sim.fail_loadbalancer(lb["id"])
    member = start(plugin(clients), props(pool=pool_of(lb)))
    with pytest.raises(exceptions.ResourceFailure, match="is in ERROR"):
        member.check_create_complete()
    delete(member)  # found by address and port, but untagged: someone else's
    assert len(sim.pool_members(pool_of(lb))) == 1


def test_409_immutable_while_deleting_is_polled_again(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = create(clients)
    sim.set_faults(
        lb_immutable=[
            {"resource": "member", "operation": "update", "times": 2},
            {"resource": "member", "operation": "delete", "times": 2},
        ]
    )
    delete(member)
    assert [e for e, _ in member_events(sim)] == ["member-create", "member-update", "member-delete"]
    assert [r["fired"] for r in sim.fault_config["lb_immutable"]] == [2, 2]


def test_a_load_balancer_in_error_fails_the_delete_clearly(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = create(clients)
    sim.fail_loadbalancer(lb["id"])
    member.handle_delete()
    with pytest.raises(exceptions.ResourceFailure, match=f"load balancer {lb['id']} is in ERROR"):
        member.check_delete_complete()


def test_delete_when_the_member_pool_or_load_balancer_is_gone(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    first, second = create(clients, "first"), create(clients, "second", address="10.0.0.6")
    octavia = sim.lb_client()
    octavia.delete_member(first.physical_id, pool_of(lb))
    wait(lambda: len(sim.pool_members(pool_of(lb))) == 1)
    assert first.health() == f"member {first.physical_id} ({ADDRESS}:80) is gone from the pool"
    delete(first)
    octavia.delete_load_balancer(lb["id"], cascade=True)
    wait(lambda: sim.loadbalancers(live_only=True) == [])
    delete(second)
    assert [e for e, _ in member_events(sim)] == ["member-create"] * 2 + ["member-delete"]


def test_health_reports_a_member_in_error(
    clients: Clients, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    member = create(clients)
    sim.set_faults(lb_provisioning_errors=[{"resource": "member", "operation": "update"}])
    sim.lb_client().update_member(member.physical_id, pool_of(lb), weight=2)
    wait(lambda: member.health() is not None)
    assert "is in provisioning_status ERROR" in str(member.health())


# -- validation --------------------------------------------------------------------------


def test_properties_are_checked_as_heat_checks_them() -> None:
    schema = PoolMember.properties_schema
    base = {"pool": "p", "address": ADDRESS}
    for given, message in [
        ({"protocol_port": 70000}, "protocol_port"),
        ({"protocol_port": 80, "weight": 257}, "weight"),
        ({"protocol_port": 80, "monitor_port": 0}, "monitor_port"),
    ]:
        _, errors, _ = p.validate_properties(schema, {**base, **given}, "props")
        assert [e.path for e in errors] == [f"props.{message}"]
    assert [e.path for e in p.validate_properties(schema, {"pool": "p"}, "props")[1]] == [
        "props.address",
        "props.protocol_port",
    ]
    [error] = PoolMember.check_properties({"address": "web-1"}, "props", None)
    assert (error.path, error.message) == ("props.address", "'web-1' is not an IP address")
    assert PoolMember.check_properties({"address": p.DEFERRED}, "props", None) == []


def test_intent_is_pool_address_and_port(clients: Clients) -> None:
    assert plugin(clients).intent(props(address="fd00:0::1", protocol_port=443)) == {
        "pool": "web-pool",
        "address": "fd00::1",
        "protocol_port": 443,
    }


# -- clients and options -----------------------------------------------------------------


def test_the_proxy_is_built_once_and_closed(clients: Clients, lb: dict[str, Any]) -> None:
    proxy = clients.octavia()
    assert clients.octavia() is proxy
    assert [x.id for x in proxy.load_balancers()] == [lb["id"]]
    settings = clients.octavia_settings
    assert (settings.api_retries, settings.drain_timeout) == (RETRIES, DRAIN)
    assert settings.backoff(2) == 4 * settings.retry_delay
    clients.close()
    assert clients.octavia() is not proxy  # built again on demand


def test_the_embedded_simulator_serves_octavia_too(conf: cfg.ConfigOpts) -> None:
    with Clients(conf) as clients:
        simulator = clients.embedded_simulator()
        lb = simulator.create_loadbalancer("embedded")
        assert [x.id for x in clients.octavia().load_balancers()] == [lb["id"]]


def test_octavia_needs_a_place_when_nova_is_not_embedded(
    conf: cfg.ConfigOpts, sim: NovaSimulator
) -> None:
    with (
        Clients(conf, endpoint_override=sim.endpoint) as clients,
        pytest.raises(exceptions.ConfigError, match=r"\[octavia\] has neither auth_type"),
    ):
        clients.octavia()


def test_octavia_from_the_service_catalog(
    octavia_settings: cfg.ConfigOpts, sim: NovaSimulator, lb: dict[str, Any]
) -> None:
    conf = octavia_settings
    conf.register_opts(ks_loading.get_auth_plugin_conf_options("password"), group="octavia")
    conf.clear_override("endpoint_override", group="octavia")
    for name, value in {
        "auth_type": "password",
        "auth_url": sim.identity_url,
        "username": "demo",
        "password": "secret",
        "project_name": "demo",
        "user_domain_id": "default",
        "project_domain_id": "default",
    }.items():
        conf.set_override(name, value, group="octavia")
    with Clients(conf, endpoint_override=sim.endpoint) as clients:
        assert clients.octavia().get_pool(pool_of(lb)).name == "web-pool"


def test_octavia_unreachable_is_transient(conf: cfg.ConfigOpts, sim: NovaSimulator) -> None:
    octavia_conf.register_opts(conf)
    conf.set_override("endpoint_override", "http://127.0.0.1:9/load-balancer", group="octavia")
    with Clients(conf, endpoint_override=sim.endpoint) as clients:
        with pytest.raises(OctaviaTransientError, match="cannot reach Octavia"):
            clients.octavia()
        with pytest.raises(exceptions.ResourceFailure, match="gave up after 4 attempts"):
            start(plugin(clients), props())


def test_options_are_listed_with_flowstack_defaults() -> None:
    [(group, opts)] = octavia_conf.list_opts()
    by_name = {opt.dest: opt for opt in opts}
    assert group.name == "octavia"
    assert by_name["service_type"].default == "load-balancer"
    assert by_name["valid_interfaces"].default == ["internal", "public"]
    assert by_name["timeout"].default == octavia_conf.DEFAULT_HTTP_TIMEOUT == 60
    assert (by_name["api_retries"].default, by_name["provisioning_timeout"].default) == (3, 300)
    assert (by_name["drain_timeout"].default, by_name["drain_timeout"].type.min) == (30, 0)
    assert {"auth_type", "auth_url", "password", "region_name", "endpoint_override"} <= set(by_name)
    assert "interface" not in by_name
