"""Entry point for oslo-config-generator (``tox -e genconfig``)."""

import itertools

from flowstack.conf import engine, nova, paths, secrets


def list_opts() -> list:
    """Every flowstack option, grouped, for the sample configuration file.

    The [database] options belong to oslo.db and come from its own namespace.
    """
    grouped: dict = {}
    for group, opts in itertools.chain(
        paths.list_opts(), secrets.list_opts(), engine.list_opts(), nova.list_opts()
    ):
        grouped.setdefault(group, []).extend(opts)
    return list(grouped.items())
