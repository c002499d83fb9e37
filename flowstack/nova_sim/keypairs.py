"""SSH key material for ``os-keypairs``: Nova's MD5 fingerprint and key generation."""

from __future__ import annotations

import base64
import hashlib

from flowstack.nova_sim.errors import BadRequest


def fingerprint(public_key: str, key_type: str = "ssh") -> str:
    """Nova's fingerprint: MD5 of the key blob for ssh, SHA-1 for x509 (colon-separated)."""
    if key_type != "ssh":
        digest = hashlib.sha1(public_key.encode(), usedforsecurity=False).hexdigest()
    else:
        parts = public_key.strip().split()
        if len(parts) < 2:
            raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
        try:
            blob = base64.b64decode(parts[1].encode(), validate=True)
        except ValueError as exc:
            raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from exc
        digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def generate_keypair() -> tuple[str, str]:
    """A fresh RSA key pair: (OpenSSH public key, PEM private key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode()} Generated-by-Nova\n", private
