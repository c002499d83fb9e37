"""python-novaclient on a keystoneauth session, and the errors flowstack sees.

Whatever fails in a Nova call is translated into one small tree, so that
plugins decide on two questions only: may a retry succeed, and may Nova
have carried the request out::

    NovaError                  (a FlowstackError; ``status``, ``detail``, ``maybe_done``)
    ├── NovaTransientError     HTTP 5xx/429, a dropped connection, a timeout: retry
    │   └── NovaUnreachable    no connection could be opened: the request never left
    └── NovaRequestError       Nova refused (HTTP 4xx): nothing was done, do not retry
        └── NovaNotFound       HTTP 404, or a name several things share

``maybe_done`` is False only when Nova certainly did nothing (it refused, or
was never reached); a create that failed with ``maybe_done`` may have booted
a server, which the caller must look up before trying again.

Nothing here logs a token, a password or user data: keystoneauth already
hashes the token header, and its debug log of request and response bodies
goes through a logger that blanks ``adminPass``, ``user_data`` and the like.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc
from oslo_config import cfg
from oslo_utils import uuidutils
from urllib3 import exceptions as urllib3_exc

from flowstack.clients import common
from flowstack.conf.nova import GROUP_NAME as GROUP
from flowstack.exceptions import (  # errors of this client, defined with the others
    NovaError,
    NovaNotFound,
    NovaRequestError,
    NovaTransientError,
    NovaUnreachable,
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _never_sent(exc: BaseException) -> bool:
    """Whether a connection error happened before any byte of the request left."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, urllib3_exc.NewConnectionError | requests.exceptions.ConnectTimeout):
            return True
        if isinstance(item, urllib3_exc.MaxRetryError):
            pending.append(item.reason)
        if isinstance(item, BaseException):
            pending.extend([item.__cause__, item.__context__, *item.args])
    return False


def _connect_reason(message: str) -> str:
    match = re.search(r"\[Errno -?\d+\] ([^'\")]+)", message)
    if match:
        return match.group(1).strip().lower()
    if "timed out" in message:
        return "the request timed out"
    return "the connection failed"


def translate(exc: BaseException) -> NovaError | None:
    """The :class:`NovaError` for an exception of novaclient or keystoneauth, else None."""
    if isinstance(exc, NovaError):
        return exc
    if isinstance(exc, nova_exc.ClientException):
        status = exc.code if isinstance(exc.code, int) else None
        detail = common.clean(
            exc.message if exc.message not in (None, "n/a") else type(exc).__name__
        )
        if status == 404:
            return NovaNotFound(detail, status=status)
        if status is not None and (status >= 500 or status in (413, 429)):
            error = NovaTransientError(detail, status=status)
            error.maybe_done = status >= 500
            return error
        return NovaRequestError(detail, status=status)
    if isinstance(exc, nova_exc.NoUniqueMatch):
        return NovaRequestError(common.clean(exc))
    if isinstance(exc, ks_exc.HttpError):  # from the identity service, during auth
        detail = common.clean(f"authentication failed: {exc.message}")
        if exc.http_status and exc.http_status >= 500:
            return NovaTransientError(detail, status=exc.http_status)
        return NovaRequestError(detail, status=exc.http_status)
    if isinstance(exc, ks_exc.ConnectionError):
        message = str(exc)
        where = common.where(message)
        if _never_sent(exc):
            return NovaUnreachable(f"Nova is unreachable at {where}: {_connect_reason(message)}")
        if isinstance(exc, ks_exc.ConnectTimeout):
            return NovaTransientError(f"no answer from Nova at {where} in time (request timed out)")
        return NovaTransientError(
            f"the connection to Nova at {where} broke: {common.clean(message)}"
        )
    if isinstance(exc, ks_exc.ClientException):  # catalog, discovery, auth configuration
        broken = next((e for e in _chain(exc) if isinstance(e, ks_exc.ConnectionError)), None)
        if broken is not None:  # e.g. the identity service is down: Nova was never called
            return NovaUnreachable(
                f"cannot authenticate to call Nova: {common.where(str(broken))} is unreachable "
                f"({_connect_reason(str(broken))})"
            )
        return NovaRequestError(common.clean(f"cannot call Nova: {exc}"))
    return None


def translated() -> contextlib.AbstractContextManager[None]:
    """Raise the :class:`NovaError` for any novaclient/keystoneauth error in the block."""
    return common.translating(translate)


# -- session and client ------------------------------------------------------------------

