"""Encryption of secrets at rest (hidden parameters, generated passwords).

Secrets are stored as Fernet tokens (AES-CBC + HMAC) of their JSON form; the
key comes from ``encryption_key_file``, created with mode 0600 on first use
in the embedded default.  Nothing here ever logs a value.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from oslo_config import cfg

from flowstack import exceptions

KEY_FILE = "secret.key"


class SecretBox:
    """Encrypts and decrypts JSON-safe values with one key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise exceptions.ConfigError(
                f"encryption key is not a valid Fernet key: {exc}"
            ) from None

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> SecretBox:
        path = conf.encryption_key_file or os.path.join(conf.state_path, KEY_FILE)
        return cls(load_or_create_key(path, create=not conf.encryption_key_file))

    def encrypt(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode("ascii")

    def decrypt(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken:
            raise exceptions.ConfigError(
                "a stored secret cannot be decrypted: encryption_key_file is not the key "
                "it was encrypted with"
            ) from None


def load_or_create_key(path: str, *, create: bool) -> bytes:
    """Read the key at ``path``; create it (0600) when allowed and missing."""
    try:
        with open(path, "rb") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        if not create:
            raise exceptions.ConfigError(f"encryption_key_file {path} does not exist") from None
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    # Write a private temp file, then link it into place: the link is atomic
    # and fails if another process won the race, whose key we then use.
    temp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key())
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)
    with open(path, "rb") as handle:
        return handle.read().strip()
