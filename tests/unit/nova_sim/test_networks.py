"""The Networking API subset: novaclient's network-name lookup, by id, through the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from keystoneauth1.identity import v3
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc

from flowstack.nova_sim import (
    CIRROS_IMAGE_ID,
    DEFAULT_PROJECT_ID,
    PRIVATE_NETWORK_ID,
    NovaSimulator,
)

UNKNOWN_ID = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def neutron(sim: NovaSimulator) -> Iterator[ks_adapter.Adapter]:
    """A keystoneauth adapter for the network service on a fixed-endpoint session.

    Such a session answers every service type with the compute endpoint, so
    requests land where novaclient's lookup lands: ``/v2.1/v2.0/...``.
    """
    session = ks_session.Session(auth=token_endpoint.Token(sim.endpoint, "any-token"))
    yield ks_adapter.Adapter(session, service_type="network")
    session.session.close()


@pytest.fixture
def keystone_session(sim: NovaSimulator) -> Iterator[ks_session.Session]:
    """A password-authenticated session whose catalog is the simulator's."""
    auth = v3.Password(
        auth_url=sim.identity_url,
        username="demo",
        password="secret",
        project_name="demo",
        user_domain_id="default",
        project_domain_id="default",
    )
    session = ks_session.Session(auth=auth)
    yield session
    session.session.close()


def test_lookup_by_name_like_novaclient(nova: Any) -> None:
    network = nova.neutron.find_network("private")  # GET /v2.1/v2.0/networks?name=private
    assert network.id == PRIVATE_NETWORK_ID
    assert network.name == "private"
    assert network.status == "ACTIVE"
    assert network.admin_state_up is True
    assert network.shared is False
    assert getattr(network, "router:external") is False
    assert network.project_id == network.tenant_id == DEFAULT_PROJECT_ID
    [subnet] = network.subnets
    assert len(subnet) == 36  # a uuid


def test_unknown_name_is_not_found(nova: Any, neutron: ks_adapter.Adapter) -> None:
    with pytest.raises(nova_exc.NotFound, match="No Network matching nope"):
        nova.neutron.find_network("nope")
    response = neutron.get("/v2.0/networks?name=nope")
    assert (response.status_code, response.json()) == (200, {"networks": []})


def test_show_by_id_and_unknown_id(neutron: ks_adapter.Adapter) -> None:
    shown = neutron.get(f"/v2.0/networks/{PRIVATE_NETWORK_ID}").json()["network"]
    listed = neutron.get("/v2.0/networks?name=private").json()["networks"]
    assert listed == [shown]
    assert shown["id"] == PRIVATE_NETWORK_ID
    response = neutron.get(f"/v2.0/networks/{UNKNOWN_ID}", raise_exc=False)
    assert response.status_code == 404
    assert response.json() == {
        "NeutronError": {
            "type": "NetworkNotFound",
            "message": f"Network {UNKNOWN_ID} could not be found.",
            "detail": "",
        }
    }
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_filters_fields_and_unknown_filters(neutron: ks_adapter.Adapter) -> None:
    def names(query: str) -> list[str]:
        return [n["name"] for n in neutron.get(f"/v2.0/networks?{query}").json()["networks"]]

    assert names(f"id={PRIVATE_NETWORK_ID}") == ["private"]
    assert names("name=nope&name=private") == ["private"]  # a repeated key: either value
    assert names("shared=False&admin_state_up=1&status=ACTIVE") == ["private"]
    assert names("shared=true") == []
    body = neutron.get("/v2.0/networks?name=private&fields=id&fields=name").json()
    assert body == {"networks": [{"id": PRIVATE_NETWORK_ID, "name": "private"}]}
    response = neutron.get("/v2.0/networks?color=red", raise_exc=False)
    assert response.status_code == 400
    assert (
        response.json()["NeutronError"]["message"] == "[color] is invalid attribute for filtering"
    )


def test_project_scoped_compute_endpoint(sim: NovaSimulator, make_nova: Callable[..., Any]) -> None:
    nova = make_nova(None, endpoint=f"{sim.endpoint}/{DEFAULT_PROJECT_ID}")
    assert nova.neutron.find_network("private").id == PRIVATE_NETWORK_ID


def test_lookup_through_the_catalog(
    sim: NovaSimulator, keystone_session: ks_session.Session
) -> None:
    endpoint = keystone_session.get_endpoint(service_type="network", interface="public")
    assert endpoint == sim.network_endpoint == f"{sim.url}/networking"
    nova = nova_client.Client("2.1", session=keystone_session)
    assert nova.neutron.find_network("private").id == PRIVATE_NETWORK_ID
    with pytest.raises(nova_exc.NotFound):
        nova.neutron.find_network("nope")
    neutron = ks_adapter.Adapter(keystone_session, service_type="network")
    assert neutron.get(f"/v2.0/networks/{PRIVATE_NETWORK_ID}").json()["network"]["name"] == (
        "private"
    )
    assert neutron.get(f"/v2.0/networks/{UNKNOWN_ID}", raise_exc=False).status_code == 404
    versions = neutron.get("/", raise_exc=False).json()["versions"]
    assert versions[0]["id"] == "v2.0"


def test_networks_are_configurable() -> None:
    networks = [
        {"name": "private", "cidr": "10.0.0.0/26"},
        {"name": "lab", "cidr": "192.168.10.0/24", "shared": True},
    ]
    with NovaSimulator(networks=networks, build_delay=0) as sim:
        nova = sim.client("2.37")
        lab = nova.neutron.find_network("lab")
        assert lab.shared is True
        assert nova.neutron.find_network("private").id != PRIVATE_NETWORK_ID  # derived id
        server = nova.servers.create("on-lab", CIRROS_IMAGE_ID, "1", nics=[{"net-id": lab.id}])
        [address] = sim.server(server.id)["addresses"]
        assert address.startswith("192.168.10.")
        nova.client.session.session.close()


def test_injected_faults_speak_neutron(nova: Any, sim: NovaSimulator) -> None:
    sim.set_faults(api_errors=[{"method": "GET", "path": "/v2.0/networks$", "status": 503}])
    with pytest.raises(nova_exc.ClientException, match="currently unavailable") as raised:
        nova.neutron.find_network("private")
    assert raised.value.code == 503
