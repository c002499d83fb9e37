"""openstacksdk's load-balancer proxy on a keystoneauth session, and the errors flowstack sees.

Whatever fails in an Octavia call becomes one small tree, so that the pool
member plugin asks only: may a retry succeed, is the object gone, or is the
load balancer busy::

    OctaviaError                 (a FlowstackError; ``status``, ``detail``)
    ├── OctaviaTransientError    HTTP 5xx/429, connection error, timeout: retry
    └── OctaviaRequestError      Octavia refused (HTTP 4xx): do not repeat as is
        ├── OctaviaNotFound      HTTP 404
        └── OctaviaConflict      HTTP 409: the load balancer is busy (``immutable``),
                                 or the member exists already
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from openstack import connection
from openstack import exceptions as sdk_exc
from oslo_config import cfg

from flowstack.clients import common
from flowstack.conf.octavia import GROUP_NAME as GROUP
from flowstack.exceptions import (  # errors of this client, defined with the others
    OctaviaConflict,
    OctaviaError,
    OctaviaNotFound,
    OctaviaRequestError,
    OctaviaTransientError,
)


def _http(exc: sdk_exc.HttpException) -> OctaviaError:
    status = exc.status_code if isinstance(exc.status_code, int) else None
    detail = common.clean(exc.details or exc.message or type(exc).__name__)
    if isinstance(exc, sdk_exc.NotFoundException) or status == 404:
        return OctaviaNotFound(detail, status=status)
    if isinstance(exc, sdk_exc.ConflictException) or status == 409:
        return OctaviaConflict(detail, status=status)
    if status is None or status >= 500 or status == 429:
        return OctaviaTransientError(detail, status=status)
    return OctaviaRequestError(detail, status=status)


def translate(exc: BaseException) -> OctaviaError | None:
    """The :class:`OctaviaError` for an openstacksdk or keystoneauth exception, else None."""
    if isinstance(exc, OctaviaError):
        return exc
    if isinstance(exc, sdk_exc.HttpException):
        return _http(exc)
    if isinstance(exc, sdk_exc.DuplicateResource):
        return OctaviaRequestError(common.clean(exc))
    if isinstance(exc, ks_exc.ConnectionError | requests.exceptions.ConnectionError):
        return OctaviaTransientError(
            f"Octavia is unreachable at {common.where(str(exc))}: {common.clean(exc)}"
        )
    if isinstance(exc, ks_exc.DiscoveryFailure):  # the endpoint did not answer its root
        return OctaviaTransientError(common.clean(f"cannot reach Octavia: {exc}"))
    if isinstance(exc, ks_exc.HttpError):  # the identity service, during auth
        detail = common.clean(f"authentication failed: {exc.message}")
        if exc.http_status and exc.http_status >= 500:
            return OctaviaTransientError(detail, status=exc.http_status)
        return OctaviaRequestError(detail, status=exc.http_status)
    if isinstance(exc, ks_exc.ClientException | sdk_exc.SDKException):
        return OctaviaRequestError(common.clean(f"cannot call Octavia: {exc}"))
    return None


def translated() -> contextlib.AbstractContextManager[None]:
    """Raise the :class:`OctaviaError` for any openstacksdk/keystoneauth error in the block."""
    return common.translating(translate)


# -- settings, session and proxy ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OctaviaSettings:
    """The [octavia] numbers the pool member plugin needs, read once."""

    api_retries: int
    provisioning_timeout: float
    drain_timeout: float
    #: First wait before a retry; doubles on each retry.
    retry_delay: float

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        return common.backoff(self.retry_delay, attempt)


def load_session(conf: cfg.ConfigOpts, *, endpoint: str | None) -> ks_session.Session:
    """A keystoneauth session from the [octavia] options (no token without ``auth_type``)."""
    auth = common.auth_plugin(conf, GROUP, endpoint)
    return ks_loading.load_session_from_conf_options(conf, GROUP, auth=auth)


def build_connection(
    session: ks_session.Session, conf: cfg.ConfigOpts, *, endpoint: str | None
) -> connection.Connection:
    """An openstacksdk Connection for the load-balancer service only.

    Retries by keystoneauth stay off: flowstack retries itself, and looks a
    member up before it repeats a create.
    """
    group = conf[GROUP]
    options: dict[str, Any] = {
        "load_balancer_api_version": "2",
        "load_balancer_service_type": group.service_type,
        "load_balancer_interface": group.valid_interfaces,
        "load_balancer_connect_retries": 0,
        "load_balancer_status_code_retries": 0,
    }
    if endpoint:
        options["load_balancer_endpoint_override"] = endpoint
    if group.service_name:
        options["load_balancer_service_name"] = group.service_name
    return connection.Connection(session=session, region_name=group.region_name, **options)
