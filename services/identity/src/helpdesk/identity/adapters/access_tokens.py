"""EdDSA (Ed25519) access tokens with the claims of `AccessTokenClaims`."""

from __future__ import annotations

from datetime import timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from helpdesk.contracts.actors import AccessTokenClaims
from helpdesk.identity.handlers.deps import AccessGrant


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

    def issue(self, grant: AccessGrant) -> str:
        claims = AccessTokenClaims(
            sub=str(grant.user_id),
            roles=grant.roles,
            sid=str(grant.session_id),
            name=grant.name,
            locale=grant.locale,
            iat=int(grant.now.timestamp()),
            exp=int((grant.now + self.ttl).timestamp()),
            cv=grant.credentials_version,
        )
        return jwt.encode(claims.model_dump(mode="json"), self._key, algorithm="EdDSA")
