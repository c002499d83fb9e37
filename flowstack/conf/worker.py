"""The [worker] group: how a flowstack-worker runs claimed flows."""

from oslo_config import cfg

GROUP_NAME = "worker"


def _group() -> cfg.OptGroup:
    return cfg.OptGroup(GROUP_NAME, title="Workers")


OPTS = [
    cfg.IntOpt(
        "concurrent_flows",
        default=8,
        min=1,
        help="Flows one worker runs at the same time (their tasks share [engine] "
        "max_workers threads).",
    ),
    cfg.FloatOpt(
        "jobboard_poll",
        default=1.0,
        min=0.01,
        help="Seconds between two looks of an idle worker at the jobboard when nothing "
        "woke it. A post or a released claim wakes it at once (Redis pub/sub, etcd and "
        "ZooKeeper watches); on Redis a claim that lapsed is noticed within this delay.",
    ),
    cfg.FloatOpt(
        "service_heartbeat",
        default=5.0,
        min=0.1,
        help="Seconds between two 'still alive' marks of a worker in the database.",
    ),
    cfg.FloatOpt(
        "dead_after",
        default=30.0,
        min=1.0,
        help="A service not seen for this long is considered gone: the reaper re-posts "
        "the unfinished flows it owned.",
    ),
    cfg.FloatOpt(
        "reaper_interval",
        default=15.0,
        min=0.1,
        help="Seconds between two checks for flows whose owner is gone and whose job "
        "is not on the jobboard.",
    ),
    cfg.FloatOpt(
        "orphan_grace",
        default=30.0,
        min=0.0,
        help="How old a never-claimed flow must be before the reaper decides its job "
        "was lost between the database write and the post, and posts it again.",
    ),
    cfg.FloatOpt(
        "group_health_interval",
        default=60.0,
        min=0.0,
        help="Seconds between two health checks of an idle scaling group: a converge "
        "flow asks the cloud about every member and replaces those in ERROR or gone. "
        "0 checks only when a trigger converges the group.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP_NAME)


def list_opts() -> list:
    return [(_group(), OPTS)]
