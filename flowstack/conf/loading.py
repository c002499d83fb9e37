"""Build the configuration every flowstack command runs with."""

from __future__ import annotations

import os

import sqlalchemy as sa
from oslo_config import cfg
from oslo_log import log as logging

from flowstack import conf as flowstack_conf
from flowstack.conf import database
from flowstack.exceptions import ConfigError

PROJECT = "flowstack"


def load(
    argv: list[str] | None = None,
    *,
    config_files: list[str] | None = None,
    state_path: str | None = None,
    conf: cfg.ConfigOpts | None = None,
    prog: str | None = None,
    version: str | None = None,
) -> cfg.ConfigOpts:
    """Parse ``argv`` and the config files; fill in the embedded default.

    With no config file at all (the default search finds none), flowstack
    runs embedded: a SQLite file in ``state_path``, flows in-process.
    Each call builds a fresh ``ConfigOpts`` unless one is given, so tests and
    long-running services never share hidden global state.

    :raises flowstack.exceptions.ConfigError: a config file is missing or
        unreadable, an option's value is invalid, or ``[database] connection``
        is not a database URL flowstack can use.
    """
    conf = conf if conf is not None else cfg.ConfigOpts()
    flowstack_conf.register_opts(conf)
    logging.register_options(conf)  # re-registering identical options is a no-op
    try:
        conf(
            argv or [],
            project=PROJECT,
            prog=prog,
            version=version,
            default_config_files=config_files,
            validate_default_values=True,
        )
    except cfg.ConfigFilesNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {', '.join(exc.config_files)}") from None
    except (
        cfg.ConfigFileParseError,
        cfg.ConfigFileValueError,
        cfg.ConfigFilesPermissionDeniedError,
    ) as exc:
        raise ConfigError(str(exc)) from None
    except cfg.Error as exc:
        raise ConfigError(str(exc)) from None
    if state_path:
        conf.set_override("state_path", os.path.abspath(state_path))
    if not conf.database.connection:
        conf.set_default("connection", embedded_connection(conf.state_path), group="database")
    _check_database_url(conf.database.connection)
    return conf


def _check_database_url(url: str) -> None:
    """A connection URL SQLAlchemy can use, or one line saying what is wrong with it."""
    try:
        parsed = sa.engine.make_url(url)
        parsed.get_dialect()
    except Exception as exc:  # ArgumentError, NoSuchModuleError, a missing driver
        shown = _without_password(url)
        raise ConfigError(
            f"[database] connection {shown!r} cannot be used: {_first_line(exc)} "
            "(expected e.g. postgresql+psycopg2://user:password@host/flowstack, "
            "mysql+pymysql://..., or sqlite:////path/file)"
        ) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def embedded_connection(state_path: str) -> str:
    """SQLite URL of the embedded default database inside ``state_path``."""
    return "sqlite:///" + os.path.join(os.path.abspath(state_path), database.SQLITE_FILE)


def _without_password(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<not a URL>"
