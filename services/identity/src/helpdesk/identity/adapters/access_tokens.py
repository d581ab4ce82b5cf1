"""EdDSA (Ed25519) access tokens with the claims of `AccessTokenClaims`."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from helpdesk.contracts.actors import AccessTokenClaims, Role


def load_private_key(pem: str) -> Ed25519PrivateKey:
    """Accept the PEM with real newlines or with `\\n` escapes (one-line env values)."""
    key = load_pem_private_key(pem.replace("\\n", "\n").strip().encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("HELPDESK_JWT_PRIVATE_KEY must be an Ed25519 private key (PEM)")
    return key


class AccessTokenIssuer:
    def __init__(self, private_key_pem: str, ttl: timedelta) -> None:
        self._key = load_private_key(private_key_pem)
        self.ttl = ttl

    def issue(
        self,
        *,
        user_id: UUID,
        roles: list[Role],
        session_id: UUID,
        name: str,
        locale: str,
        now: datetime,
        credentials_version: int = 0,
    ) -> str:
        claims = AccessTokenClaims(
            sub=str(user_id),
            roles=roles,
            sid=str(session_id),
            name=name,
            locale=locale,
            iat=int(now.timestamp()),
            exp=int((now + self.ttl).timestamp()),
            cv=credentials_version,
        )
        return jwt.encode(claims.model_dump(mode="json"), self._key, algorithm="EdDSA")
