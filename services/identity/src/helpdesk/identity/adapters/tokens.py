"""Opaque tokens (activation, reset, refresh): random, and stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets


class OpaqueTokens:
    def new(self) -> str:
        """256 random bits, URL-safe (they travel in links)."""
        return secrets.token_urlsafe(32)

    def hash(self, raw: str) -> str:
        """SHA-256 is enough for 256-bit random tokens (no guessing to slow down)."""
        return hashlib.sha256(raw.encode()).hexdigest()
