"""flowstack's configuration: one module per option group, registered by function.

Nothing is registered at import time; :func:`register_opts` does it, and
:func:`flowstack.conf.loading.load` is how every command builds its
configuration (with no config file at all, the embedded default applies).
"""

from oslo_config import cfg

from flowstack.conf import (
    api,
    database,
    engine,
    jobboard,
    nova,
    octavia,
    paths,
    rpc,
    secrets,
    worker,
)

_MODULES = (paths, database, engine, secrets, nova, octavia, rpc, jobboard, worker, api)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every flowstack option group on ``conf`` (idempotent)."""
    for module in _MODULES:
        module.register_opts(conf)
