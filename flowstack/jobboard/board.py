"""Open the configured jobboard, post flows on it, and read a job's flow.

``[jobboard] url`` chooses the backend by its scheme (one module each,
:mod:`flowstack.jobboard.base` says what they share); whatever the backend,
callers get a :class:`~flowstack.jobboard.base.Jobboard` whose claims lapse
when their owner dies.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

from flowstack import exceptions
from flowstack.jobboard import base, impl_etcd, impl_redis, impl_zookeeper
from flowstack.jobboard import location as locations

JOB_NAME_PREFIX = "flow-"
DETAIL_FLOW = "flow_uuid"
BACKENDS: dict[str, type[base.Jobboard]] = {
    "redis": impl_redis.RedisJobboard,
    "rediss": impl_redis.RedisJobboard,
    "etcd": impl_etcd.EtcdJobboard,
    "zookeeper": impl_zookeeper.ZookeeperJobboard,
}


def open_board(conf: cfg.ConfigOpts, name: str, persistence: Any = None) -> base.Jobboard:
    """A connected jobboard for ``conf``'s [jobboard] url.

    :raises flowstack.exceptions.ConfigError: one line naming the option and
        what is wrong with it (scheme, options, an unreachable server), never
        the password.
    """
    if not conf.jobboard.url:
        raise exceptions.ConfigError("[jobboard] url is not set: there is no jobboard")
    location = locations.parse(conf.jobboard.url)
    backend = BACKENDS.get(location.scheme)
    if backend is None:
        schemes = ", ".join(f"{scheme}://" for scheme in BACKENDS)
        raise locations.invalid(f"unknown scheme {location.scheme!r}; use one of {schemes}")
    return backend.open(location, base.Settings.from_conf(conf), name, persistence)


def post_flow(board: base.Jobboard, flow_id: str) -> Any:
    """Post a persisted flow; the job names it, the flow detail holds everything else."""
    return board.post(JOB_NAME_PREFIX + flow_id, details={DETAIL_FLOW: flow_id})


def flow_of(job: Any) -> str | None:
    return (job.details or {}).get(DETAIL_FLOW)
