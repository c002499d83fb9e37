"""Entry point for oslo-config-generator (``tox -e genconfig``)."""

import itertools

from flowstack.conf import api, engine, jobboard, nova, octavia, paths, rpc, secrets, worker


def list_opts() -> list:
    """Every flowstack option, grouped, for the sample configuration file.

    The [database] options belong to oslo.db, and the transport's (transport_url,
    [oslo_messaging_rabbit]) to oslo.messaging: each comes from its own namespace.
    """
    grouped: dict = {}
    for group, opts in itertools.chain(
        paths.list_opts(),
        secrets.list_opts(),
        engine.list_opts(),
        nova.list_opts(),
        octavia.list_opts(),
        rpc.list_opts(),
        jobboard.list_opts(),
        worker.list_opts(),
        api.list_opts(),
    ):
        grouped.setdefault(group, []).extend(opts)
    return list(grouped.items())
