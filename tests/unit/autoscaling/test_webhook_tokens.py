"""Webhook tokens: unguessable, stored as a hash, shown as a fingerprint."""

from __future__ import annotations

import hashlib

from flowstack.autoscaling import webhook_tokens as webhooks


def test_a_token_carries_256_random_bits_in_43_url_safe_characters() -> None:
    tokens = {webhooks.new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(webhooks.is_well_formed(t) for t in tokens)


def test_the_hash_is_the_hex_sha256_and_the_fingerprint_its_start() -> None:
    token = webhooks.new_token()
    digest = webhooks.token_hash(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert webhooks.fingerprint(digest) == digest[:8]


def test_the_url_is_under_the_public_base() -> None:
    token = webhooks.new_token()
    expected = f"https://scale.example/v1/webhooks/{token}"
    assert webhooks.webhook_url("https://scale.example/", token) == expected
    assert webhooks.webhook_url("https://scale.example", token) == expected


def test_malformed_tokens() -> None:
    token = webhooks.new_token()
    for bad in ("", token[:-1], token + "A", token[:-1] + "=", token[:-1] + "/", "é" * 43):
        assert not webhooks.is_well_formed(bad), bad
