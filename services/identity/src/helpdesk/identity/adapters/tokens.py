"""Opaque tokens (activation, reset, refresh): random, and stored only as a hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


class OpaqueTokens:
    def __init__(self, successor_key: bytes) -> None:
        self._successor_key = successor_key

    @classmethod
    def keyed_by(cls, secret: str) -> OpaqueTokens:
        """The successor key derived from a secret only identity holds (the JWT signing key)."""
        return cls(hashlib.sha256(b"helpdesk refresh-token successor\0" + secret.encode()).digest())

    def new(self) -> str:
        """256 random bits, URL-safe (they travel in links)."""
        return secrets.token_urlsafe(32)

    def hash(self, raw: str) -> str:
        """SHA-256 is enough for 256-bit random tokens (no guessing to slow down)."""
        return hashlib.sha256(raw.encode()).hexdigest()

    def successor(self, raw: str) -> str:
        """HMAC-SHA-256 of the presented token: as unguessable as `new()`, and the
        same for two refreshes that present the same token (docs/accounts.md)."""
        digest = hmac.new(self._successor_key, raw.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
