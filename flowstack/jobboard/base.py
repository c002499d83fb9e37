"""What every jobboard backend provides, whatever server it runs on.

TaskFlow's jobboards share post/claim/consume/abandon, but differ where
crash safety lives: a Redis or etcd claim carries an expiry that its owner
must renew, a ZooKeeper claim lives as long as its owner's session and has
nothing to renew.  Each backend module (``impl_redis``, ``impl_etcd``,
``impl_zookeeper``) subclasses :class:`Jobboard` and puts there everything
that depends on the kind of server, so that the worker's conductor and
claim keeper never ask which one they have:

* :meth:`Jobboard.claim` claims with whatever makes the claim lapse when its
  owner dies (an expiry, or the session);
* :meth:`Jobboard.renew` keeps it alive and says when it was lost;
* :meth:`Jobboard.watch` wakes an idle worker when there may be a job to
  claim (a post, a released or lapsed claim), so that it need not poll.

Each backend builds its own client from the URL and hands it to TaskFlow's
board (the boards' public ``client`` argument): the client is what the
watch listens with, and TaskFlow's board configuration never holds a
password.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib.util
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from oslo_config import cfg
from oslo_log import log as logging

from flowstack.jobboard import location as locations

LOG = logging.getLogger(__name__)
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The [jobboard] options a backend needs besides its URL."""

    namespace: str
    claim_expiry: float
    connect_timeout: float

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Settings:
        group = conf.jobboard
        locations.check_namespace(group.namespace)
        return cls(group.namespace, group.claim_expiry, group.connect_timeout)


class Watch(abc.ABC):
    """A running listener for board changes; :meth:`stop` ends it."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop listening and release what the listener holds."""


class NoWatch(Watch):
    def stop(self) -> None:
        pass


class ListenerThread(Watch):
    """A daemon thread that listens until stopped, starting again when the server goes away.

    ``listen(stopping)`` blocks while the connection lives and returns or
    raises when it ends; between two attempts the thread waits ``retry``
    seconds, so a server that is down costs one attempt per ``retry``.
    ``interrupt``, when given, ends a ``listen`` blocked in a read.
    """

    def __init__(
        self,
        name: str,
        listen: Callable[[threading.Event], None],
        retry: float,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        self._listen = listen
        self._interrupt = interrupt
        self._retry = retry
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                self._listen(self._stopping)
                failing = False
            except Exception as exc:
                if not self._stopping.is_set() and not failing:
                    LOG.warning("Jobboard watch interrupted (%s); polling until it is back", exc)
                failing = True
            self._stopping.wait(self._retry)

    def stop(self) -> None:
        self._stopping.set()
        if self._interrupt is not None:
            self._interrupt()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class Jobboard(abc.ABC):
    """A connected TaskFlow jobboard, and what its kind of server needs that TaskFlow leaves out.

    TaskFlow's conductor uses it as a board (``iterjobs``, ``claim``,
    ``consume``, ``abandon``, ``trash``, ``register_entity``); flowstack
    also posts to it, renews claims, reads owners and listens for changes.
    Nothing it shows or logs carries a password (:attr:`where`).
    """

    #: What a claim on this board lasts for: "expiry" (renewed) or "session".
    claims: ClassVar[str] = "expiry"
    #: The Python library the backend's client needs, and the extra that installs it.
    library: ClassVar[str] = ""
    extra: ClassVar[str] = ""

    def __init__(self, board: Any, where: str, settings: Settings) -> None:
        self._board = board
        #: The server(s) and namespace, for messages: never a password.
        self.where = where
        self.settings = settings

    @classmethod
    @abc.abstractmethod
    def open(
        cls, location: locations.Location, settings: Settings, name: str, persistence: Any
    ) -> Jobboard:
        """Check ``location``, connect, and return the board.

        :raises flowstack.exceptions.ConfigError: one line naming ``[jobboard] url``
            and what is wrong (a bad option, an unreachable server), no password.
        """

    @classmethod
    def require_library(cls, location: locations.Location) -> None:
        if cls.library and importlib.util.find_spec(cls.library) is None:
            raise locations.invalid(
                f"{location.scheme}:// needs the {cls.library} library: install "
                f"openstack-flowstack[{cls.extra}]"
            )

    # -- what TaskFlow's conductor calls -----------------------------------------------------

    def register_entity(self, entity: Any) -> None:
        self._board.register_entity(entity)

    def iterjobs(self, only_unclaimed: bool = False, ensure_fresh: bool = False) -> Iterator[Any]:
        return self._board.iterjobs(only_unclaimed=only_unclaimed, ensure_fresh=ensure_fresh)

    @abc.abstractmethod
    def claim(self, job: Any, who: str) -> None:
        """Claim ``job`` so that the claim lapses if ``who`` dies.

        :raises taskflow.exceptions.UnclaimableJob: someone else holds it.
        :raises taskflow.exceptions.NotFound: the job is gone.
        """

    def consume(self, job: Any, who: str) -> None:
        self._board.consume(job, who)

    def abandon(self, job: Any, who: str) -> None:
        self._board.abandon(job, who)

    def trash(self, job: Any, who: str) -> None:
        self._board.trash(job, who)

    @property
    def connected(self) -> bool:
        return bool(self._board.connected)

    def connect(self) -> None:  # noqa: B027 - deliberately nothing to do
        """Already connected by :meth:`open` (TaskFlow's conductor may ask)."""

    def close(self) -> None:
        """Close the TaskFlow board, then the client it was given."""
        try:
            self._board.close()
        finally:
            self.close_client()

    # -- flowstack's own ---------------------------------------------------------------------

    def post(self, name: str, details: dict[str, Any]) -> Any:
        return self._board.post(name, details=details)

    def find_owner(self, job: Any) -> str | None:
        return self._board.find_owner(job)

    @abc.abstractmethod
    def renew(self, job: Any, who: str) -> bool:
        """Keep ``who``'s claim on ``job`` alive; False when it is no longer ``who``'s.

        Raises on a jobboard hiccup (the caller tries again at its next beat).
        """

    @abc.abstractmethod
    def claim_expires_in(self, job: Any) -> float | str | None:
        """Seconds until the claim lapses unless renewed, a word when it has no
        deadline ("session", "never"), or None when there is no claim."""

    @abc.abstractmethod
    def watch(self, wake: Callable[[], None], retry: float) -> Watch:
        """Call ``wake`` whenever a job may have become claimable.

        ``retry`` is how long to wait before listening again after the
        server went away (the idle worker polls meanwhile).
        """

    @abc.abstractmethod
    def close_client(self) -> None:
        """Release the client this backend built."""


def one_line(exc: BaseException, *secrets: str | None) -> str:
    """An exception's text on one line, with any secret it might quote removed."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, locations.MASK)
    return text


def root_cause(exc: BaseException, *secrets: str | None) -> str:
    """The operating system's words when a connection failed ("[Errno 111] Connection
    refused"), else the innermost error's text: libraries wrap them in long reprs."""
    chain = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for error in chain:
        found = _ERRNO.search(str(error))
        if found:
            return found.group(0).rstrip(".")
    return one_line(chain[-1], *secrets)
