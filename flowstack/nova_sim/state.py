"""The simulated cloud's data: servers, keypairs, addresses, load balancers — no HTTP.

One :class:`CloudState` is shared by every request thread. Each operation runs
inside :meth:`CloudState.reading` or :meth:`CloudState.writing`, which hold one
re-entrant lock (servers, keypairs and address pools change together, and an
operation is microseconds, so finer locks would buy nothing) and, when a state
file is configured, keep it in sync (see :mod:`flowstack.nova_sim.persistence`).
Server operations live in :mod:`.server_ops`; domain refusals are
:mod:`flowstack.nova_sim.errors` exceptions that the API modules turn into
Nova faults.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from flowstack.nova_sim import errors
from flowstack.nova_sim.config import FlavorSpec, ImageSpec, NetworkSpec, SimulatorConfig
from flowstack.nova_sim.faults import FaultInjector
from flowstack.nova_sim.keypairs import fingerprint, generate_keypair
from flowstack.nova_sim.lb_model import LbStore
from flowstack.nova_sim.lifecycle import ServerRecord, admin_view, observe
from flowstack.nova_sim.model import RequestContext
from flowstack.nova_sim.network import Ipam
from flowstack.nova_sim.persistence import StateFile


class CloudState:
    """Servers, keypairs and address pools of one simulated cloud."""

    def __init__(
        self,
        config: SimulatorConfig,
        faults: FaultInjector,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.faults = faults
        self.clock = clock
        self.lock = threading.RLock()
        self.build_delay = config.build_delay
        self.delete_delay = config.delete_delay
        self.lb_provision_delay = config.lb_provision_delay
        self.lb_update_delay = config.lb_update_delay
        self.flavors: dict[str, FlavorSpec] = {f.id: f for f in config.flavors}
        self.images: dict[str, ImageSpec] = {i.id: i for i in config.images}
        self.networks: dict[str, NetworkSpec] = {n.name: n for n in config.networks}
        self._file = StateFile(config.state_file) if config.state_file else None
        self._signature: Any = None
        self._clear()
        if self._file is not None:
            with self._file.locked():
                self._refresh()

    # -- persistence ----------------------------------------------------------
    def _clear(self) -> None:
        self.servers: dict[str, ServerRecord] = {}
        self.keypairs: dict[str, dict[str, Any]] = {}
        self.seq = 0
        self.keypair_seq = 0
        self.ipam = {name: Ipam(spec) for name, spec in self.networks.items()}
        #: load balancers, pools, members and the event log (see :mod:`.lb_model`).
        self.lb = LbStore()

    def _dump(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "keypair_seq": self.keypair_seq,
            "servers": [r.to_dict() for r in self.servers.values()],
            "keypairs": list(self.keypairs.values()),
            "networks": {name: ipam.to_dict() for name, ipam in self.ipam.items()},
            "lb": self.lb.to_dict(),
        }

    def _load(self, data: dict[str, Any]) -> None:
        self._clear()
        self.seq = int(data.get("seq", 0))
        self.keypair_seq = int(data.get("keypair_seq", 0))
        for item in data.get("servers", []):
            record = ServerRecord.from_dict(item)
            self.servers[record.id] = record
        for item in data.get("keypairs", []):
            self.keypairs[self.keypair_key(item["user_id"], item["name"])] = item
        for name, ipam_data in (data.get("networks") or {}).items():
            if name in self.ipam:
                self.ipam[name].load(ipam_data)
        self.lb.load(data.get("lb") or {})

    def _refresh(self) -> None:
        if self._file is None:
            return
        signature = self._file.signature()
        if signature != self._signature:
            data = self._file.read()
            if data is None:
                self._clear()
            else:
                self._load(data)
            self._signature = signature

    def _save(self) -> None:
        if self._file is not None:
            self._file.write(self._dump())
            self._signature = self._file.signature()

    @contextlib.contextmanager
    def reading(self) -> Iterator[float]:
        """Hold the state for a consistent read; yields the request's ``now``."""
        with self.lock:
            self._refresh()
            yield self.clock()

    @contextlib.contextmanager
    def writing(self) -> Iterator[float]:
        """Hold the state (and the state file's lock) for a change; saves on success."""
        with self.lock:
            if self._file is None:
                yield self.clock()
                return
            with self._file.locked():
                self._refresh()
                yield self.clock()
                self._save()

    def reset(self) -> None:
        """Forget every server, keypair and load balancer (the state file is rewritten empty)."""
        with self.writing():
            self._clear()

    # -- lookups --------------------------------------------------------------
    def flavor(self, flavor_id: str) -> FlavorSpec:
        try:
            return self.flavors[flavor_id]
        except KeyError:
            raise errors.FlavorNotFound(flavor_id) from None

    def image(self, image_id: str) -> ImageSpec:
        try:
            return self.images[image_id]
        except KeyError:
            raise errors.ImageNotFound(image_id) from None

    # -- keypairs -------------------------------------------------------------
    @staticmethod
    def keypair_key(user_id: str, name: str) -> str:
        """Keypairs belong to a user: their key in :attr:`keypairs`."""
        return f"{user_id}/{name}"

    def create_keypair(
        self, ctx: RequestContext, name: str, public_key: str | None, key_type: str, user_id: str
    ) -> tuple[dict[str, Any], str | None]:
        private_key = None
        if public_key is None:
            public_key, private_key = generate_keypair()
        digest = fingerprint(public_key, key_type)
        with self.writing() as now:
            key = self.keypair_key(user_id, name)
            if key in self.keypairs:
                raise errors.KeypairExists(name)
            self.keypair_seq += 1
            keypair = {
                "id": self.keypair_seq,
                "name": name,
                "user_id": user_id,
                "public_key": public_key,
                "fingerprint": digest,
                "type": key_type,
                "created_at": now,
            }
            self.keypairs[key] = keypair
            return dict(keypair), private_key

    def get_keypair(self, user_id: str, name: str) -> dict[str, Any]:
        with self.reading():
            try:
                return dict(self.keypairs[self.keypair_key(user_id, name)])
            except KeyError:
                raise errors.KeypairNotFound(name, user_id) from None

    def list_keypairs(
        self, user_id: str, limit: int | None = None, marker: str | None = None
    ) -> list[dict[str, Any]]:
        with self.reading():
            items = sorted(
                (kp for kp in self.keypairs.values() if kp["user_id"] == user_id),
                key=lambda kp: kp["name"],
            )
            if marker is not None:
                names = [kp["name"] for kp in items]
                if marker not in names:
                    raise errors.MarkerNotFound(marker)
                items = items[names.index(marker) + 1 :]
            return [dict(kp) for kp in (items if limit is None else items[:limit])]

    def delete_keypair(self, user_id: str, name: str) -> None:
        with self.writing():
            if self.keypairs.pop(self.keypair_key(user_id, name), None) is None:
                raise errors.KeypairNotFound(name, user_id)

    # -- admin ----------------------------------------------------------------
    def usage(self, project_id: str, now: float) -> dict[str, int]:
        """Instances, cores and RAM of a project's servers that are not gone yet."""
        used = {"instances": 0, "cores": 0, "ram": 0}
        for record in self.servers.values():
            if record.project_id == project_id and not observe(record, now).gone:
                used["instances"] += 1
                used["cores"] += int(record.flavor.get("vcpus", 0))
                used["ram"] += int(record.flavor.get("ram", 0))
        return used

    def fail_server(self, server_id: str, message: str) -> None:
        """Put a live server into ERROR with a fault, as a failed compute host does."""
        with self.writing() as now:
            record = self.servers.get(server_id)
            if record is None:
                raise KeyError(server_id)
            record.error_since = now
            record.error_fault = {"code": 500, "message": message, "created": now}
            record.add_event(now, "failed", message=message)

    def admin_records(self, *, live_only: bool = False) -> list[dict[str, Any]]:
        """Every server ever created (oldest first), with status and history."""
        with self.reading() as now:
            result = []
            for record in sorted(self.servers.values(), key=lambda r: r.seq):
                seen = observe(record, now)
                if live_only and seen.gone:
                    continue
                result.append(admin_view(record, seen, now))
            return result
