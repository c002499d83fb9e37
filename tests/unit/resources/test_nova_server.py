"""OS::Nova::Server driven step by step against a real NovaSimulator over HTTP.

Each test plays the part of the flow's tasks: record the intent, call
``handle_create``, poll, and — to imitate a crash — rebuild the plugin from
what the task would have persisted (``physical_id`` and a JSON copy of
``data``).  The clients, the custom constraints and the [nova] options are
tested here too, since the plugin is their reason to exist.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from flowstack import exceptions
from flowstack.clients import Clients, NovaUnreachable
from flowstack.conf import nova as nova_conf
from flowstack.nova_sim import CIRROS_IMAGE_ID, PRIVATE_NETWORK_ID, NovaSimulator
from flowstack.resources.base import StackInfo
from flowstack.resources.constraints import nova_constraints
from flowstack.resources.types.nova_server import NAME_LIMIT, TAG_RESOURCE, TAG_STACK, NovaServer
from flowstack.schema import properties as p

STACK = StackInfo(id="5d4e3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c", name="shop", project_id="p")
RETRIES = 3
CLOSED_PORT_ENDPOINT = "http://127.0.0.1:9/v2.1"  # discard port: nothing listens


@pytest.fixture
def sim() -> Iterator[NovaSimulator]:
    with NovaSimulator(build_delay=0.05, delete_delay=0.05) as simulator:
        yield simulator


@pytest.fixture
def nova_conf_(conf: cfg.ConfigOpts) -> cfg.ConfigOpts:
    nova_conf.register_opts(conf)
    conf.set_override("api_retries", RETRIES, group="nova")
    return conf


@pytest.fixture
def clients(nova_conf_: cfg.ConfigOpts, sim: NovaSimulator) -> Iterator[Clients]:
    with Clients(nova_conf_, endpoint_override=sim.endpoint) as built:
        yield built


def props(**given: Any) -> dict[str, Any]:
    given.setdefault("image", "cirros")
    given.setdefault("flavor", "m1.tiny")
    values, errors, _ = p.validate_properties(NovaServer.properties_schema, given, "props")
    assert not errors, errors
    return values


def plugin(clients: Clients, name: str = "web", **state: Any) -> NovaServer:
    return NovaServer(name, STACK, clients=clients, **state)


def start(server: NovaServer, properties: dict[str, Any]) -> NovaServer:
    """What CreateResource does: record the intent, then handle_create."""
    server.data["intent"] = server.intent(properties)
    server.handle_create(properties)
    return server


def reload(server: NovaServer, *, physical_id: bool = True) -> NovaServer:
    """The plugin as a re-executed task loads it from the database."""
    return NovaServer(
        server.name,
        server.stack,
        physical_id=server.physical_id if physical_id else None,
        data=json.loads(json.dumps(server.data)),
        clients=server.clients,
    )


def wait(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def create(clients: Clients, name: str = "web", **given: Any) -> NovaServer:
    server = start(plugin(clients, name), props(**given))
    wait(server.check_create_complete)
    return server


def delete(server: NovaServer) -> None:
    server.handle_delete()
    wait(server.check_delete_complete)


def live(sim: NovaSimulator) -> list[dict[str, Any]]:
    return sim.live_servers()


# -- create ------------------------------------------------------------------------------


def test_create_tags_the_server_and_exposes_heat_attributes(
    clients: Clients, sim: NovaSimulator
) -> None:
    server = create(clients, metadata={"tier": "web", "replicas": 2})
    [record] = live(sim)
    assert record["id"] == server.physical_id
    assert record["name"].startswith("shop-web-") and len(record["name"]) <= NAME_LIMIT
    assert record["metadata"] == {
        "tier": "web",
        "replicas": "2",  # Heat serializes non-strings to JSON
        TAG_STACK: STACK.id,
        TAG_RESOURCE: "web",
    }
    values = server.attributes()
    ip = record["addresses"][0]
    assert values["networks"] == {"private": [ip]}
    assert values["first_address"] == ip
    assert values["addresses"]["private"][0]["addr"] == ip
    assert values["name"] == record["name"]
    assert values["accessIPv4"] == ""
    assert values["show"]["id"] == server.physical_id
    assert "adminPass" not in json.dumps(values) and "adminPass" not in json.dumps(server.data)
    # Attributes come from the poll that saw ACTIVE, or from one GET after a reload.
    assert reload(server).attributes()["networks"] == values["networks"]


def test_intent_is_deterministic_and_counts_runs(clients: Clients) -> None:
    first = plugin(clients).intent(props())
    assert first["name"] == plugin(clients).intent(props())["name"]
    assert first["tag"] == {TAG_STACK: STACK.id, TAG_RESOURCE: "web"}
    assert first["run"] == 1
    again = plugin(clients, data={"intent": first}).intent(props())
    assert again["run"] == 2 and again["name"] == first["name"]
    assert plugin(clients).intent(props(name="db-1"))["name"] == "db-1"
    long = NovaServer("r" * 80, StackInfo(STACK.id, "s" * 80, "p"), clients=clients)
    assert len(long.intent(props())["name"]) == NAME_LIMIT


def test_ids_or_names_and_a_fixed_ip(clients: Clients, sim: NovaSimulator) -> None:
    server = create(
        clients,
        image=CIRROS_IMAGE_ID,
        flavor="2",
        networks=[{"network": PRIVATE_NETWORK_ID, "fixed_ip": "10.0.0.42"}],
    )
    [record] = live(sim)
    assert record["flavor_id"] == "2" and record["image_id"] == CIRROS_IMAGE_ID
    assert server.attributes()["first_address"] == "10.0.0.42"


def test_microversion_is_explicit_and_2_37_gets_networks_auto(
    nova_conf_: cfg.ConfigOpts, sim: NovaSimulator
) -> None:
    nova_conf_.set_override("api_microversion", "2.37", group="nova")
    with Clients(nova_conf_, endpoint_override=sim.endpoint) as clients:
        assert clients.nova().api_version.get_string() == "2.37"
        server = create(clients)
        assert server.attributes()["networks"]["private"]


def test_bad_requests_fail_before_calling_nova(clients: Clients, sim: NovaSimulator) -> None:
    cases = [
        ({"metadata": {TAG_STACK: "x"}}, "reserved"),
        ({"networks": [{"network": PRIVATE_NETWORK_ID, "uuid": PRIVATE_NETWORK_ID}]}, "not both"),
        ({"networks": [{"fixed_ip": "10.0.0.9"}]}, "one of network, uuid or port"),
        ({"networks": [{"port": "p1", "network": "private"}]}, "give port alone"),
        ({"networks": [{"network": PRIVATE_NETWORK_ID, "fixed_ip": "ten"}]}, "not an IP"),
        ({"flavor": "m1.huge"}, "flavor 'm1.huge' not found"),
        ({"image": "windows"}, "image 'windows' not found"),
    ]
    for given, message in cases:
        with pytest.raises(exceptions.ResourceFailure, match=message):
            start(plugin(clients), props(**given))
    assert sim.all_servers() == []


def test_user_data_format_rejects_what_flowstack_cannot_honour() -> None:
    schema = NovaServer.properties_schema
    _, errors, _ = p.validate_properties(
        schema, {"image": "i", "flavor": "f", "user_data_format": "SOFTWARE_CONFIG"}, "props"
    )
    assert "SOFTWARE_CONFIG needs Heat software deployments" in errors[0].message
    for accepted in ("RAW", "HEAT_CFNTOOLS"):
        _, errors, _ = p.validate_properties(
            schema, {"image": "i", "flavor": "f", "user_data_format": accepted}, "props"
        )
        assert not errors


def test_secrets_stay_out_of_the_logs(
    clients: Clients, sim: NovaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    script = "#!/bin/sh\necho s3cret-token > /etc/app"
    with caplog.at_level(logging.DEBUG):
        create(clients, user_data=script, user_data_format="RAW")
    text = caplog.text
    assert "POST" in text  # the HTTP debug log is there, redacted
    assert base64.b64encode(script.encode()).decode() not in text
    assert "s3cret-token" not in text
    assert '"adminPass": "***"' in text and '"user_data": "***"' in text


# -- idempotency -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["error", "drop"])
def test_a_lost_create_response_adopts_the_server(
    clients: Clients, sim: NovaSimulator, mode: str
) -> None:
    sim.set_faults(lost_responses=[{"mode": mode, "times": 1}])
    server = create(clients)
    [record] = live(sim)
    assert server.physical_id == record["id"]
    assert server.data["create_sent"] is True


def test_a_lost_response_past_the_timeout_adopts_the_server(
    nova_conf_: cfg.ConfigOpts, sim: NovaSimulator
) -> None:
    nova_conf_.set_override("timeout", 1, group="nova")
    sim.set_faults(lost_responses=[{"mode": "delay", "delay": 3, "times": 1}])
    with Clients(nova_conf_, endpoint_override=sim.endpoint) as clients:
        server = create(clients)
    [record] = live(sim)
    assert server.physical_id == record["id"]


def test_a_re_executed_create_adopts_what_the_crashed_one_booted(
    clients: Clients, sim: NovaSimulator
) -> None:
    first = start(plugin(clients), props())
    # The crash came after Nova booted the server but before the task saved
    # anything but the intent: the re-executed task has the intent only.
    crashed = plugin(clients, data={"intent": first.data["intent"]})
    again = start(crashed, props())
    assert again.data["intent"]["run"] == 2
    assert again.physical_id == first.physical_id
    wait(again.check_create_complete)
    assert len(live(sim)) == 1


def test_a_re_execution_after_a_crash_before_booting_boots_once(
    clients: Clients, sim: NovaSimulator
) -> None:
    crashed = plugin(clients, data={"intent": plugin(clients).intent(props())})
    server = start(crashed, props())
    wait(server.check_create_complete)
    assert [r["id"] for r in live(sim)] == [server.physical_id]


def test_duplicates_found_on_adoption_are_deleted(clients: Clients, sim: NovaSimulator) -> None:
    intent = plugin(clients).intent(props())
    nova = sim.client()
    meta = dict(intent["tag"])
    ids = [nova.servers.create(intent["name"], CIRROS_IMAGE_ID, "1", meta=meta).id for _ in "ab"]
    other = nova.servers.create(intent["name"], CIRROS_IMAGE_ID, "1", meta={TAG_STACK: "other"})
    server = start(plugin(clients, data={"intent": intent}), props())
    assert server.physical_id == ids[0]  # the oldest
    wait(lambda: len(live(sim)) == 2)  # the duplicate goes; another stack's server stays
    assert {r["id"] for r in live(sim)} == {ids[0], other.id}


def test_a_failed_server_found_on_adoption_goes_even_if_its_first_delete_fails(
    clients: Clients, sim: NovaSimulator
) -> None:
    intent = plugin(clients).intent(props())
    nova = sim.client()
    failed = nova.servers.create(intent["name"], CIRROS_IMAGE_ID, "1", meta=dict(intent["tag"]))
    sim.fail_server(failed.id, "No valid host was found")
    sim.set_faults(
        api_errors=[{"method": "DELETE", "path": "/servers/", "status": 500, "times": 1}]
    )
    server = start(plugin(clients, data={"intent": intent}), props())
    assert server.physical_id != failed.id
    wait(server.check_create_complete)
    # Nothing else would ever delete it: the create must not finish without it gone.
    wait(lambda: [r["id"] for r in live(sim)] == [server.physical_id])


def test_transient_create_errors_are_retried(clients: Clients, sim: NovaSimulator) -> None:
    sim.set_faults(api_errors=[{"method": "POST", "path": "/servers$", "status": 503, "times": 2}])
    create(clients)
    assert len(live(sim)) == 1


def test_create_500s_give_up_with_the_reason(clients: Clients, sim: NovaSimulator) -> None:
    sim.set_faults(api_errors=[{"method": "POST", "path": "/servers$", "status": 500}])
    server = plugin(clients)
    with pytest.raises(exceptions.ResourceFailure, match=r"HTTP 500.*gave up after 4 attempts"):
        start(server, props())
    assert server.data["create_sent"] is True  # a 500 may hide a booted server
    delete(server)  # the rollback looks the tag up, finds nothing, is done
    assert sim.all_servers() == []


def test_over_quota_fails_with_novas_reason_and_rolls_back_without_calls(
    clients: Clients, sim: NovaSimulator
) -> None:
    sim.set_faults(quota={"instances": 0})
    server = plugin(clients)
    with pytest.raises(exceptions.ResourceFailure, match=r"HTTP 403.*Quota exceeded for instances"):
        start(server, props())
    assert server.data["create_sent"] is False
    sim.set_faults(api_errors=[{"status": 500}])  # any call now would fail
    delete(reload(server))


def test_nova_unreachable_fails_clearly_and_leaves_nothing_to_undo(
    nova_conf_: cfg.ConfigOpts,
) -> None:
    with Clients(nova_conf_, endpoint_override=CLOSED_PORT_ENDPOINT) as clients:
        server = plugin(clients)
        with pytest.raises(exceptions.ResourceFailure, match=r"unreachable.*connection refused"):
            start(server, props(image=CIRROS_IMAGE_ID, flavor="1"))
        assert server.data["create_sent"] is False
        delete(reload(server))  # nothing reached Nova: nothing to look up


# -- polling -----------------------------------------------------------------------------


def test_build_error_fails_with_novas_fault(clients: Clients, sim: NovaSimulator) -> None:
    sim.set_faults(build_errors=[{"message": "No valid host was found."}])
    server = start(plugin(clients), props())
    with pytest.raises(exceptions.ResourceFailure, match="went to ERROR: No valid host was found"):
        wait(server.check_create_complete)


def test_build_timeout(nova_conf_: cfg.ConfigOpts, sim: NovaSimulator) -> None:
    nova_conf_.set_override("build_timeout", 1, group="nova")
    sim.set_delays(build_delay=30)
    with Clients(nova_conf_, endpoint_override=sim.endpoint) as clients:
        server = start(plugin(clients), props())
        server.data["requested_at"] -= 2
        with pytest.raises(exceptions.ResourceFailure, match=r"still in BUILD.*build_timeout"):
            server.check_create_complete()


def test_transient_poll_errors_are_retried_a_bounded_number_of_times(
    clients: Clients, sim: NovaSimulator
) -> None:
    server = start(plugin(clients), props())
    sim.set_faults(api_errors=[{"method": "GET", "path": "/servers/[^/]+$", "times": RETRIES}])
    assert not server.check_create_complete()
    assert server.poll_delay(1.0) == 2.0  # backs off while Nova errs
    wait(server.check_create_complete)
    assert "poll_errors" not in server.data
    sim.set_faults(api_errors=[{"method": "GET", "path": "/servers/[^/]+$"}])
    with pytest.raises(exceptions.ResourceFailure, match=r"HTTP 500.*4 checks in a row"):
        wait(server.check_create_complete)


# -- delete ------------------------------------------------------------------------------


def test_delete_waits_until_gone_and_tolerates_already_gone(
    clients: Clients, sim: NovaSimulator
) -> None:
    server = create(clients)
    delete(server)
    assert live(sim) == []
    delete(reload(server))  # deleted again (a resumed flow): 404 counts as gone


def test_rollback_without_a_server_id_finds_it_by_tag(clients: Clients, sim: NovaSimulator) -> None:
    start(plugin(clients), props())
    # A create whose reply was lost and whose task then failed: no physical id.
    orphan_maker = plugin(clients, data={"intent": plugin(clients).intent(props())})
    orphan_maker.data["create_sent"] = True
    delete(orphan_maker)
    assert live(sim) == []


def test_transient_delete_errors_are_retried(clients: Clients, sim: NovaSimulator) -> None:
    server = create(clients)
    sim.set_faults(delete_errors=[{"status": 503, "times": RETRIES}])
    delete(server)
    assert live(sim) == []


def test_a_delete_that_keeps_failing_names_the_server(clients: Clients, sim: NovaSimulator) -> None:
    server = create(clients)
    sim.set_faults(delete_errors=[{"status": 500}])
    with pytest.raises(exceptions.ResourceFailure) as failure:
        server.handle_delete()
    assert server.physical_id in failure.value.reason
    assert "HTTP 500" in failure.value.reason


def test_a_delete_nova_fails_afterwards_is_asked_again(
    clients: Clients, sim: NovaSimulator
) -> None:
    server = create(clients)
    sim.set_faults(delete_errors=[{"mode": "async", "times": 1}])
    delete(server)
    assert live(sim) == []
    server = create(clients, "db")
    sim.set_faults(delete_errors=[{"mode": "async", "message": "compute host on fire"}])
    with pytest.raises(exceptions.ResourceFailure, match=r"was not deleted.*host on fire"):
        delete(server)


def test_delete_timeout(nova_conf_: cfg.ConfigOpts, sim: NovaSimulator) -> None:
    nova_conf_.set_override("delete_timeout", 1, group="nova")
    with Clients(nova_conf_, endpoint_override=sim.endpoint) as clients:
        server = create(clients)
        sim.set_faults(delete_hangs=[{"seconds": None}])
        server.handle_delete()
        server.data["delete_requested_at"] -= 2
        with pytest.raises(exceptions.ResourceFailure, match=r"still exists.*delete_timeout"):
            server.check_delete_complete()


# -- clients, constraints, options -------------------------------------------------------


def test_constraints_check_against_nova(clients: Clients, sim: NovaSimulator) -> None:
    sim.client().keypairs.create("deployer")
    checks = nova_constraints(clients)
    for name, good in (("nova.flavor", "m1.small"), ("glance.image", "cirros")):
        checks[name](good)
    checks["nova.flavor"]("3")
    checks["glance.image"](CIRROS_IMAGE_ID)
    checks["nova.keypair"]("deployer")
    checks["neutron.network"]("private")
    checks["neutron.network"](PRIVATE_NETWORK_ID)
    for name, bad, message in (
        ("nova.flavor", "m1.huge", "flavor 'm1.huge' not found"),
        ("glance.image", "windows", "image 'windows' not found"),
        ("nova.keypair", "nobody", "keypair 'nobody' not found"),
        ("neutron.network", "public", "network 'public' not found"),
    ):
        with pytest.raises(ValueError, match=message):
            checks[name](bad)


def test_constraints_do_not_blame_the_value_when_nova_is_down(
    nova_conf_: cfg.ConfigOpts,
) -> None:
    with (
        Clients(nova_conf_, endpoint_override=CLOSED_PORT_ENDPOINT) as clients,
        pytest.raises(NovaUnreachable, match=re.escape("unreachable at http://127.0.0.1:9")),
    ):
        nova_constraints(clients)["nova.flavor"]("m1.small")


def test_embedded_simulator_when_nothing_is_configured(nova_conf_: cfg.ConfigOpts) -> None:
    with Clients(nova_conf_) as clients:
        assert clients.find_flavor("m1.tiny")["id"] == "1"
        assert clients.endpoint and clients.endpoint.startswith("http://127.0.0.1:")
        clients.nova().keypairs.create("deployer")
    with Clients(nova_conf_) as clients:  # the next command sees the same cloud
        assert clients.find_keypair("deployer") == "deployer"
    nova_conf_.set_override("embedded_simulator", False, group="nova")
    with pytest.raises(exceptions.ConfigError, match="embedded_simulator is false"):
        Clients(nova_conf_).nova()


def test_keystone_auth_from_the_options(
    nova_conf_: cfg.ConfigOpts, sim: NovaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Password auth and the service catalog, configured as against a real cloud."""
    # A config file would name these; overriding them needs them registered.
    nova_conf_.register_opts(ks_loading.get_auth_plugin_conf_options("password"), group="nova")
    for name, value in {
        "auth_type": "password",
        "auth_url": sim.identity_url,
        "username": "demo",
        "password": "pa55-w0rd",
        "project_name": "demo",
        "user_domain_id": "default",
        "project_domain_id": "default",
        "region_name": "RegionOne",
    }.items():
        nova_conf_.set_override(name, value, group="nova")
    with caplog.at_level(logging.DEBUG), Clients(nova_conf_) as clients:
        assert clients.find_image("cirros")["id"] == CIRROS_IMAGE_ID  # Glance, from the catalog
        assert clients.find_network("private") == PRIVATE_NETWORK_ID  # Neutron, from the catalog
        server = create(clients)
    assert [r["id"] for r in live(sim)] == [server.physical_id]
    assert "pa55-w0rd" not in caplog.text


