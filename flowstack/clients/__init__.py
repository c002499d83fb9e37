"""Clients of the services flowstack drives, shared by every task of a process.

``Runtime.clients`` is a :class:`Clients`; plugins reach Nova through ``self.clients``::

    clients = Clients(conf)                 # [nova] options, or the embedded simulator
    nova = clients.nova()                   # python-novaclient, explicit microversion
    clients.find_flavor("m1.small")         # {"id": "2", "name": "m1.small"}
    octavia = clients.octavia()             # openstacksdk's load-balancer proxy

The novaclient client and its keystoneauth session are built once, on first
use, and shared by all threads.  Image and network lookups go through a
second client used by one thread at a time, because novaclient switches a
client's service type while it looks them up.  The Octavia proxy is built
once too, from the [octavia] options (see :mod:`flowstack.clients.octavia`).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from oslo_config import cfg
from oslo_log import log as logging

from flowstack.clients import common
from flowstack.clients import nova as nova_api
from flowstack.clients import octavia as octavia_api
from flowstack.clients.nova import (
    NovaError,
    NovaNotFound,
    NovaRequestError,
    NovaTransientError,
    NovaUnreachable,
)
from flowstack.clients.octavia import OctaviaSettings
from flowstack.conf import nova as nova_conf
from flowstack.conf import octavia as octavia_conf
from flowstack.exceptions import ConfigError

__all__ = [
    "Clients",
    "NovaError",
    "NovaNotFound",
    "NovaRequestError",
    "NovaSettings",
    "NovaTransientError",
    "NovaUnreachable",
    "OctaviaSettings",
]

LOG = logging.getLogger(__name__)

SIMULATOR_STATE_FILE = "nova-sim.json"
#: How long a flavor, image or network lookup is reused (they rarely change,
#: and a 100-server stack would otherwise ask 100 times).
LOOKUP_TTL = 60.0


@dataclasses.dataclass(frozen=True)
class NovaSettings:
    """The [nova] numbers a plugin needs, read once."""

    build_timeout: float
    delete_timeout: float
    api_retries: int
    #: First wait before a retry; doubles on each retry.
    retry_delay: float

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        return common.backoff(self.retry_delay, attempt)


class Clients:
    """Lazily built, thread-safe clients from the configuration.

    ``endpoint_override`` (tests, the embedded simulator) replaces the
    [nova] endpoint; without ``auth_type`` no token is requested.
    """

    def __init__(self, conf: cfg.ConfigOpts, *, endpoint_override: str | None = None) -> None:
        nova_conf.register_opts(conf)
        octavia_conf.register_opts(conf)
        self.conf = conf
        self._endpoint_override = endpoint_override or conf.nova.endpoint_override
        self._lock = threading.Lock()
        self._lookup_lock = threading.Lock()
        self._nova: Any = None
        self._lookup: Any = None
        self._session: Any = None
        self._simulator: Any = None
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._octavia_lock = threading.Lock()
        self._octavia: Any = None
        self._octavia_conn: Any = None
        self._octavia_session: Any = None
        self.settings = NovaSettings(
            build_timeout=conf.nova.build_timeout,
            delete_timeout=conf.nova.delete_timeout,
            api_retries=conf.nova.api_retries,
            retry_delay=_engine_option(conf, "poll_interval", 1.0),
        )
        self.octavia_settings = OctaviaSettings(
            api_retries=conf.octavia.api_retries,
            provisioning_timeout=conf.octavia.provisioning_timeout,
            drain_timeout=conf.octavia.drain_timeout,
            retry_delay=_engine_option(conf, "poll_interval", 1.0),
        )

    # -- nova ----------------------------------------------------------------------------

    def nova(self) -> Any:
        """The shared python-novaclient ``Client`` (built on first call).

        Do not call its ``glance``/``neutron`` lookups: use :meth:`find_image`
        and :meth:`find_network`, which are safe across threads.
        """
        if self._nova is None:
            with self._lock:
                if self._nova is None:
                    self._connect()
        return self._nova

    def embedded_simulator(self) -> Any:
        """The in-process Nova simulator when flowstack runs on it, else None.

        Starts it if this is the embedded default and it is not running yet.
        """
        self.nova()
        return self._simulator

    @property
    def endpoint(self) -> str | None:
        """The compute endpoint in use when it is fixed (override or simulator)."""
        return self._endpoint_override

    def _connect(self) -> None:
        endpoint = self._endpoint_override
        if not self.conf.nova.auth_type and not endpoint:
            endpoint = self._start_simulator()
        pool = _engine_option(self.conf, "max_workers", 10)
        session = nova_api.load_session(self.conf, endpoint_override=endpoint, pool_size=pool)
        # novaclient sends image and network lookups to the override too; with
        # a service catalog they must go to Glance and Neutron instead.
        lookups_at = None if self.conf.nova.auth_type else endpoint
        self._lookup = nova_api.build_client(session, self.conf, endpoint_override=lookups_at)
        self._session = session
        self._endpoint_override = endpoint
        self._nova = nova_api.build_client(session, self.conf, endpoint_override=endpoint)

    def _start_simulator(self) -> str:
        if not self.conf.nova.embedded_simulator:
            raise ConfigError(
                "[nova] has neither auth_type nor endpoint_override, and "
                "embedded_simulator is false: flowstack does not know where Nova is"
            )
        jobboard = getattr(self.conf, "jobboard", None)
        if jobboard is not None and jobboard.url:
            # Engines and workers on a jobboard are separate processes: each
            # would get a simulator of its own, and none would see the others'
            # servers.  Run `flowstack-nova-sim` and point endpoint_override at it.
            raise ConfigError(
                "[nova] has neither auth_type nor endpoint_override: with a jobboard, "
                "the in-process simulator cannot be shared; configure Nova (or run "
                "flowstack-nova-sim and set [nova] endpoint_override)"
            )
        from flowstack.nova_sim import NovaSimulator  # only the embedded default needs it
        from flowstack.nova_sim.errors import SimulatorError

        state_file = os.path.join(self.conf.state_path, SIMULATOR_STATE_FILE)
        os.makedirs(os.path.dirname(state_file), exist_ok=True)
        try:
            self._simulator = NovaSimulator(state_file=state_file).start()
        except SimulatorError as exc:
            raise ConfigError(f"the embedded cloud simulator cannot start: {exc}") from None
        LOG.info("Using the embedded Nova simulator at %s", self._simulator.endpoint)
        return str(self._simulator.endpoint)

    # -- octavia -------------------------------------------------------------------------

    def octavia(self) -> Any:
        """openstacksdk's shared load-balancer proxy (built on first call).

        :raises OctaviaError: Octavia's endpoint cannot be discovered (yet);
            a later call tries again.
        :raises ConfigError: nothing says where Octavia is.
        """
        if self._octavia is None:
            endpoint = self._octavia_endpoint()  # may start the simulator: outside the lock
            with self._octavia_lock:
                if self._octavia is None:
                    if self._octavia_conn is None:
                        session = octavia_api.load_session(self.conf, endpoint=endpoint)
                        self._octavia_session = session
                        self._octavia_conn = octavia_api.build_connection(
                            session, self.conf, endpoint=endpoint
                        )
                    with octavia_api.translated():  # version discovery happens here
                        self._octavia = self._octavia_conn.load_balancer
        return self._octavia

    def _octavia_endpoint(self) -> str | None:
        group = self.conf.octavia
        if group.endpoint_override or group.auth_type:
            return group.endpoint_override or None
        simulator = self.embedded_simulator()
        if simulator is None:
            raise ConfigError(
                "[octavia] has neither auth_type nor endpoint_override, and Nova is not "
                "the embedded simulator: flowstack does not know where Octavia is"
            )
        return str(simulator.lb_endpoint)

    # -- lookups -------------------------------------------------------------------------

    def find_flavor(self, ref: str) -> dict[str, str]:
        """``{"id", "name"}`` of a flavor given by id or name; NovaNotFound if none."""
        return self._cached("flavor", ref, lambda: nova_api.find_flavor(self.nova(), ref))

    def find_image(self, ref: str) -> dict[str, str]:
        """``{"id", "name"}`` of an image given by id or name; NovaNotFound if none."""
        return self._cached("image", ref, lambda: self._serial(nova_api.find_image, ref))

    def find_network(self, ref: str) -> str:
        """The id of a network given by id or name; NovaNotFound if none."""
        return self._cached("network", ref, lambda: self._serial(nova_api.find_network, ref))

    def find_keypair(self, name: str) -> str:
        """The keypair's name if the user has it (not cached: keypairs come and go)."""
        return nova_api.find_keypair(self.nova(), name)

    def _serial(self, lookup: Callable[[Any, str], Any], ref: str) -> Any:
        self.nova()
        with self._lookup_lock:
            return lookup(self._lookup, ref)

    def _cached(self, kind: str, ref: str, load: Callable[[], Any]) -> Any:
        key = (kind, ref)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < LOOKUP_TTL:
            return hit[1]
        value = load()
        self._cache[key] = (now, value)
        return value

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Close connections and stop the embedded simulator, if one was started."""
        with self._octavia_lock:
            octavia, octavia_session = self._octavia_conn, self._octavia_session
            self._octavia = self._octavia_conn = self._octavia_session = None
        if octavia is not None:
            octavia.close()
            octavia_session.session.close()
        with self._lock:
            session, simulator = self._session, self._simulator
            self._nova = self._lookup = self._session = self._simulator = None
        if session is not None:
            session.session.close()
        if simulator is not None:
            simulator.stop()
            self._endpoint_override = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _engine_option(conf: cfg.ConfigOpts, name: str, fallback: Any) -> Any:
    try:
        return conf.engine[name]
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return fallback
