"""Where the key that encrypts stored secrets comes from."""

from oslo_config import cfg

OPTS = [
    cfg.StrOpt(
        "encryption_key_file",
        help="File holding the key that encrypts secrets at rest (hidden parameters, "
        "generated passwords, webhook material). Every engine and worker of one "
        "deployment must share it. Default: secret.key in state_path, created with "
        "mode 0600 on first use.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> list:
    return [(None, OPTS)]
