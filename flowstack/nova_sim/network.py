"""Fixed IPv4 address management for one simulated network (a tiny Neutron IPAM).

Each subnet reserves its gateway (first host) and DHCP port (second host),
as DevStack's ``private-subnet`` does. Addresses are handed out round-robin
from a cursor, like Neutron not reusing a just-freed address at once. An
address is free when nobody holds it *or* its holder no longer holds it — the
caller answers that question (servers are deleted lazily, by timestamp), so
no release call is needed when a delete completes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Callable
from typing import Any

from flowstack.nova_sim.config import NetworkSpec

_RESERVED_HOSTS = 2  # gateway, DHCP port


class Ipam:
    def __init__(self, spec: NetworkSpec) -> None:
        self.spec = spec
        self.subnets: list[ipaddress.IPv4Network] = [ipaddress.IPv4Network(spec.cidr)]
        self.owners: dict[str, str] = {}
        self._cursor = 0
        self._hosts: list[str] | None = None

    def _candidates(self) -> list[str]:
        if self._hosts is None:
            self._hosts = [
                str(host)
                for subnet in self.subnets
                for host in list(subnet.hosts())[_RESERVED_HOSTS:]
            ]
        return self._hosts

    def _grow(self) -> bool:
        """Carve the next free subnet of the same size out of the subnet pool."""
        if self.spec.subnet_pool is None:
            return False
        pool = ipaddress.IPv4Network(self.spec.subnet_pool)
        used = set(self.subnets)
        for candidate in pool.subnets(new_prefix=self.subnets[0].prefixlen):
            if candidate not in used:
                self.subnets.append(candidate)
                self._hosts = None
                return True
        return False

    def allocate(self, owner: str, holds: Callable[[str], bool]) -> str | None:
        """Give ``owner`` a free address; ``holds(other)`` says if ``other`` still needs its own.

        Returns None when every subnet (and the pool) is exhausted.
        """
        while True:
            hosts = self._candidates()
            for step in range(len(hosts)):
                index = (self._cursor + step) % len(hosts)
                address = hosts[index]
                current = self.owners.get(address)
                if current is None or not holds(current):
                    self.owners[address] = owner
                    self._cursor = index + 1
                    return address
            if not self._grow():
                return None

    def claim(self, owner: str, address: str, holds: Callable[[str], bool]) -> bool:
        """Give ``owner`` a specific address (a ``fixed_ip`` request)."""
        try:
            wanted = ipaddress.IPv4Address(address)
        except ValueError:
            return False
        if not any(wanted in subnet for subnet in self.subnets):
            return False
        if address not in set(self._candidates()):
            return False
        current = self.owners.get(address)
        if current is not None and holds(current):
            return False
        self.owners[address] = owner
        return True

    def release_owner(self, owner: str) -> None:
        for address in [a for a, o in self.owners.items() if o == owner]:
            del self.owners[address]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subnets": [str(s) for s in self.subnets],
            "owners": dict(self.owners),
            "cursor": self._cursor,
        }

    def load(self, data: dict[str, Any]) -> None:
        subnets = [ipaddress.IPv4Network(s) for s in data.get("subnets") or []]
        self.subnets = subnets or [ipaddress.IPv4Network(self.spec.cidr)]
        self.owners = dict(data.get("owners") or {})
        self._cursor = int(data.get("cursor", 0))
        self._hosts = None


def subnet_id(network_id: str, cidr: str) -> str:
    """A stable Neutron-style (uuid) id for one subnet of a network."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nova-sim:subnet:{network_id}:{cidr}"))


def mac_address(prefix: str, server_id: str, network: str) -> str:
    """A stable port MAC under Neutron's ``fa:16:3e`` base."""
    digest = hashlib.sha256(f"{server_id}:{network}".encode()).digest()
    return prefix + "".join(f":{b:02x}" for b in digest[:3])