def test_identity_service_down_is_unreachable_not_a_bad_value(
    nova_conf_: cfg.ConfigOpts,
) -> None:
    nova_conf_.register_opts(ks_loading.get_auth_plugin_conf_options("password"), group="nova")
    nova_conf_.set_override("auth_type", "password", group="nova")
    nova_conf_.set_override("auth_url", "http://127.0.0.1:9/identity/v3", group="nova")
    nova_conf_.set_override("username", "demo", group="nova")
    with (
        Clients(nova_conf_) as clients,
        pytest.raises(NovaUnreachable, match="cannot authenticate") as raised,
    ):
        nova_constraints(clients)["nova.flavor"]("m1.tiny")
    assert raised.value.maybe_done is False


def test_options_are_listed_with_flowstack_defaults() -> None:
    [(group, opts)] = nova_conf.list_opts()
    by_name = {opt.dest: opt for opt in opts}
    assert group.name == "nova"
    assert by_name["api_microversion"].default == "2.1"
    assert by_name["service_type"].default == "compute"
    assert by_name["timeout"].default == nova_conf.DEFAULT_HTTP_TIMEOUT
    assert {"auth_type", "auth_url", "password", "region_name", "endpoint_override"} <= set(by_name)
    assert by_name["password"].secret
    assert len(by_name) == len(opts)


def test_overrides_stay_in_their_configuration(nova_conf_: cfg.ConfigOpts) -> None:
    nova_conf_.set_override("api_retries", 9, group="nova")
    other = cfg.ConfigOpts()
    nova_conf.register_opts(other)
    other([], default_config_files=[])
    assert other.nova.api_retries == 3 and nova_conf_.nova.api_retries == 9
