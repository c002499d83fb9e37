"""Custom constraints checked against the cloud before anything is created.

``Engine.build(..., custom_constraints=nova_constraints(clients))`` makes the
template validator call these for every property that names them (Heat's
names: ``nova.flavor``, ``nova.keypair``, ``glance.image``,
``neutron.network``), so an unknown flavor is reported as
``resources.web.properties.flavor: flavor 'm1.huge' not found`` and no stack
is created.

A check raises ``ValueError`` only when the value is wrong.  When Nova
cannot answer, the :class:`~flowstack.clients.NovaError` propagates: the
request fails with that reason instead of blaming a value that may be fine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowstack.clients import Clients, NovaNotFound

Check = Callable[[Any], None]


def nova_constraints(clients: Clients) -> dict[str, Check]:
    """Checks for ``nova.flavor``, ``nova.keypair``, ``glance.image`` (alias ``nova.image``)
    and ``neutron.network``.

    A network given by id is taken as it is (see :meth:`Clients.find_network`):
    only names are checked.
    """

    def flavor(value: Any) -> None:
        _check(clients.find_flavor, "flavor", value)

    def image(value: Any) -> None:
        _check(clients.find_image, "image", value)

    def keypair(value: Any) -> None:
        _check(clients.find_keypair, "keypair", value)

    def network(value: Any) -> None:
        _check(clients.find_network, "network", value)

    return {
        "nova.flavor": flavor,
        "glance.image": image,
        "nova.image": image,
        "nova.keypair": keypair,
        "neutron.network": network,
    }


def _check(find: Callable[[str], Any], kind: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{kind} must be a non-empty name or id")
    try:
        find(value)
    except NovaNotFound as exc:  # unknown, or a name that several share
        raise ValueError(exc.detail) from None
