"""The [nova] group: how flowstack reaches Nova.

Authentication, the session (TLS, ``timeout``) and the endpoint (service
type, interfaces, region, ``endpoint_override``) are keystoneauth's own
options, registered here for the group exactly as Nova registers its
[neutron] or [glance] groups, so an operator configures flowstack like any
OpenStack service.  With neither ``auth_type`` nor ``endpoint_override`` set,
flowstack starts the built-in Nova simulator (``embedded_simulator``).

How often a build or delete is checked is the engine's ``[engine]
poll_interval``; it is not repeated here.
"""

from __future__ import annotations

from oslo_config import cfg

from flowstack.conf import keystoneauth

GROUP_NAME = "nova"


def _group() -> cfg.OptGroup:
    """A new group object for each ConfigOpts.

    oslo.config keeps only a shallow copy of a registered OptGroup, so one
    module-level OptGroup would share its options' overrides between every
    ConfigOpts that registers it (one test's set_override leaking into the
    next).
    """
    return cfg.OptGroup(
        GROUP_NAME,
        title="Nova (Compute API)",
        help="Where and how flowstack calls Nova. Authentication, TLS, timeouts and the "
        "endpoint are keystoneauth options; with no auth_type and no endpoint_override "
        "the embedded Nova simulator is used (see embedded_simulator).",
    )


#: The microversion flowstack sends unless configured otherwise.
#:
#: Every call flowstack makes (servers create/show/list-by-name/delete with
#: metadata, flavors, keypairs, the server's fault and addresses) has kept
#: its request and response shape since 2.1, so 2.1 is both sufficient and
#: accepted by every Nova in service.  Later microversions change shapes
#: flowstack reads (2.47 embeds the flavor, 2.37 makes ``networks``
#: mandatory, 2.69 may return partial servers when a cell is down); flowstack
#: handles 2.37's ``networks`` rule, so an operator may raise the version,
#: but nothing in flowstack needs a higher one.
DEFAULT_MICROVERSION = "2.1"

#: keystoneauth's session option ``timeout`` defaults to none (wait forever);
#: a Nova call that never answers would hold a flow's thread for good.
DEFAULT_HTTP_TIMEOUT = 60

OPTS = [
    cfg.StrOpt(
        "api_microversion",
        default=DEFAULT_MICROVERSION,
        regex=r"^2\.(?:[1-9]\d*)$",
        help="Compute API microversion sent with every call, explicitly (never "
        "'latest'), so that behaviour does not change when Nova is upgraded. 2.1 "
        "covers everything flowstack uses.",
    ),
    cfg.FloatOpt(
        "build_timeout",
        default=1800.0,
        min=1.0,
        help="Seconds a server may stay in BUILD before its create fails "
        "(and the stack rolls back).",
    ),
    cfg.FloatOpt(
        "delete_timeout",
        default=600.0,
        min=1.0,
        help="Seconds a deleted server may take to disappear before the delete "
        "is reported as failed.",
    ),
    cfg.IntOpt(
        "api_retries",
        default=3,
        min=0,
        help="How many times a Nova call that failed transiently (HTTP 5xx, 429, "
        "connection error, timeout) is retried, with exponential backoff starting "
        "at [engine] poll_interval. flowstack retries itself, knowing which calls "
        "are safe to repeat: a server create is retried only after looking the "
        "server up, so keystoneauth's connect_retries and status_code_retries are "
        "not used (a blind retry of a create can boot a duplicate server).",
    ),
    cfg.BoolOpt(
        "embedded_simulator",
        default=True,
        help="When neither auth_type nor endpoint_override is set in this group, "
        "start the built-in Nova simulator in-process, keeping its state in "
        "$state_path/nova-sim.json so that servers outlive one command. Set to "
        "false to make a missing Nova configuration an error instead.",
    ),
]

#: keystoneauth options whose default flowstack changes for this group.
_DEFAULTS = {
    "service_type": "compute",
    "valid_interfaces": ["internal", "public"],
    "timeout": DEFAULT_HTTP_TIMEOUT,
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register flowstack's and keystoneauth's [nova] options (idempotent)."""
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP_NAME)
    keystoneauth.register(conf, GROUP_NAME, _DEFAULTS, deprecated=True)


def list_opts() -> list:
    """The [nova] options for the sample configuration file."""
    return [(_group(), [*OPTS, *keystoneauth.sample_opts(_DEFAULTS)])]
