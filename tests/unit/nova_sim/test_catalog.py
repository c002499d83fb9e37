"""Flavors, images and keypairs through python-novaclient."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from novaclient import exceptions as nova_exc

from flowstack.nova_sim import CIRROS_IMAGE_ID, NovaSimulator
from tests.unit.nova_sim.helpers import http

DEVSTACK = {
    "m1.tiny": ("1", 512, 1, 1),
    "m1.small": ("2", 2048, 20, 1),
    "m1.medium": ("3", 4096, 40, 2),
    "m1.large": ("4", 8192, 80, 4),
    "m1.xlarge": ("5", 16384, 160, 8),
}
PUBLIC_KEY = (
    "ssh-ed25519 "
    + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes(range(32))).decode()
    + " test@example"
)


def test_devstack_flavors(nova: Any) -> None:
    flavors = {f.name: (f.id, f.ram, f.disk, f.vcpus) for f in nova.flavors.list()}
    assert flavors == DEVSTACK


@pytest.mark.parametrize("name", sorted(DEVSTACK))
def test_flavor_by_name_and_by_id(nova: Any, name: str) -> None:
    by_name = nova.flavors.find(name=name)
    by_id = nova.flavors.get(DEVSTACK[name][0])
    assert by_name.id == by_id.id == DEVSTACK[name][0]
    assert by_id.name == name
    assert by_id.get_keys() == {"hw_rng:allowed": "True"}


def test_unknown_flavor_is_404(nova: Any) -> None:
    with pytest.raises(nova_exc.NotFound, match="Flavor 42 could not be found"):
        nova.flavors.get("42")


def test_flavor_paging(nova: Any) -> None:
    first = nova.flavors.list(limit=2)
    rest = nova.flavors.list(marker=first[-1].id)
    assert [f.id for f in [*first, *rest]] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("name", ["cirros", "cirros-0.6.2-x86_64-disk", CIRROS_IMAGE_ID])
def test_image_lookup_like_novaclient(nova: Any, name: str) -> None:
    image = nova.glance.find_image(name)
    assert image.id == CIRROS_IMAGE_ID
    assert image.name == "cirros-0.6.2-x86_64-disk"
    assert image.status == "active"


def test_unknown_image_is_not_found(nova: Any) -> None:
    with pytest.raises(nova_exc.NotFound):
        nova.glance.find_image("ubuntu")
    with pytest.raises(nova_exc.NotFound):
        nova.glance.find_image("11111111-2222-3333-4444-555555555555")


def test_image_api_at_the_catalog_endpoint(sim: Any) -> None:
    status, _h, body = http("GET", sim.image_endpoint + "/v2/images?name=cirros")
    assert status == 200
    assert [i["id"] for i in body["images"]] == [CIRROS_IMAGE_ID]
    status, _h, image = http("GET", f"{sim.image_endpoint}/v2/images/{CIRROS_IMAGE_ID}")
    assert status == 200 and image["disk_format"] == "qcow2"


def test_images_are_configurable() -> None:
    images = [{"id": "6c1a0e5e-4f3d-4d7e-9a2b-1c3d5e7f9a0b", "name": "ubuntu-24.04"}]
    with NovaSimulator(images=images) as sim:
        nova = sim.client()
        assert nova.glance.find_image("ubuntu-24.04").id == images[0]["id"]
        with pytest.raises(nova_exc.NotFound):
            nova.glance.find_image("cirros")
        with pytest.raises(nova_exc.BadRequest, match="Can not find requested image"):
            nova.servers.create("x", CIRROS_IMAGE_ID, "1")
        nova.client.session.session.close()


def test_keypair_generate_list_show_delete(nova: Any) -> None:
    created = nova.keypairs.create("k1")
    assert created.private_key.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert created.public_key.startswith("ssh-rsa ")
    assert len(created.fingerprint.split(":")) == 16
    assert [k.name for k in nova.keypairs.list()] == ["k1"]
    shown = nova.keypairs.get("k1")
    assert shown.fingerprint == created.fingerprint
    assert shown.public_key == created.public_key
    assert not hasattr(shown, "private_key")
    nova.keypairs.delete("k1")
    with pytest.raises(nova_exc.NotFound):
        nova.keypairs.get("k1")
    assert nova.keypairs.list() == []


def test_keypair_import_and_duplicate(sim: Any, make_nova: Any) -> None:
    nova = make_nova(sim, "2.92")
    imported = nova.keypairs.create("mine@host", public_key=PUBLIC_KEY)
    assert imported.type == "ssh"
    assert imported.public_key == PUBLIC_KEY
    assert not hasattr(imported, "private_key")
    with pytest.raises(nova_exc.Conflict, match="already exists"):
        nova.keypairs.create("mine@host", public_key=PUBLIC_KEY)
    with pytest.raises(nova_exc.BadRequest, match="Keypair data is invalid"):
        nova.keypairs.create("broken", public_key="not a key")


def test_keypair_generation_refused_from_2_92(sim: Any) -> None:
    status, _h, body = http(
        "POST",
        sim.endpoint + "/os-keypairs",
        {"keypair": {"name": "gen"}},
        {"OpenStack-API-Version": "compute 2.92"},
    )
    assert status == 400
    assert "'public_key' is a required property" in body["badRequest"]["message"]


def test_keypair_codes_follow_microversion(sim: Any) -> None:
    old = {"X-OpenStack-Nova-API-Version": "2.1"}
    new = {"OpenStack-API-Version": "compute 2.2"}
    key = {"keypair": {"name": "a", "public_key": PUBLIC_KEY}}
    assert http("POST", sim.endpoint + "/os-keypairs", key, old)[0] == 200
    assert http("DELETE", sim.endpoint + "/os-keypairs/a", None, old)[0] == 202
    assert http("POST", sim.endpoint + "/os-keypairs", key, new)[0] == 201
    assert http("DELETE", sim.endpoint + "/os-keypairs/a", None, new)[0] == 204


def test_server_with_keypair(nova: Any) -> None:
    nova.keypairs.create("deploy", public_key=PUBLIC_KEY)
    server = nova.servers.create("with-key", CIRROS_IMAGE_ID, "1", key_name="deploy")
    assert nova.servers.get(server.id).key_name == "deploy"
