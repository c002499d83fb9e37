"""Optional Keystone v3: password auth, a service catalog, image lookup through it."""

from __future__ import annotations

from typing import Any

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic, v3
from novaclient import client as nova_client

from flowstack.nova_sim import CIRROS_IMAGE_ID, DEFAULT_PROJECT_ID, DEFAULT_USER_ID


def _client(auth: Any) -> tuple[Any, ks_session.Session]:
    session = ks_session.Session(auth=auth)
    return nova_client.Client("2.1", session=session), session


def test_password_auth_gets_a_catalog(sim: Any) -> None:
    auth = v3.Password(
        auth_url=sim.identity_url,
        username="demo",
        password="secret",
        project_name="demo",
        user_domain_id="default",
        project_domain_id="default",
    )
    nova, session = _client(auth)
    try:
        assert session.get_endpoint(service_type="compute", interface="public") == sim.endpoint
        assert session.get_endpoint(service_type="image") == sim.image_endpoint
        image = nova.glance.find_image("cirros")  # goes to the catalog's image endpoint
        server = nova.servers.create("via-keystone", image, "1")
        record = sim.server(server.id)
        assert (record["project_id"], record["user_id"]) == (DEFAULT_PROJECT_ID, DEFAULT_USER_ID)
    finally:
        session.session.close()


def test_generic_password_discovers_v3_and_scopes_by_name(sim: Any) -> None:
    auth = generic.Password(
        auth_url=sim.url + "/identity",
        username="alice",
        password="x",
        project_name="team-a",
        user_domain_id="default",
        project_domain_id="default",
    )
    nova, session = _client(auth)
    try:
        server = nova.servers.create("alice-vm", CIRROS_IMAGE_ID, "1")
        record = sim.server(server.id)
        assert record["project_id"] != DEFAULT_PROJECT_ID
        assert [s.id for s in nova.servers.list()] == [server.id]
        assert "secret" not in repr(sim.all_servers())
    finally:
        session.session.close()
