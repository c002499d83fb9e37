"""Every fault kind, as python-novaclient experiences it, and the admin endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from keystoneauth1 import exceptions as ks_exc
from novaclient import exceptions as nova_exc

from flowstack.nova_sim import CIRROS_IMAGE_ID, NovaSimulator
from tests.unit.nova_sim.helpers import FakeClock, http, wait_for, wait_status


def create(nova: Any, name: str, **kwargs: Any) -> Any:
    return nova.servers.create(name, CIRROS_IMAGE_ID, "1", **kwargs)


def gone(nova: Any, server_id: str) -> bool:
    try:
        nova.servers.get(server_id)
    except nova_exc.NotFound:
        return True
    return False


# -- build errors ---------------------------------------------------------------
def test_every_nth_build_ends_in_error_with_a_fault(nova: Any, sim: Any) -> None:
    sim.set_faults(build_errors=[{"every_nth": 2, "message": "No valid host was found."}])
    ids = [create(nova, f"n-{i}").id for i in range(4)]
    statuses = [wait_for(lambda i=i: _settled(nova, i)).status for i in ids]
    assert statuses == ["ACTIVE", "ERROR", "ACTIVE", "ERROR"]
    failed = nova.servers.get(ids[1])
    assert failed.fault["code"] == 500
    assert failed.fault["message"] == "No valid host was found."
    assert failed.fault["created"].endswith("Z")
    assert failed.addresses == {}  # the build released its port
    assert not hasattr(nova.servers.get(ids[0]), "fault")


def _settled(nova: Any, server_id: str) -> Any:
    server = nova.servers.get(server_id)
    return server if server.status != "BUILD" else None


def _error_pattern(rate: float, seed: int, count: int) -> list[bool]:
    with NovaSimulator(build_delay=0, faults={"seed": seed, "build_errors": [{"rate": rate}]}) as s:
        nova = s.client()
        ids = [create(nova, f"r-{i}").id for i in range(count)]
        pattern = [nova.servers.get(i).status == "ERROR" for i in ids]
        nova.client.session.session.close()
    return pattern


def test_build_error_rate_is_seeded() -> None:
    first = _error_pattern(0.5, seed=7, count=20)
    assert first == _error_pattern(0.5, seed=7, count=20)
    assert 0 < sum(first) < 20
    assert _error_pattern(0.0, seed=7, count=5) == [False] * 5


def test_build_error_by_name_and_metadata(nova: Any, sim: Any) -> None:
    sim.set_faults(
        build_errors=[{"name_regex": "^doomed-"}, {"metadata": {"fail": "yes"}, "code": 400}]
    )
    by_name = create(nova, "doomed-1")
    by_meta = create(nova, "plain", meta={"fail": "yes", "other": "x"})
    fine = create(nova, "fine", meta={"fail": "no"})
    assert wait_status(nova, by_name.id, "ERROR").fault["code"] == 500
    assert wait_status(nova, by_meta.id, "ERROR").fault["code"] == 400
    wait_status(nova, fine.id, "ACTIVE")


# -- API errors -----------------------------------------------------------------
def test_api_500_n_times_then_success(nova: Any, sim: Any) -> None:
    sim.set_faults(api_errors=[{"method": "POST", "path": "/servers$", "times": 2}])
    for _ in range(2):
        with pytest.raises(nova_exc.ClientException) as caught:
            create(nova, "retry")
        assert caught.value.code == 500
        assert "Unexpected API Error" in caught.value.message
    create(nova, "retry")
    assert len(sim.all_servers()) == 1  # the refused calls did nothing
    assert sim.fault_config["api_errors"][0]["fired"] == 2


def test_api_503_always_until_cleared(nova: Any, sim: Any) -> None:
    sim.set_faults(
        api_errors=[{"method": "GET", "path": "/servers/detail", "status": 503, "retry_after": 3}]
    )
    for _ in range(3):
        with pytest.raises(nova_exc.ClientException) as caught:
            nova.servers.list()
        assert caught.value.code == 503
    status, headers, body = http("GET", sim.endpoint + "/servers/detail")
    assert status == 503 and headers["Retry-After"] == "3"
    assert body["serviceUnavailable"]["code"] == 503
    assert headers["OpenStack-API-Version"] == "compute 2.1"
    assert nova.flavors.get("1").name == "m1.tiny"
    sim.clear_faults()
    assert nova.servers.list() == []


def test_over_quota_is_nova_403(nova: Any, sim: Any) -> None:
    sim.set_faults(quota={"instances": 2})
    first = create(nova, "q-1")
    create(nova, "q-2")
    with pytest.raises(nova_exc.Forbidden) as caught:
        create(nova, "q-3")
    assert caught.value.message == (
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    )
    nova.servers.delete(first.id)
    wait_for(lambda: gone(nova, first.id))
    create(nova, "q-3")


def test_over_quota_on_cores(nova: Any, sim: Any) -> None:
    sim.set_faults(quota={"cores": 3})
    nova.servers.create("big", CIRROS_IMAGE_ID, "3")  # 2 vcpus
    with pytest.raises(nova_exc.Forbidden, match="Quota exceeded for cores: Requested 2"):
        nova.servers.create("big-2", CIRROS_IMAGE_ID, "3")


# -- delete faults --------------------------------------------------------------
def test_delete_fails_n_times_then_succeeds(nova: Any, sim: Any) -> None:
    server = create(nova, "stubborn")
    sim.set_faults(delete_errors=[{"times": 2}])
    for _ in range(2):
        with pytest.raises(nova_exc.ClientException) as caught:
            nova.servers.delete(server.id)
        assert caught.value.code == 500
        assert getattr(nova.servers.get(server.id), "OS-EXT-STS:task_state") != "deleting"
    nova.servers.delete(server.id)
    wait_for(lambda: gone(nova, server.id), what="the delete to complete")
    events = [e["event"] for e in sim.server(server.id)["history"]]
    assert events.count("delete-rejected") == 2


def test_async_delete_failure_leaves_error_then_retry_works(nova: Any, sim: Any) -> None:
    server = create(nova, "flaky")
    wait_status(nova, server.id, "ACTIVE")
    sim.set_faults(delete_errors=[{"mode": "async", "times": 1}])
    nova.servers.delete(server.id)  # 204: accepted
    failed = wait_status(nova, server.id, "ERROR")
    assert "Failed to terminate instance" in failed.fault["message"]
    assert getattr(failed, "OS-EXT-STS:task_state") is None
    nova.servers.delete(server.id)
    wait_for(lambda: gone(nova, server.id), what="the second delete to complete")


def test_delete_hang_never_completes() -> None:
    clock = FakeClock()
    faults = {"delete_hangs": [{"name_regex": "^stuck"}]}
    with NovaSimulator(build_delay=1, delete_delay=1, clock=clock, faults=faults) as sim:
        nova = sim.client()
        stuck, normal = create(nova, "stuck-1"), create(nova, "normal")
        clock.advance(2)
        nova.servers.delete(stuck.id)
        nova.servers.delete(normal.id)
        clock.advance(3600)
        assert gone(nova, normal.id)
        assert getattr(nova.servers.get(stuck.id), "OS-EXT-STS:task_state") == "deleting"
        assert [s["name"] for s in sim.live_servers()] == ["stuck-1"]
        nova.client.session.session.close()


def test_slow_delete() -> None:
    clock = FakeClock()
    with NovaSimulator(build_delay=0, delete_delay=1, clock=clock) as sim:
        sim.set_faults(delete_hangs=[{"seconds": 60}])
        nova = sim.client()
        server = create(nova, "slow")
        nova.servers.delete(server.id)
        clock.advance(59)
        assert not gone(nova, server.id)
        clock.advance(1)
        assert gone(nova, server.id)
        nova.client.session.session.close()


# -- lost responses -------------------------------------------------------------
def test_lost_response_error_leaves_exactly_one_server(nova: Any, sim: Any) -> None:
    sim.set_faults(lost_responses=[{"mode": "error", "times": 1}])
    with pytest.raises(nova_exc.ClientException) as caught:
        create(nova, "orphan-candidate", meta={"stack": "s1"})
    assert caught.value.code == 500
    (record,) = sim.live_servers()
    assert record["name"] == "orphan-candidate"
    assert [s.name for s in nova.servers.list(search_opts={"name": "^orphan"})] == [
        "orphan-candidate"
    ]
    create(nova, "second")  # the rule fired its one time
    assert len(sim.live_servers()) == 2


def test_lost_response_dropped_connection(nova: Any, sim: Any) -> None:
    sim.set_faults(lost_responses=[{"mode": "drop", "times": 1}])
    with pytest.raises(ks_exc.ConnectionError):
        create(nova, "dropped")
    assert [r["name"] for r in sim.live_servers()] == ["dropped"]
    create(nova, "after")  # the next call works again
    assert sim.fault_config["lost_responses"][0]["fired"] == 1


def test_lost_response_delayed_past_client_timeout(sim: Any, make_nova: Any) -> None:
    nova = make_nova(sim, timeout=0.3)
    sim.set_faults(lost_responses=[{"mode": "delay", "delay": 5, "times": 1}])
    with pytest.raises(ks_exc.ConnectionError):  # ConnectTimeout is a ConnectionError
        create(nova, "late")
    assert [r["name"] for r in sim.live_servers()] == ["late"]


def test_lost_delete_response(nova: Any, sim: Any) -> None:
    server = create(nova, "victim")
    sim.set_faults(lost_responses=[{"method": "DELETE", "path": "/servers/", "times": 1}])
    with pytest.raises(nova_exc.ClientException):
        nova.servers.delete(server.id)
    wait_for(lambda: gone(nova, server.id), what="the delete that did happen")


# -- runtime changes through the admin endpoint ----------------------------------
def test_admin_endpoint_changes_faults_at_run_time(nova: Any, sim: Any) -> None:
    admin = sim.url + "/_admin/faults"
    status, _h, body = http("PUT", admin, {"quota": {"instances": 0}})
    assert status == 200 and body["quota"]["instances"] == 0
    with pytest.raises(nova_exc.Forbidden):
        create(nova, "blocked")
    status, _h, body = http(
        "PATCH", admin, {"quota": {"instances": None}, "build_errors": [{"every_nth": 1}]}
    )
    assert status == 200 and len(body["build_errors"]) == 1
    failed = create(nova, "fails")
    wait_status(nova, failed.id, "ERROR")
    status, _h, body = http("GET", admin)
    assert body["build_errors"][0]["fired"] == 1
    assert http("DELETE", admin)[0] == 204
    ok = create(nova, "works")
    wait_status(nova, ok.id, "ACTIVE")
    status, _h, body = http("PUT", admin, {"build_errors": [{"every_nth": 0}]})
    assert status == 400 and "every_nth" in body["error"]["message"]
    status, _h, body = http("PUT", admin, {"typo": []})
    assert status == 400 and "typo" in body["error"]["message"]


def test_admin_servers_view(nova: Any, sim: Any) -> None:
    keep = create(nova, "keep")
    drop = create(nova, "drop")
    nova.servers.delete(drop.id)
    wait_for(lambda: gone(nova, drop.id))
    status, _h, body = http("GET", sim.url + "/_admin/servers")
    assert status == 200
    assert (body["live_count"], body["total_count"]) == (1, 2)
    by_name = {s["name"]: s for s in body["servers"]}
    assert by_name["drop"]["status"] == "DELETED" and not by_name["drop"]["live"]
    assert by_name["keep"]["live"] and by_name["keep"]["user_id"]
    assert by_name["keep"]["created_at"] <= by_name["drop"]["created_at"]
    status, _h, body = http("GET", sim.url + "/_admin/servers?live=true")
    assert [s["id"] for s in body["servers"]] == [keep.id]
    status, _h, body = http("GET", f"{sim.url}/_admin/servers/{drop.id}")
    assert body["server"]["deleted_at"] is not None
    assert http("GET", sim.url + "/_admin/servers/nope")[0] == 404


def test_admin_config_and_reset(nova: Any, sim: Any) -> None:
    status, _h, body = http("PATCH", sim.url + "/_admin/config", {"build_delay": 30})
    assert status == 200 and body["build_delay"] == 30
    server = create(nova, "slow-now")
    assert nova.servers.get(server.id).status == "BUILD"
    sim.set_faults(quota={"instances": 5})
    assert http("POST", sim.url + "/_admin/reset")[0] == 204
    assert sim.all_servers() == []
    assert sim.fault_config["quota"]["instances"] is None