HTTP_LOG = logging.getLogger("flowstack.clients.nova.http")
_SECRET_FIELDS = re.compile(
    r'("(?:adminPass|admin_pass|password|user_data|token|private_key|secret)"\s*:\s*)'
    r'"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)


class _RedactSecrets(logging.Filter):
    """Blank secret JSON fields in keystoneauth's debug log of bodies."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_FIELDS.sub(r'\1"***"', message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


HTTP_LOG.addFilter(_RedactSecrets())


def load_session(
    conf: cfg.ConfigOpts, *, endpoint_override: str | None, pool_size: int
) -> ks_session.Session:
    """A keystoneauth session from the [nova] options.

    Without ``auth_type`` (simulator, or a Nova behind ``noauth2``) no token
    is fetched.  The connection pool is sized to the engine's threads, so
    parallel builds reuse keep-alive connections instead of opening new ones.
    """
    auth = common.auth_plugin(conf, GROUP, endpoint_override)
    http = requests.Session()
    adapter = ks_session.TCPKeepAliveAdapter(pool_maxsize=max(10, pool_size))
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    # split_loggers would send bodies to keystoneauth's own loggers, which
    # bypass the redaction above.
    return ks_loading.load_session_from_conf_options(
        conf, GROUP, auth=auth, session=http, split_loggers=False
    )


def build_client(
    session: ks_session.Session, conf: cfg.ConfigOpts, *, endpoint_override: str | None
) -> Any:
    """A novaclient ``Client`` at the configured, explicit microversion.

    keystoneauth's connect/status-code retries stay off: flowstack retries
    itself, and never repeats a create blindly.
    """
    group = conf[GROUP]
    return nova_client.Client(
        group.api_microversion,
        session=session,
        endpoint_override=endpoint_override,
        endpoint_type=group.valid_interfaces,
        region_name=group.region_name,
        service_type=group.service_type,
        service_name=group.service_name,
        logger=HTTP_LOG,
        connect_retries=0,
        status_code_retries=0,
    )


# -- lookups -----------------------------------------------------------------------------


def find_flavor(nova: Any, ref: str) -> dict[str, str]:
    """``{"id", "name"}`` of the flavor whose id, else name, is ``ref``.

    :raises NovaNotFound: no such flavor, or several with that name.
    """
    with translated():
        try:
            flavor = nova.flavors.get(ref)
        except nova_exc.NotFound:
            matches = [f for f in nova.flavors.list(is_public=None) if f.name == ref]
            if not matches:
                raise NovaNotFound(f"flavor {ref!r} not found") from None
            if len(matches) > 1:
                raise NovaNotFound(
                    f"{len(matches)} flavors are named {ref!r}; use the flavor's id"
                ) from None
            flavor = matches[0]
    return {"id": str(flavor.id), "name": str(flavor.name)}


def find_image(lookup_client: Any, ref: str) -> dict[str, str]:
    """``{"id", "name"}`` of the image with id or name ``ref`` (Image API v2).

    ``lookup_client`` must not be shared with other threads while this runs:
    novaclient switches the client's service type to ``image`` for the call.

    :raises NovaNotFound: no such image, or several with that name.
    """
    with translated():
        try:
            image = lookup_client.glance.find_image(ref)
        except nova_exc.NotFound:
            raise NovaNotFound(f"image {ref!r} not found") from None
        except nova_exc.NoUniqueMatch:
            raise NovaNotFound(f"several images are named {ref!r}; use the image's id") from None
    return {"id": str(image.id), "name": str(getattr(image, "name", "") or "")}


def find_keypair(nova: Any, name: str) -> str:
    """The keypair's name, when the calling user has it.

    :raises NovaNotFound: no such keypair.
    """
    with translated():
        try:
            return str(nova.keypairs.get(name).name)
        except nova_exc.NotFound:
            raise NovaNotFound(f"keypair {name!r} not found") from None


def find_network(lookup_client: Any, ref: str) -> str:
    """The id of the network ``ref`` (an id is taken as it is; a name asks Neutron).

    Same threading caveat as :func:`find_image`.

    :raises NovaNotFound: no network, or several, with this name.
    """
    if uuidutils.is_uuid_like(ref):
        return ref
    with translated():
        try:
            return str(lookup_client.neutron.find_network(ref).id)
        except nova_exc.NotFound:
            raise NovaNotFound(
                f"network {ref!r} not found (names are looked up in Neutron; "
                "give the network's id to skip the lookup)"
            ) from None
        except nova_exc.NoUniqueMatch:
            raise NovaNotFound(
                f"several networks are named {ref!r}; use the network's id"
            ) from None
