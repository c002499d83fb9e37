"""etcd (v3, through its gRPC gateway): claims are keys on a lease with a TTL, renewed.

URL form::

    etcd://host[:2379][?protocol=https&ca_cert=...&cert_cert=...&cert_key=...]

TaskFlow's etcd board claims a job by creating a lock key attached to a
lease of ``[jobboard] claim_expiry`` seconds (rounded up: etcd counts whole
seconds); the worker keeps the lease alive, and a dead worker's lease
expires with its lock, so another worker takes the job.  Idle workers watch
the board's keys: a post, a released claim and an expired lease each wake
them at once.

Two of the board's habits are worked around here, with public calls only:

* it caches a job's lease on first use, so after an abandon and a new claim
  of the same job ``extend_expiry`` would refresh the old lease and let the
  new claim lapse: :meth:`EtcdJobboard.renew` refreshes the lease the lock
  names now;
* given a client, it does not watch, so its job list is refreshed on every
  listing (one range read, only when something changed or the idle worker
  looks on its own).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import socket
import threading
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging
from taskflow.jobs import backends as job_backends

from flowstack.jobboard import base
from flowstack.jobboard import location as locations

LOG = logging.getLogger(__name__)
PORT = 2379
ROOT = "/taskflow/jobs"  # where TaskFlow's etcd board keeps every board's keys
OPTIONS = {"protocol", "ca_cert", "cert_cert", "cert_key", "api_path"}


class EtcdJobboard(base.Jobboard):
    library = "etcd3gw"
    extra = "etcd"

    def __init__(self, board: Any, where: str, settings: base.Settings, client: Any) -> None:
        super().__init__(board, where, settings)
        self._client = client
        self._prefix = f"{ROOT}/{settings.namespace}/"
        self._ttl = max(2, math.ceil(settings.claim_expiry))

    @classmethod
    def open(
        cls, location: locations.Location, settings: base.Settings, name: str, persistence: Any
    ) -> EtcdJobboard:
        cls.require_library(location)
        location.check_options(OPTIONS)
        if location.path.strip("/"):
            raise locations.invalid(
                "etcd:// takes no path: the jobs live under [jobboard] namespace"
            )
        if len(location.servers) > 1:
            raise locations.invalid("etcd:// takes one endpoint (a load balancer or one member)")
        if location.username or location.password:
            raise locations.invalid("etcd:// does not take a user or password; use TLS options")
        protocol = location.option("protocol", "http")
        if protocol not in ("http", "https"):
            raise locations.invalid(f"protocol must be http or https, not {protocol!r}")
        import etcd3gw

        [(host, port)] = location.servers_with(PORT)
        where = f"etcd at {protocol}://{host}:{port}, namespace {settings.namespace!r}"
        client = etcd3gw.Etcd3Client(
            host=host,
            port=port,
            protocol=protocol,
            ca_cert=location.option("ca_cert"),
            cert_key=location.option("cert_key"),
            cert_cert=location.option("cert_cert"),
            timeout=settings.connect_timeout,
            api_path=location.option("api_path"),
        )
        try:
            client.status()  # the board connects lazily; say now if etcd is not there
        except Exception as exc:
            client.session.close()
            raise locations.invalid(f"cannot reach {where}: {base.root_cause(exc)}") from None
        conf = {"board": "etcd", "path": settings.namespace}
        board = job_backends.fetch(name, conf, persistence=persistence, client=client)
        board.connect()
        return cls(board, where, settings, client)

    def iterjobs(self, only_unclaimed: bool = False, ensure_fresh: bool = False) -> Any:
        return super().iterjobs(only_unclaimed=only_unclaimed, ensure_fresh=True)

    def claim(self, job: Any, who: str) -> None:
        self._board.claim(job, who, expiry=self._ttl)

    def renew(self, job: Any, who: str) -> bool:
        import etcd3gw

        owner = self._board.get_owner_data(job)
        if not owner or owner.get("owner") != who or "lease_id" not in owner:
            return False
        return etcd3gw.Lease(id=owner["lease_id"], client=self._client).refresh() > 0

    def claim_expires_in(self, job: Any) -> float | str | None:
        import etcd3gw

        owner = self._board.get_owner_data(job)
        if not owner:
            return None
        if "lease_id" not in owner:
            return "never"
        left = etcd3gw.Lease(id=owner["lease_id"], client=self._client).ttl()
        return float(left) if left >= 0 else None

    def watch(self, wake: Callable[[], None], retry: float) -> base.Watch:
        """Wake on a new job (its data key put) or a freed one (its lock key deleted)."""
        prefix = self._prefix.encode()
        request = {"create_request": {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix))}}
        streams: list[Any] = []

        def listen(stopping: threading.Event) -> None:
            response = self._client.session.post(
                self._client.get_url("/watch"),
                json=request,
                stream=True,
                timeout=(self.settings.connect_timeout, None),
            )
            streams[:] = [response]
            try:
                response.raise_for_status()
                wake()  # watching again: anything changed meanwhile is on the board
                for line in response.iter_lines():
                    if stopping.is_set():
                        return
                    if line and _frees_or_posts(json.loads(line)):
                        wake()
            finally:
                streams.clear()
                response.close()

        def interrupt() -> None:
            # The stream blocks in a read that closing the file does not end.
            for response in list(streams):
                sock = getattr(getattr(response.raw, "connection", None), "sock", None)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)

        return base.ListenerThread(f"watch-{self.settings.namespace}", listen, retry, interrupt)

    def close_client(self) -> None:
        self._client.session.close()


def _frees_or_posts(chunk: dict[str, Any]) -> bool:
    for event in chunk.get("result", {}).get("events", []):
        key = base64.b64decode(event["kv"]["key"])
        deleted = event.get("type") == "DELETE"
        if (key.endswith(b".data") and not deleted) or (key.endswith(b".lock") and deleted):
            return True
    return False


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _prefix_end(prefix: bytes) -> bytes:
    """The first key after every key starting with ``prefix`` (etcd's range end)."""
    return prefix[:-1] + bytes([prefix[-1] + 1])
