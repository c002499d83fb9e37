"""Version discovery and microversion negotiation, as python-novaclient does them."""

from __future__ import annotations

from typing import Any

import pytest
from novaclient import api_versions
from novaclient import exceptions as nova_exc

from flowstack.nova_sim import CIRROS_IMAGE_ID
from tests.unit.nova_sim.helpers import http, wait_status


def test_root_lists_v21_with_min_and_max(sim: Any) -> None:
    status, _headers, body = http("GET", sim.url + "/")
    assert status == 200
    (entry,) = body["versions"]
    assert entry["id"] == "v2.1"
    assert entry["status"] == "CURRENT"
    assert entry["min_version"] == "2.1"
    assert entry["version"] == "2.96"
    assert entry["links"][0]["href"] == f"{sim.url}/v2.1/"


@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/", "/v2.1/some-project"])
def test_versioned_endpoint_shows_its_version(sim: Any, path: str) -> None:
    status, _headers, body = http("GET", sim.url + path)
    assert status == 200
    assert body["version"]["id"] == "v2.1"
    assert body["version"]["media-types"][0]["base"] == "application/json"


def test_novaclient_negotiates_latest(nova: Any) -> None:
    current = nova.versions.get_current()
    assert (current.min_version, current.version) == ("2.1", "2.96")
    negotiated = api_versions.discover_version(nova, api_versions.APIVersion("2.latest"))
    assert negotiated == api_versions.APIVersion("2.96")


def test_novaclient_accepts_explicit_microversion(sim: Any, make_nova: Any) -> None:
    nova = make_nova(sim, "2.53")
    assert api_versions.discover_version(nova, api_versions.APIVersion("2.53")).get_string() == (
        "2.53"
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "2.1"),
        ({"X-OpenStack-Nova-API-Version": "2.19"}, "2.19"),
        ({"OpenStack-API-Version": "compute 2.60"}, "2.60"),
        ({"OpenStack-API-Version": "image 2.5, compute 2.72"}, "2.72"),
        ({"OpenStack-API-Version": "compute latest"}, "2.96"),
        # The new header wins over the legacy one, as in Nova.
        ({"OpenStack-API-Version": "compute 2.40", "X-OpenStack-Nova-API-Version": "2.3"}, "2.40"),
    ],
)
def test_microversion_is_echoed(sim: Any, headers: dict[str, str], expected: str) -> None:
    status, got, _body = http("GET", sim.endpoint + "/flavors", headers=headers)
    assert status == 200
    assert got["OpenStack-API-Version"] == f"compute {expected}"
    assert got["X-OpenStack-Nova-API-Version"] == expected
    assert "OpenStack-API-Version" in got["Vary"]
    assert got["x-compute-request-id"].startswith("req-")
    assert got["x-openstack-request-id"] == got["x-compute-request-id"]


@pytest.mark.parametrize(
    ("value", "status", "text"),
    [
        ("compute 2.200", 406, "Version 2.200 is not supported by the API. Minimum is 2.1"),
        ("compute 2.0", 406, "maximum is 2.96"),
        ("compute two", 400, "API Version String two is of invalid format"),
    ],
)
def test_bad_microversion_is_refused(sim: Any, value: str, status: int, text: str) -> None:
    got_status, _headers, body = http(
        "GET", sim.endpoint + "/servers", headers={"OpenStack-API-Version": value}
    )
    assert got_status == status
    (fault,) = body.values()
    assert fault["code"] == status
    assert text in fault["message"]


def test_shapes_follow_the_microversion(sim: Any, make_nova: Any) -> None:
    old, new = make_nova(sim, "2.1"), make_nova(sim, "2.47")
    server = new.servers.create("shapes", CIRROS_IMAGE_ID, "2", nics="auto")
    wait_status(old, server.id, "ACTIVE")
    as_21 = old.servers.get(server.id).to_dict()
    as_247 = new.servers.get(server.id).to_dict()
    assert as_21["flavor"]["id"] == "2" and "links" in as_21["flavor"]
    assert "locked" not in as_21 and "description" not in as_21
    assert as_247["flavor"]["original_name"] == "m1.small"
    assert as_247["flavor"]["ram"] == 2048
    assert as_247["locked"] is False
    assert as_247["tags"] == []


def test_networks_are_required_from_2_37(sim: Any) -> None:
    body = {"server": {"name": "n", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1"}}
    status, _headers, fault = http(
        "POST", sim.endpoint + "/servers", body, {"OpenStack-API-Version": "compute 2.37"}
    )
    assert status == 400
    assert "'networks' is a required property" in fault["badRequest"]["message"]


def test_unknown_route_is_a_nova_404(sim: Any, nova: Any) -> None:
    with pytest.raises(nova_exc.NotFound):
        nova.client.get("/flavors/1/no-such-thing")
    status, _headers, body = http("GET", sim.endpoint + "/servers/x/no-such-thing")
    assert status == 404
    assert body == {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}
