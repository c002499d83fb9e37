"""What the Nova and Octavia clients share: error text, translation, auth, backoff."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from keystoneauth1 import loading as ks_loading
from keystoneauth1 import noauth
from keystoneauth1.plugin import BaseAuthPlugin
from oslo_config import cfg

MAX_DETAIL = 300


def clean(text: Any) -> str:
    """One line of at most a few hundred characters (a service's message in ours)."""
    words = " ".join(str(text or "").split())
    return words if len(words) <= MAX_DETAIL else words[: MAX_DETAIL - 3] + "..."


def where(message: str) -> str:
    """``scheme://host:port`` of the URL in a keystoneauth message (no path or query)."""
    match = re.search(r"\b(https?://[^\s:/]+(?::\d+)?)", message)
    return match.group(1) if match else "its endpoint"


@contextlib.contextmanager
def translating(translate: Callable[[BaseException], BaseException | None]) -> Iterator[None]:
    """Raise what ``translate`` makes of any error in the block (the error itself if None)."""
    try:
        yield
    except Exception as exc:
        error = translate(exc)
        if error is None or error is exc:
            raise
        raise error from exc


def auth_plugin(conf: cfg.ConfigOpts, group: str, endpoint: str | None) -> BaseAuthPlugin:
    """The group's keystoneauth plugin; without ``auth_type``, no token at ``endpoint``."""
    if conf[group].auth_type:
        return ks_loading.load_auth_from_conf_options(conf, group)
    return noauth.NoAuth(endpoint=endpoint)


def backoff(first_delay: float, attempt: int) -> float:
    """Seconds before retry number ``attempt`` (0-based): doubling, at most 30."""
    return min(first_delay * (2**attempt), 30.0)
