"""flowstack-nova-sim: a Nova (Compute API v2.1) simulator spoken to over real HTTP.

It is flowstack's test peer and the embedded default for a user without a
cloud. python-novaclient talks to it exactly as to a real Nova::

    from flowstack.nova_sim import CIRROS_IMAGE_ID, NovaSimulator

    with NovaSimulator(build_delay=0.1) as sim:
        session = keystoneauth1.session.Session(
            auth=keystoneauth1.token_endpoint.Token(sim.endpoint, "any-token"))
        nova = novaclient.client.Client("2.1", session=session)
        nova.servers.create("web-1", image=CIRROS_IMAGE_ID, flavor="1")

Where things are:

* ``config`` — settings and DevStack-like defaults (flavors, cirros, ``private``);
* ``lifecycle`` — a server's record and its status, derived lazily from timestamps;
* ``state`` — the shared data and its lock; ``persistence`` — the state file;
* ``server_ops`` — creating, listing, deleting servers; ``keypairs`` — key material;
* ``network`` — fixed IP allocation; ``faults`` — fault injection rules;
* ``compute_api`` (+ ``server_routes``, ``catalog_routes``, ``compute_common``),
  ``image_api``, ``network_api``, ``identity_api``, ``admin_api`` — the HTTP APIs, helped by
  ``views`` (JSON shapes), ``validation``, ``microversion`` and ``context``;
* ``app`` — the URL layout; ``routing`` — request/response values;
  ``server`` — HTTP serving and :class:`NovaSimulator`; ``cli`` — the command.
"""

from flowstack.nova_sim.config import (
    CIRROS_IMAGE_ID,
    DEFAULT_PROJECT_ID,
    DEFAULT_USER_ID,
    PRIVATE_NETWORK_ID,
    FlavorSpec,
    ImageSpec,
    NetworkSpec,
    SimulatorConfig,
)
from flowstack.nova_sim.faults import FaultConfig
from flowstack.nova_sim.server import NovaSimulator

__all__ = [
    "CIRROS_IMAGE_ID",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_USER_ID",
    "PRIVATE_NETWORK_ID",
    "FaultConfig",
    "FlavorSpec",
    "ImageSpec",
    "NetworkSpec",
    "NovaSimulator",
    "SimulatorConfig",
]
