"""Build the configuration every flowstack command runs with."""

from __future__ import annotations

import os

from oslo_config import cfg
from oslo_log import log as logging

from flowstack import conf as flowstack_conf
from flowstack.conf import database

PROJECT = "flowstack"


def load(
    argv: list[str] | None = None,
    *,
    config_files: list[str] | None = None,
    state_path: str | None = None,
    conf: cfg.ConfigOpts | None = None,
) -> cfg.ConfigOpts:
    """Parse ``argv`` and the config files; fill in the embedded default.

    With no config file at all (the default search finds none), flowstack
    runs embedded: a SQLite file in ``state_path``, flows in-process.
    Each call builds a fresh ``ConfigOpts`` unless one is given, so tests and
    long-running services never share hidden global state.
    """
    conf = conf if conf is not None else cfg.ConfigOpts()
    flowstack_conf.register_opts(conf)
    logging.register_options(conf)  # re-registering identical options is a no-op
    conf(
        argv or [],
        project=PROJECT,
        default_config_files=config_files,
        validate_default_values=True,
    )
    if state_path:
        conf.set_override("state_path", os.path.abspath(state_path))
    if not conf.database.connection:
        conf.set_default("connection", embedded_connection(conf.state_path), group="database")
    return conf


def embedded_connection(state_path: str) -> str:
    """SQLite URL of the embedded default database inside ``state_path``."""
    return "sqlite:///" + os.path.join(os.path.abspath(state_path), database.SQLITE_FILE)
