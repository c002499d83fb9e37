"""The [octavia] group: how flowstack reaches the Load-balancer API (Octavia).

As for [nova], authentication, the session and the endpoint are
keystoneauth's own options registered for this group, so an operator
configures it like any OpenStack service's [octavia] section.  With neither
``auth_type`` nor ``endpoint_override`` set, and Nova on the embedded
simulator, the simulator's load-balancer endpoint is used.

The numbers below are what pool members need: Octavia answers 409 while a
load balancer is busy, takes a while to provision, and a member removed
without draining cuts its open connections.
"""

from __future__ import annotations

from oslo_config import cfg

from flowstack.conf import keystoneauth

GROUP_NAME = "octavia"

#: As for [nova]: keystoneauth's ``timeout`` defaults to waiting forever.
DEFAULT_HTTP_TIMEOUT = 60


def _group() -> cfg.OptGroup:
    """A new group object per ConfigOpts (see flowstack.conf.nova._group for why)."""
    return cfg.OptGroup(
        GROUP_NAME,
        title="Octavia (Load-balancer API)",
        help="Where and how flowstack calls Octavia for OS::Octavia::PoolMember. "
        "Authentication, TLS, timeouts and the endpoint are keystoneauth options; with "
        "no auth_type and no endpoint_override, the embedded simulator's load-balancer "
        "endpoint is used when Nova runs on the embedded simulator.",
    )


OPTS = [
    cfg.IntOpt(
        "api_retries",
        default=3,
        min=0,
        help="How many times an Octavia call that failed transiently (HTTP 5xx, 429, "
        "connection error, timeout) is retried, with exponential backoff starting at "
        "[engine] poll_interval. A member create is retried only after looking the "
        "member up, so a lost answer never adds it twice.",
    ),
    cfg.FloatOpt(
        "provisioning_timeout",
        default=300.0,
        min=1.0,
        help="Seconds a member (or the load balancer it waits for) may stay in a "
        "PENDING_* provisioning status before its create or delete fails.",
    ),
    cfg.FloatOpt(
        "drain_timeout",
        default=30.0,
        min=0.0,
        help="Seconds between setting a member's weight to 0 and removing it, so that "
        "connections in flight can finish. Only members that were in service are "
        "drained (not the rollback of a create); 0 removes members at once.",
    ),
]

#: keystoneauth options whose default flowstack changes for this group.
_DEFAULTS = {
    "service_type": "load-balancer",
    "valid_interfaces": ["internal", "public"],
    "timeout": DEFAULT_HTTP_TIMEOUT,
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register flowstack's and keystoneauth's [octavia] options (idempotent)."""
    conf.register_group(_group())
    conf.register_opts(OPTS, group=GROUP_NAME)
    # A new group has no users of the deprecated ``interface`` option to keep.
    keystoneauth.register(conf, GROUP_NAME, _DEFAULTS, deprecated=False)


def list_opts() -> list:
    """The [octavia] options for the sample configuration file."""
    return [(_group(), [*OPTS, *keystoneauth.sample_opts(_DEFAULTS)])]
