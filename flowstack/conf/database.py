"""The [database] group: oslo.db's own options, with the embedded SQLite default."""

from oslo_config import cfg
from oslo_db import options as db_options

SQLITE_FILE = "flowstack.sqlite"


def register_opts(conf: cfg.ConfigOpts) -> None:
    # The real default depends on state_path, which is only known once the
    # configuration is loaded: see flowstack.conf.loading.
    db_options.set_defaults(conf, connection=None)
    # oslo.db's defaults (10 tries, 10 s apart) leave a command silent for
    # 100 s when the database is down; a clear error within seconds is
    # better, and services that should wait longer can say so.
    conf.set_default("max_retries", 3, group="database")
    conf.set_default("retry_interval", 1, group="database")
    # oslo.db keeps 5 connections and opens up to 50 more for bursts, closing
    # each extra one after use: under a webhook storm the engine opened and
    # closed a PostgreSQL connection per request (a backend fork each).
    # Keep more, burst less: 16 + 16 per process.
    conf.set_default("max_pool_size", 16, group="database")
    conf.set_default("max_overflow", 16, group="database")


def list_opts() -> list:
    return [("database", db_options.database_opts)]
