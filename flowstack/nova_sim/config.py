"""Simulator settings: DevStack-like defaults, dataclasses, and the config file.

Everything here can be given to :class:`~flowstack.nova_sim.NovaSimulator` as
keyword arguments or written in a JSON or YAML file for ``flowstack-nova-sim
--config FILE``; the file holds the same keys as :class:`SimulatorConfig`::

    build_delay: 2.0          # seconds in BUILD before ACTIVE (or ERROR)
    delete_delay: 1.0         # seconds in task_state "deleting" before the 404
    lb_provision_delay: 0.2   # a load balancer's PENDING_CREATE / PENDING_DELETE
    lb_update_delay: 0.1      # PENDING_* after a pool or member change
    state_file: /var/lib/flowstack/nova-sim.json
    flavors:                  # replaces the default list
      - {id: "1", name: m1.tiny, ram: 512, disk: 1, vcpus: 1}
    images:
      - {id: 8f2c...., name: cirros-0.6.2-x86_64-disk, aliases: [cirros]}
    networks:
      - {name: private, cidr: 10.0.0.0/26, subnet_pool: 10.0.0.0/16}
      - {name: lab, cidr: 192.168.10.0/24, shared: true}   # id derived from the name
    faults: {...}             # see flowstack.nova_sim.faults
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from flowstack.nova_sim.errors import SimulatorConfigError
from flowstack.nova_sim.faults import FaultConfig
from flowstack.nova_sim.microversion import APIVersion, InvalidVersionString

#: Highest microversion whose response shapes the simulator implements.
SUPPORTED_MAX_MICROVERSION = "2.96"

#: The settings that are durations in seconds (also changeable at run time).
DELAY_SETTINGS = ("build_delay", "delete_delay", "lb_provision_delay", "lb_update_delay")

_ID_NAMESPACE = uuid.UUID("5c0ad9a4-7bb4-4a43-9d0e-61e0f7c3a2b1")


def stable_id(kind: str, name: str) -> str:
    """A deterministic Keystone-style (hex) id for a project or user name."""
    return uuid.uuid5(_ID_NAMESPACE, f"{kind}:{name}").hex


DEFAULT_PROJECT_ID = stable_id("project", "demo")
DEFAULT_USER_ID = stable_id("user", "demo")
CIRROS_IMAGE_ID = "3e1b4c8a-2f5d-4e7a-9c61-0b8d2a6f4c13"
PRIVATE_NETWORK_ID = "9a2d5f3e-6b1c-4d8e-a7f0-2c4b6e8d1a35"


@dataclass(frozen=True)
class FlavorSpec:
    id: str
    name: str
    ram: int
    disk: int
    vcpus: int
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    disabled: bool = False
    description: str | None = None
    extra_specs: dict[str, str] = field(default_factory=lambda: {"hw_rng:allowed": "True"})


@dataclass(frozen=True)
class ImageSpec:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    status: str = "active"
    visibility: str = "public"
    disk_format: str = "qcow2"
    container_format: str = "bare"
    size: int = 21430272
    min_disk: int = 0
    min_ram: int = 0
    created_at: str = "2024-01-01T00:00:00Z"
    properties: dict[str, str] = field(default_factory=dict)

    def answers_to(self, name: str) -> bool:
        return name == self.name or name in self.aliases


@dataclass(frozen=True)
class NetworkSpec:
    """A Neutron-like network: fixed IPv4 addresses from /26-ish subnets.

    Addresses come from ``cidr`` (gateway = first host, DHCP port = second,
    as DevStack sets them up). When it is full, the next subnet of the same
    size is carved out of ``subnet_pool`` (DevStack's default subnet pool is
    10.0.0.0/22 handing out /26s; the default ``auto`` is the /16 around
    ``cidr`` so that thousands of servers fit); ``subnet_pool: null`` means
    no overflow: a build then fails as with Neutron out of addresses.
    ``shared`` is only shown by the Networking API: every project may boot on
    every network of the simulator.
    """

    name: str
    id: str
    cidr: str = "10.0.0.0/26"
    subnet_pool: str | None = "auto"
    mac_prefix: str = "fa:16:3e"
    shared: bool = False

    def __post_init__(self) -> None:
        try:
            subnet = ipaddress.IPv4Network(self.cidr)
            if self.subnet_pool == "auto":
                pool = subnet.supernet(new_prefix=16) if subnet.prefixlen > 16 else subnet
                object.__setattr__(self, "subnet_pool", str(pool))
            if self.subnet_pool is not None:
                pool = ipaddress.IPv4Network(self.subnet_pool)
                if not subnet.subnet_of(pool):
                    raise ValueError(f"{self.cidr} is not inside {self.subnet_pool}")
        except ValueError as exc:
            raise SimulatorConfigError(f"network {self.name!r}: {exc}") from exc
        if subnet.num_addresses < 8:
            raise SimulatorConfigError(f"network {self.name!r}: cidr {self.cidr} is too small")


DEVSTACK_FLAVORS: tuple[FlavorSpec, ...] = (
    FlavorSpec("1", "m1.tiny", ram=512, disk=1, vcpus=1),
    FlavorSpec("2", "m1.small", ram=2048, disk=20, vcpus=1),
    FlavorSpec("3", "m1.medium", ram=4096, disk=40, vcpus=2),
    FlavorSpec("4", "m1.large", ram=8192, disk=80, vcpus=4),
    FlavorSpec("5", "m1.xlarge", ram=16384, disk=160, vcpus=8),
)
DEVSTACK_IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec(CIRROS_IMAGE_ID, "cirros-0.6.2-x86_64-disk", aliases=("cirros",)),
)
DEVSTACK_NETWORKS: tuple[NetworkSpec, ...] = (NetworkSpec("private", PRIVATE_NETWORK_ID),)


@dataclass
class SimulatorConfig:
    """Every setting of a simulator; the defaults look like a fresh DevStack."""

    host: str = "127.0.0.1"
    port: int = 0
    build_delay: float = 1.0
    delete_delay: float = 0.5
    lb_provision_delay: float = 0.2
    lb_update_delay: float = 0.1
    state_file: str | None = None
    project_id: str = DEFAULT_PROJECT_ID
    user_id: str = DEFAULT_USER_ID
    compute_host: str = "nova-sim-compute"
    availability_zone: str = "nova"
    region: str = "RegionOne"
    min_microversion: str = "2.1"
    max_microversion: str = SUPPORTED_MAX_MICROVERSION
    max_limit: int = 1000
    flavors: tuple[FlavorSpec, ...] = DEVSTACK_FLAVORS
    images: tuple[ImageSpec, ...] = DEVSTACK_IMAGES
    networks: tuple[NetworkSpec, ...] = DEVSTACK_NETWORKS
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        self.flavors = tuple(_coerce(FlavorSpec, f, "flavors") for f in self.flavors)
        self.images = tuple(_coerce(ImageSpec, i, "images") for i in self.images)
        self.networks = tuple(_coerce(NetworkSpec, n, "networks") for n in self.networks)
        self.faults = FaultConfig.from_dict(self.faults)
        for name in DELAY_SETTINGS:
            value = getattr(self, name)
            if not isinstance(value, int | float) or value < 0:
                raise SimulatorConfigError(f"{name} must be a number of seconds >= 0")
            setattr(self, name, float(value))
        try:
            low = APIVersion.parse(self.min_microversion)
            high = APIVersion.parse(self.max_microversion)
        except InvalidVersionString as exc:
            raise SimulatorConfigError(str(exc)) from exc
        if not APIVersion(2, 1) <= low <= high <= APIVersion.parse(SUPPORTED_MAX_MICROVERSION):
            raise SimulatorConfigError(
                f"microversions must satisfy 2.1 <= min <= max <= {SUPPORTED_MAX_MICROVERSION}"
            )
        _unique("flavors", [f.id for f in self.flavors])
        _unique("images", [i.id for i in self.images])
        _unique("networks", [n.name for n in self.networks])

    @property
    def microversion_range(self) -> tuple[APIVersion, APIVersion]:
        return APIVersion.parse(self.min_microversion), APIVersion.parse(self.max_microversion)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulatorConfig:
        if not isinstance(data, dict):
            raise SimulatorConfigError("the simulator config must be a mapping")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise SimulatorConfigError(
                f"unknown simulator setting(s): {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise SimulatorConfigError(f"invalid simulator config: {exc}") from exc

    def replace(self, **changes: Any) -> SimulatorConfig:
        known = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **known)


def _coerce(cls: type, value: Any, what: str) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise SimulatorConfigError(f"{what}: each entry must be a mapping, got {value!r}")
    data = dict(value)
    if cls is FlavorSpec:
        data["id"] = str(data.get("id", ""))
    if cls is ImageSpec and "aliases" in data:
        data["aliases"] = tuple(data["aliases"])
    if cls is NetworkSpec and "id" not in data:
        data["id"] = str(uuid.uuid5(_ID_NAMESPACE, f"network:{data.get('name')}"))
    try:
        return cls(**data)
    except TypeError as exc:
        raise SimulatorConfigError(f"{what}: {exc}") from exc


def _unique(what: str, keys: list[str]) -> None:
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise SimulatorConfigError(f"{what}: duplicate id/name {', '.join(dupes)}")


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML config file into a dict for :meth:`SimulatorConfig.from_dict`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SimulatorConfigError(f"cannot read simulator config {path}: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SimulatorConfigError(f"simulator config {path} is not valid: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SimulatorConfigError(f"simulator config {path} must hold a mapping")
    return data
