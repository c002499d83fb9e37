"""Open the configured TaskFlow jobboard, post flows, and claim with an expiry.

TaskFlow's conductors claim jobs without an expiry; on Redis such a claim
never lapses, so a killed worker's job would never be taken over.
:class:`ExpiringClaims` gives every claim the configured expiry; the worker's
heartbeat thread renews it while the job runs.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from oslo_config import cfg
from taskflow.jobs import backends as job_backends

from flowstack import exceptions

JOB_NAME_PREFIX = "flow-"
DETAIL_FLOW = "flow_uuid"
_SCHEMES = {"redis": "redis", "rediss": "redis", "zookeeper": "zookeeper", "etcd": "etcd"}


def board_conf(url: str, namespace: str) -> dict[str, Any]:
    """TaskFlow jobboard configuration from a URL (password kept out of messages)."""
    parsed = urllib.parse.urlsplit(url)
    kind = _SCHEMES.get(parsed.scheme)
    if kind is None:
        raise exceptions.ConfigError(
            f"[jobboard] url: unsupported scheme {parsed.scheme!r}; use redis://, "
            "zookeeper:// or etcd://"
        )
    if kind == "redis":
        conf: dict[str, Any] = {
            "board": "redis",
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 6379,
            "namespace": namespace,
            "ssl": parsed.scheme == "rediss",
        }
        database = parsed.path.strip("/")
        if database:
            conf["db"] = int(database)
        if parsed.password:
            conf["password"] = urllib.parse.unquote(parsed.password)
        return conf
    if kind == "zookeeper":
        return {"board": "zookeeper", "hosts": parsed.netloc, "path": f"/{namespace}"}
    return {
        "board": "etcd",
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 2379,
        "path": f"/{namespace}",
    }


def open_board(conf: cfg.ConfigOpts, name: str, persistence: Any = None) -> Any:
    """A connected jobboard for ``conf``'s [jobboard] url."""
    if not conf.jobboard.url:
        raise exceptions.ConfigError("[jobboard] url is not set: there is no jobboard")
    settings = board_conf(conf.jobboard.url, conf.jobboard.namespace)
    board = job_backends.fetch(name, settings, persistence=persistence)
    try:
        board.connect()
    except Exception as exc:
        where = settings.get("host") or settings.get("hosts")
        raise exceptions.ConfigError(
            f"cannot reach the {settings['board']} jobboard at {where}: {exc}"
        ) from None
    return board


def post_flow(board: Any, flow_id: str) -> Any:
    """Post a persisted flow; the job names it, the flow detail holds everything else."""
    return board.post(JOB_NAME_PREFIX + flow_id, details={DETAIL_FLOW: flow_id})


def flow_of(job: Any) -> str | None:
    return (job.details or {}).get(DETAIL_FLOW)


class ExpiringClaims:
    """A jobboard whose claims carry an expiry unless one is given."""

    def __init__(self, board: Any, expiry: float) -> None:
        self._board = board
        self._expiry = expiry

    def claim(self, job: Any, who: str, expiry: float | None = None) -> Any:
        return self._board.claim(job, who, expiry=self._expiry if expiry is None else expiry)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._board, name)
