"""Verifying identity's EdDSA access tokens: the one place that does it.

The gateway verifies the token of every HTTP request; the services verify it
again on every command that names an actor, because whoever can publish on
the bus is not thereby a user (DESIGN.md §3a). Both use `verify`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Annotated

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
from pydantic import AfterValidator, Field

from helpdesk.contracts.actors import AccessTokenClaims
from helpdesk.contracts.replies import Refused

ISSUER = "helpdesk-identity"

# Clock skew between the gateway, identity and the service checking again.
LEEWAY_SECONDS = 30

# Verified tokens kept per process (a few hundred bytes each): the active users'.
VERIFIED_TOKENS_KEPT = 10_000


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


def _a_verifying_key(pem: str) -> str:
    verifying_key(pem)
    return pem


# The settings type of identity's public key (HELPDESK_JWT_PUBLIC_KEY): a malformed
# key stops the service at start with one line, not each request that needs it.
VerifyingKeyPem = Annotated[str, Field(min_length=1), AfterValidator(_a_verifying_key)]


def public_key_of(private_pem: str) -> str:
    """The public half of identity's signing key, as PEM."""
    key = load_pem_private_key(private_pem.replace("\\n", "\n").strip().encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def verify(token: str, public_key_pem: str, *, leeway: int = 0) -> AccessTokenClaims:
    """The token's claims, or `Refused` (`token_expired` / `unauthenticated`)."""
    claims = _verified(token, public_key_pem, leeway)
    if claims.exp <= time.time() - leeway:  # as PyJWT decides it
        raise Refused("The access token has expired.", code="token_expired")
    return claims


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified(token: str, public_key_pem: str, leeway: int) -> AccessTokenClaims:
    """Signature, issuer and claims, checked once per token: a client shows the
    same token with every request of its lifetime, and the Ed25519 check is the
    costliest step of a request's authentication. Expiry is checked on every
    use (`verify`); a refused token is not kept (exceptions are not cached)."""
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
