"""Servers on networks given by name, as Heat users write them, and unknown networks.

Names are resolved through the simulator's Networking API (novaclient's
``neutron.find_network``), at validation and again at create.
"""

from __future__ import annotations

import ipaddress

import pytest

from flowstack import exceptions
from flowstack.nova_sim import PRIVATE_NETWORK_ID
from tests.functional.resources.conftest import Cloud

ON_PRIVATE = f"""
heat_template_version: 2018-08-31
resources:
  web:
    type: OS::Nova::Server
    properties:
      image: cirros
      flavor: m1.tiny
      networks: [{{network: private}}]
  db:
    type: OS::Nova::Server
    properties:
      image: cirros
      flavor: m1.tiny
      networks: [{{uuid: {PRIVATE_NETWORK_ID}, fixed_ip: 10.0.0.50}}]
outputs:
  web_addresses: {{value: {{get_attr: [web, addresses]}}}}
  web_ip: {{value: {{get_attr: [web, networks, private, 0]}}}}
  db_ip: {{value: {{get_attr: [db, networks, private, 0]}}}}
"""


def on_networks(*networks: str) -> str:
    nics = ", ".join(f"{{network: {name}}}" for name in networks)
    return (
        "heat_template_version: 2018-08-31\nresources:\n  web:\n    type: OS::Nova::Server\n"
        f"    properties: {{image: cirros, flavor: m1.tiny, networks: [{nics}]}}\n"
    )


def test_servers_on_a_network_given_by_name(cloud: Cloud) -> None:
    stack = cloud.create("named", ON_PRIVATE)
    assert stack["stack_status"] == "CREATE_COMPLETE", stack["stack_status_reason"]
    outputs = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert list(outputs["web_addresses"]) == ["private"]
    assert outputs["db_ip"] == "10.0.0.50"
    subnet = ipaddress.ip_network("10.0.0.0/26")
    resources = cloud.resources("named")
    for name in ("web", "db"):
        record = cloud.sim.server(resources[name]["physical_resource_id"])
        assert record["addresses"] == [outputs[f"{name}_ip"]]
        assert ipaddress.ip_address(outputs[f"{name}_ip"]) in subnet
    assert cloud.delete("named")["stack_status"] == "DELETE_COMPLETE"
    assert cloud.sim.live_servers() == []


@pytest.mark.parametrize(("networks", "index"), [(["nowhere"], 0), (["private", "nowhere"], 1)])
def test_unknown_network_is_reported_at_validation(
    cloud: Cloud, networks: list[str], index: int
) -> None:
    with pytest.raises(exceptions.TemplateInvalid) as invalid:
        cloud.start("lost", on_networks(*networks))
    [error] = invalid.value.errors
    assert error.path == f"resources.web.properties.networks[{index}].network"
    assert error.message.startswith("network 'nowhere' not found")
    assert cloud.service.list_stacks(cloud.ctx) == []
    assert cloud.sim.all_servers() == []
