"""The [engine] group: how flows run."""

from oslo_config import cfg

GROUP = cfg.OptGroup("engine", title="Flow execution")

OPTS = [
    cfg.IntOpt(
        "max_workers",
        default=16,
        min=1,
        help="Threads running the tasks of one flow in parallel (TaskFlow parallel engine).",
    ),
    cfg.IntOpt(
        "stack_timeout_mins",
        default=60,
        min=1,
        help="Default time limit of a stack operation when the request gives none.",
    ),
    cfg.IntOpt(
        "max_template_size",
        default=524288,
        min=1024,
        help="Largest accepted template, in bytes.",
    ),
    cfg.IntOpt(
        "max_resources_per_stack",
        default=5000,
        min=1,
        help="Largest number of resources a single stack may define.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list:
    return [(GROUP, OPTS)]
