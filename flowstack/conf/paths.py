"""Where flowstack keeps its state when nothing else is configured."""

import os
from pathlib import Path

from oslo_config import cfg


def default_state_path() -> str:
    """Per-user state directory, following the XDG base directory convention."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return os.path.join(base, "flowstack")


OPTS = [
    cfg.StrOpt(
        "state_path",
        default=default_state_path(),
        sample_default="$XDG_STATE_HOME/flowstack (~/.local/state/flowstack)",
        help="Directory for the embedded default's state: the SQLite database, "
        "the secret key file and the built-in Nova simulator's state.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS)


def list_opts() -> list:
    return [(None, OPTS)]
