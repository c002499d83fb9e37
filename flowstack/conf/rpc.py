"""The [rpc] group: how flowstack-engine's RPC API is served and called.

The transport itself belongs to oslo.messaging (``transport_url`` in
[DEFAULT], [oslo_messaging_rabbit], ...; see its namespace in the sample
configuration).  Its [DEFAULT] options are registered here as well, so that
every flowstack command can tell whether a transport is configured: the CLI
then speaks RPC to a deployed engine instead of running one in-process.
"""

import importlib
import socket

from oslo_config import cfg
from oslo_messaging import opts as messaging_opts

GROUP_NAME = "rpc"
#: The RPC API's address, as ``flowstack.rpc`` names it (configuration sits below
#: the RPC package, so the values are repeated here; a unit test holds them equal).
EXCHANGE = "flowstack"
TOPIC = "flowstack-engine"
TRACING_GROUP = "oslo_messaging_tracing"
METRICS_GROUP = "oslo_messaging_metrics"


def _group() -> cfg.OptGroup:
    return cfg.OptGroup(GROUP_NAME, title="flowstack-engine RPC API")


OPTS = [
    cfg.StrOpt(
        "exchange",
        default=EXCHANGE,
        help="AMQP exchange of flowstack-engine's RPC API (named here, rather than "
        "left to control_exchange, so that a service calling flowstack from its own "
        "configuration reaches it).",
    ),
    cfg.StrOpt(
        "topic",
        default=TOPIC,
        help="Topic flowstack-engine listens on and its clients send to.",
    ),
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<hostname>",
        help="Name of this engine on the message bus (its own server queue). "
        "Each engine of a deployment needs a different one.",
    ),
    cfg.IntOpt(
        "call_timeout",
        default=60,
        min=1,
        help="Seconds a call waits for an engine's answer before failing with EngineUnavailable.",
    ),
    cfg.StrOpt(
        "version_cap",
        regex=r"^\d+\.\d+$",
        help="Highest RPC API version a client sends (e.g. 1.0). During a rolling "
        "upgrade, set it to the version of the oldest engine still running; unset, "
        "a client sends the newest version it knows.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP_NAME)
    # oslo.messaging's own [DEFAULT] options (transport_url, control_exchange,
    # rpc_response_timeout...); it registers them again, identically, when a
    # transport is built.
    for group, opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts(opts)
    for group, opts in _global_only_opts():
        conf.register_opts(opts, group=group)


def _global_only_opts() -> list:
    """Groups oslo.messaging reads from the transport's configuration but registers
    on the global ``cfg.CONF`` only (18.3: tracing and metrics), so that a call
    made with any other ConfigOpts would fail with NoSuchOptError."""
    found = []
    for module_name, attribute, group in (
        ("oslo_messaging._tracing.client", "oslo_messaging_tracing", TRACING_GROUP),
        ("oslo_messaging._metrics.client", "oslo_messaging_metrics", METRICS_GROUP),
    ):
        try:
            opts = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):  # a release that moved or fixed them
            continue
        found.append((group, opts))
    return found


def transport_configured(conf: cfg.ConfigOpts) -> bool:
    """Whether ``transport_url`` was set (oslo.messaging's own default is ``rabbit://``)."""
    where = conf.get_location("transport_url")
    return where is not None and where.location not in (
        cfg.Locations.opt_default,
        cfg.Locations.set_default,
    )


def list_opts() -> list:
    return [(_group(), OPTS)]
