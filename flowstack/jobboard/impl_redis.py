"""Redis, alone or behind Redis Sentinel: claims with an expiry, renewed; posts published.

URL forms (``rediss://`` or ``?ssl=true`` for TLS)::

    redis://[[username]:password@]host[:6379][/db]
    redis://[[username]:password@]sentinel1[:26379][,sentinel2...][/db]?sentinel=MASTER

Options: ``sentinel`` (the master's name; the servers are then sentinels),
``sentinel_fallback`` (more sentinels, repeatable), ``sentinel_username``,
``sentinel_password``, ``sentinel_ssl``; ``ssl``, ``ssl_ca_certs``,
``ssl_certfile``, ``ssl_keyfile``, ``ssl_cert_reqs`` (required, optional,
none).  With Sentinel, the client asks the sentinels for the current master
and asks again after a failover.

A claim is a key with an expiry (``[jobboard] claim_expiry``) that the
worker renews; a dead worker's claim lapses and another worker takes the
job.  Idle workers wait on a pub/sub channel that every post and every
abandoned claim is published on; a lapsed claim is noticed by their
fallback look at the board (``[worker] jobboard_poll``), as Redis says
nothing when a key expires unless the server is configured to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from oslo_log import log as logging
from taskflow.jobs import backends as job_backends

from flowstack.jobboard import base
from flowstack.jobboard import location as locations

LOG = logging.getLogger(__name__)
PORT = 6379
SENTINEL_PORT = 26379
SSL_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
OPTIONS = {
    "sentinel",
    "sentinel_fallback",
    "sentinel_username",
    "sentinel_password",
    "sentinel_ssl",
    "ssl",
    *SSL_OPTIONS,
}
#: Answers of PTTL that are not times (the key has no expiry, the key is gone).
_NO_EXPIRY, _NO_KEY = -1, -2


class RedisJobboard(base.Jobboard):
    library = "redis"
    extra = "redis"

    def __init__(
        self,
        board: Any,
        where: str,
        settings: base.Settings,
        client: Any,
        sentinels: list[Any] | None = None,
    ) -> None:
        super().__init__(board, where, settings)
        self._client = client
        self._sentinels = sentinels or []
        self._channel = f"{settings.namespace}.wakeup"

    @classmethod
    def open(
        cls, location: locations.Location, settings: base.Settings, name: str, persistence: Any
    ) -> RedisJobboard:
        cls.require_library(location)
        location.check_options(OPTIONS, repeatable=frozenset({"sentinel_fallback"}))
        client, sentinels, where = _client(location, settings)
        secrets = (location.password, location.option("sentinel_password"))
        try:
            _check(client, sentinels, location.option("sentinel"))
            conf = {"board": "redis", "namespace": settings.namespace}
            board = job_backends.fetch(name, conf, persistence=persistence, client=client)
            board.connect()
        except Exception as exc:
            _close(client, sentinels)
            raise locations.invalid(f"cannot use {where}: {_reason(exc, secrets)}") from None
        where = f"{where}, namespace {settings.namespace!r}"
        return cls(board, where, settings, client, sentinels)

    def claim(self, job: Any, who: str) -> None:
        self._board.claim(job, who, expiry=self.settings.claim_expiry)

    def abandon(self, job: Any, who: str) -> None:
        super().abandon(job, who)
        self._publish()

    def post(self, name: str, details: dict[str, Any]) -> Any:
        job = super().post(name, details)
        self._publish()
        return job

    def find_owner(self, job: Any) -> str | None:
        # TaskFlow's Redis board fails to decode a missing owner (TypeError)
        # instead of answering None: a claim that lapses while asked about.
        try:
            return self._board.find_owner(job)
        except TypeError:
            return None

    def renew(self, job: Any, who: str) -> bool:
        if self.find_owner(job) != who:
            return False
        return bool(job.extend_expiry(self.settings.claim_expiry))

    def claim_expires_in(self, job: Any) -> float | str | None:
        left = job.expires_in()
        if left == _NO_EXPIRY:
            return "never"
        if left == _NO_KEY:
            return None
        return round(float(left), 1)

    def watch(self, wake: Callable[[], None], retry: float) -> base.Watch:
        def listen(stopping: threading.Event) -> None:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                wake()  # (re)subscribed: anything posted meanwhile is on the board
                while not stopping.is_set():
                    if pubsub.get_message(timeout=retry) is not None:
                        wake()
            finally:
                pubsub.close()

        return base.ListenerThread(f"watch-{self.settings.namespace}", listen, retry)

    def close_client(self) -> None:
        _close(self._client, self._sentinels)

    def _publish(self) -> None:
        try:
            self._client.publish(self._channel, b"1")
        except Exception as exc:  # idle workers still look at the board on their own
            LOG.debug("Could not publish on %s: %s", self._channel, exc)


def _client(location: locations.Location, settings: base.Settings) -> tuple[Any, list[Any], str]:
    """A redis-py client for ``location``, its sentinels' clients, and where it points."""
    import redis
    from redis import sentinel as redis_sentinel

    db = _database(location.path)
    use_ssl = location.scheme == "rediss" or location.flag("ssl")
    kwargs: dict[str, Any] = {
        "username": location.username,
        "password": location.password,
        "db": db,
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.connect_timeout,
        "health_check_interval": 30,
        **_quiet_client(redis),
    }
    if use_ssl:
        kwargs["ssl"] = True
        kwargs.update({key: location.option(key) for key in SSL_OPTIONS if location.option(key)})
    elif any(location.option(key) for key in SSL_OPTIONS):
        raise locations.invalid("ssl_* options need rediss:// or ssl=true")
    master = location.option("sentinel")
    if master is None:
        if len(location.servers) > 1 or location.options.get("sentinel_fallback"):
            raise locations.invalid(
                "several Redis servers are Redis Sentinel: name the master with ?sentinel=NAME"
            )
        [(host, port)] = location.servers_with(PORT)
        return redis.Redis(host=host, port=port, **kwargs), [], f"Redis at {host}:{port} db {db}"
    if not master:
        raise locations.invalid("option 'sentinel' needs the name of the master")
    sentinels = location.servers_with(SENTINEL_PORT)
    for fallback in location.options.get("sentinel_fallback", []):
        sentinels += locations.parse(f"redis://{fallback}").servers_with(SENTINEL_PORT)
    sentinel_kwargs: dict[str, Any] = {
        "username": location.option("sentinel_username"),
        "password": location.option("sentinel_password"),
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.connect_timeout,
    }
    if location.flag("sentinel_ssl"):
        sentinel_kwargs["ssl"] = True
        sentinel_kwargs.update(
            {key: location.option(key) for key in SSL_OPTIONS if location.option(key)}
        )
    watchers = redis_sentinel.Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs)
    client = watchers.master_for(master, **kwargs)
    via = ", ".join(f"{host}:{port}" for host, port in sentinels)
    return client, watchers.sentinels, f"Redis Sentinel master {master!r} (via {via}) db {db}"


