"""Verifying identity's EdDSA access tokens: the one place that does it.

The gateway verifies the token of every HTTP request; the services verify it
again on every command that names an actor, because whoever can publish on
the bus is not thereby a user (DESIGN.md §3a). Both use `verify`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from helpdesk.contracts.actors import AccessTokenClaims
from helpdesk.contracts.replies import Refused

ISSUER = "helpdesk-identity"

# Clock skew between the gateway, identity and the service checking again.
LEEWAY_SECONDS = 30


@functools.cache
def verifying_key(pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key in `pem` (real newlines or `\\n` escapes), parsed once."""
    try:
        key = load_pem_public_key(pem.replace("\\n", "\n").strip().encode())
    except ValueError:
        raise ValueError("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key (EdDSA tokens need one)")
    return key


def public_key_of(private_pem: str) -> str:
    """The public half of identity's signing key, as PEM."""
    key = load_pem_private_key(private_pem.replace("\\n", "\n").strip().encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def verify(token: str, public_key_pem: str, *, leeway: int = 0) -> AccessTokenClaims:
    """The token's claims, or `Refused` (`token_expired` / `unauthenticated`)."""
    try:
        claims = jwt.decode(
            token,
            verifying_key(public_key_pem),
            algorithms=["EdDSA"],
            issuer=ISSUER,
            leeway=leeway,
            options={"require": ["exp", "iat", "sub", "sid"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refused("The access token has expired.", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise Refused("The access token is not valid.", code="unauthenticated") from None
    return AccessTokenClaims.model_validate(claims)


def verifier(public_key_pem: str) -> Callable[[str], AccessTokenClaims]:
    """What a service checks its callers' tokens with (the key is parsed now, once)."""
    verifying_key(public_key_pem)
    return functools.partial(verify, public_key_pem=public_key_pem, leeway=LEEWAY_SECONDS)
