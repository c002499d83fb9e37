"""The [database] group: oslo.db's own options, with the embedded SQLite default."""

from oslo_config import cfg
from oslo_db import options as db_options

SQLITE_FILE = "flowstack.sqlite"


def register_opts(conf: cfg.ConfigOpts) -> None:
    # The real default depends on state_path, which is only known once the
    # configuration is loaded: see flowstack.conf.loading.
    db_options.set_defaults(conf, connection=None)


def list_opts() -> list:
    return [("database", db_options.database_opts)]