def _check(client: Any, sentinels: list[Any], master: str | None) -> None:
    """Ask the server once, so that a start-up error says what is wrong in a few words."""
    from redis import exceptions as redis_exceptions
    from redis import sentinel as redis_sentinel

    try:
        client.ping()
    except redis_sentinel.MasterNotFoundError:
        errors = []
        for sentinel in sentinels:
            try:
                sentinel.ping()
            except redis_exceptions.RedisError as exc:
                errors.append(exc)
        if len(errors) == len(sentinels):
            raise RuntimeError(f"no sentinel answers ({errors[0]})") from None
        raise RuntimeError(f"no sentinel knows a master named {master!r}") from None


def _close(client: Any, sentinels: list[Any]) -> None:
    for one in (client, *sentinels):
        one.close()


def _reason(exc: BaseException, secrets: tuple[str | None, ...]) -> str:
    """The innermost error's words (TaskFlow wraps them with the client's repr)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return base.one_line(exc, *secrets)


def _database(path: str) -> int:
    number = path.strip("/") or "0"
    if not number.isdigit():
        raise locations.invalid(f"the Redis database {number!r} is not a number")
    return int(number)


def _quiet_client(redis: Any) -> dict[str, Any]:
    """redis-py 8 probes each connection for maintenance notifications, which
    Redis before 8 does not know (a log line per connection); flowstack has
    no use for them."""
    try:
        from redis import maint_notifications
    except ImportError:
        return {}
    quiet = maint_notifications.MaintNotificationsConfig(enabled=False)
    return {"maint_notifications_config": quiet}
