"""Webhook tokens: how they are made, stored (hashed) and shown.

Pure functions with no I/O and no flowstack imports, so that the engine (which
creates tokens) and the API (which receives them) share one definition.
The token is the only secret: the database keeps its sha256, users see the
URL once (through the policy's ``alarm_url``) and everything else shows the
fingerprint, the first characters of the hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets

#: Random bytes in a token: 256 bits, as many as the hash that stores it.
TOKEN_BYTES = 32
#: What ``secrets.token_urlsafe(TOKEN_BYTES)`` produces: 43 base64url characters.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
FINGERPRINT_LENGTH = 8
WEBHOOK_PATH_PREFIX = "/v1/webhooks/"


def new_token() -> str:
    """A fresh unguessable token for a webhook URL."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed(token: str) -> bool:
    """Whether ``token`` could have come from :func:`new_token` (a cheap pre-check)."""
    return TOKEN_PATTERN.fullmatch(token) is not None


def token_hash(token: str) -> str:
    """The lowercase hex sha256 of ``token``: what the database stores and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def fingerprint(hash_hex: str) -> str:
    """The short public name of a webhook: the first hex characters of its token's hash."""
    return hash_hex[:FINGERPRINT_LENGTH]


def webhook_url(public_url: str, token: str) -> str:
    """The URL monitoring posts to, under the API's public base URL."""
    return f"{public_url.rstrip('/')}{WEBHOOK_PATH_PREFIX}{token}"
