"""keystoneauth's options for a group that names a remote service ([nova], [octavia]).

Authentication, the session (TLS, ``timeout``) and the endpoint (service
type, interfaces, region, ``endpoint_override``) are keystoneauth's own
options, registered per group exactly as OpenStack services register their
[neutron] or [glance] groups, so an operator configures flowstack like any
of them.  Each group changes a few defaults (its service type, a finite
timeout).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg


def register(
    conf: cfg.ConfigOpts, group: str, defaults: Mapping[str, Any], *, deprecated: bool
) -> None:
    """Register the session, auth and adapter options of ``group`` with ``defaults``.

    ``deprecated`` keeps keystoneauth's deprecated adapter option
    (``interface``), which only a group that always had it needs.
    """
    ks_loading.register_session_conf_options(conf, group)
    ks_loading.register_auth_conf_options(conf, group)
    ks_loading.register_adapter_conf_options(conf, group, include_deprecated=deprecated)
    for name, value in defaults.items():
        conf.set_default(name, value, group=group)


def sample_opts(defaults: Mapping[str, Any]) -> list[cfg.Opt]:
    """The options the sample configuration lists, with the group's defaults.

    The password plugin's options are listed because that is what most
    deployments use; any keystoneauth plugin works through ``auth_type``.
    """
    options = (
        ks_loading.get_session_conf_options()
        + ks_loading.get_auth_common_conf_options()
        + ks_loading.get_auth_plugin_conf_options("password")
        + ks_loading.get_adapter_conf_options(include_deprecated=False)
    )
    unique: dict[str, cfg.Opt] = {}
    for opt in options:
        if opt.dest in defaults:
            opt = copy.deepcopy(opt)
            opt.default = defaults[opt.dest]
        unique.setdefault(opt.dest, opt)
    return list(unique.values())
