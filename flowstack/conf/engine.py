"""The [engine] group: how flows run."""

from oslo_config import cfg

GROUP_NAME = "engine"


def _group() -> cfg.OptGroup:
    # A new group per ConfigOpts: oslo.config keeps a shallow copy of a
    # registered group, so a shared one would share overrides between them.
    return cfg.OptGroup(GROUP_NAME, title="Flow execution")


OPTS = [
    cfg.IntOpt(
        "max_workers",
        default=64,
        min=1,
        help="Threads running the tasks of one flow in parallel (TaskFlow parallel "
        "engine). Waiting resources hold a thread while they poll.",
    ),
    cfg.FloatOpt(
        "poll_interval",
        default=1.0,
        min=0.01,
        help="Seconds between two checks of a resource that is being built or deleted.",
    ),
    cfg.FloatOpt(
        "poll_checkpoint_secs",
        default=5.0,
        min=0.0,
        help="Longest a wait polls before checkpointing its progress in the flow's "
        "persistence (one retry attempt); a resumed flow continues from there.",
    ),
    cfg.FloatOpt(
        "rollback_timeout_secs",
        default=600.0,
        min=1.0,
        help="How long a rollback waits for one resource to be deleted before "
        "recording it as left behind (DELETE_FAILED) and moving on.",
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
        "max_template_nodes",
        default=100000,
        min=100,
        help="Most values (lists, maps, keys and scalars) a template may expand to, YAML "
        "aliases counted as what they repeat; checked before the template is built.",
    ),
    cfg.IntOpt(
        "max_files",
        default=100,
        min=0,
        help="Most files a request's files map (template files used as types, get_file "
        "contents) may hold.",
    ),
    cfg.IntOpt(
        "max_files_size",
        default=524288,
        min=1024,
        help="Largest total size of a request's files map, in bytes (each file is also "
        "bounded by max_template_size).",
    ),
    cfg.IntOpt(
        "max_parameters_size",
        default=524288,
        min=1024,
        help="Largest size of a request's parameter values, in bytes of JSON.",
    ),
    cfg.IntOpt(
        "max_resources_per_stack",
        default=5000,
        min=1,
        help="Largest number of resources a single stack may define.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP_NAME)


def list_opts() -> list:
    return [(_group(), OPTS)]
