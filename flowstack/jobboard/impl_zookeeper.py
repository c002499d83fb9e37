"""ZooKeeper: claims are ephemeral nodes, bound to their owner's session.

URL form (ZooKeeper's own connect string, the path is a chroot)::

    zookeeper://host1[:2181][,host2[:2181]...][/chroot]

A claim is an ephemeral node that lives as long as the session of the
worker that created it.  There is nothing to renew: the client keeps its
session alive, and when a worker dies ZooKeeper ends its session after the
session timeout, which flowstack asks to be ``[jobboard] claim_expiry``
(the server bounds it by its ``tickTime``: 2 to 20 ticks), deleting the
claim; another worker then takes the job.  :meth:`ZookeeperJobboard.renew`
only checks that the claim is still this worker's (a session lost during a
network partition loses every claim of the process).

Idle workers watch the board's children: a post, a released claim and a
claim deleted with a dead session each wake them at once.

TaskFlow's board checks the server's version with the ``envi`` four-letter
command, which ZooKeeper 3.5 and later refuse unless an operator allowed
it; every ZooKeeper since 3.4 has the transactions the board needs, so the
check is turned off.
"""

from __future__ import annotations

import contextlib
import logging as std_logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from oslo_log import log as logging
from taskflow.jobs import backends as job_backends

from flowstack.jobboard import base
from flowstack.jobboard import location as locations

LOG = logging.getLogger(__name__)
PORT = 2181
LOCK = ".lock"
_SEGMENT = re.compile(r"^[^\x00-\x1f\x7f/]+$")


class ZookeeperJobboard(base.Jobboard):
    claims = "session"
    library = "kazoo"
    extra = "zookeeper"

    def __init__(self, board: Any, where: str, settings: base.Settings, client: Any) -> None:
        super().__init__(board, where, settings)
        self._client = client
        self._path = f"/{settings.namespace}"

    @classmethod
    def open(
        cls, location: locations.Location, settings: base.Settings, name: str, persistence: Any
    ) -> ZookeeperJobboard:
        cls.require_library(location)
        location.check_options(set())
        if location.username or location.password:
            raise locations.invalid("zookeeper:// does not take a user or password")
        chroot = _chroot(location.path)
        from kazoo import client as kazoo_client

        hosts = ",".join(f"{host}:{port}" for host, port in location.servers_with(PORT))
        where = f"ZooKeeper at {hosts}{chroot}, namespace {settings.namespace!r}"
        client = kazoo_client.KazooClient(
            hosts=hosts + chroot,
            timeout=settings.claim_expiry,
            connection_retry={"max_tries": -1, "max_delay": 5.0},
        )
        conf = {"board": "zookeeper", "path": f"/{settings.namespace}", "check_compatible": False}
        board = job_backends.fetch(name, conf, persistence=persistence, client=client)
        try:
            with _quiet_connection_errors():
                board.connect(timeout=settings.connect_timeout)
        except Exception as exc:
            with contextlib.suppress(Exception):
                client.stop()
                client.close()
            reason = _reason(exc, settings.connect_timeout)
            raise locations.invalid(f"cannot use {where}: {reason}") from None
        return cls(board, where, settings, client)

    def claim(self, job: Any, who: str) -> None:
        self._board.claim(job, who)

    def renew(self, job: Any, who: str) -> bool:
        return self.find_owner(job) == who

    def claim_expires_in(self, job: Any) -> float | str | None:
        return "session" if self.find_owner(job) else None

    def watch(self, wake: Callable[[], None], retry: float) -> base.Watch:
        from kazoo.recipe import watchers

        return _ChildrenWatch(watchers, self._client, self._path, wake)

    def close_client(self) -> None:
        with contextlib.suppress(Exception):
            self._client.stop()
        self._client.close()


class _ChildrenWatch(base.Watch):
    """Wakes when a job appears without a claim, or loses its claim."""

    def __init__(self, watchers: Any, client: Any, path: str, wake: Callable[[], None]) -> None:
        self._stopped = False
        self._claimable: set[str] | None = None
        self._wake = wake
        watchers.ChildrenWatch(client, path, func=self._changed, allow_session_lost=True)

    def _changed(self, children: list[str]) -> bool:
        if self._stopped:
            return False  # kazoo stops calling
        names = set(children)
        claimable = {c for c in names if not c.endswith(LOCK) and c + LOCK not in names}
        if self._claimable is None or claimable - self._claimable:
            self._wake()  # first call: watching now, look at what is there
        self._claimable = claimable
        return True

    def stop(self) -> None:
        self._stopped = True


def _chroot(path: str) -> str:
    """The URL's path as a ZooKeeper chroot ('' for none), checked as ZooKeeper would."""
    if path in ("", "/"):
        return ""
    segments = path.split("/")[1:]
    for segment in segments:
        if segment in ("", ".", "..") or not _SEGMENT.match(segment):
            raise locations.invalid(
                f"the ZooKeeper path {path!r} is not valid (an empty, '.' or '..' "
                "element, or a control character)"
            )
    if segments[0] == "zookeeper":
        raise locations.invalid(f"the ZooKeeper path {path!r} is inside /zookeeper, reserved")
    return path


def _reason(exc: BaseException, timeout: float) -> str:
    """What kazoo said under TaskFlow's wrapping, in words (a refused path, a timeout)."""
    cause = exc.__cause__ or exc
    name = type(cause).__name__
    if name == "KazooTimeoutError":
        return f"no server answered within {timeout:g} s"
    if name == "NoAuthError":
        return "the server does not allow creating the jobboard's nodes there (no permission)"
    return base.one_line(cause)


@contextlib.contextmanager
def _quiet_connection_errors() -> Iterator[None]:
    """kazoo logs each failed connection attempt; a failed start says it once, itself."""
    logger = std_logging.getLogger("kazoo.client")
    level = logger.level
    logger.setLevel(std_logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
