"""Access tokens for tests that talk to a service over NATS as the gateway would:
the service checks each command's actor against the caller's token. And the
notifier's sealing keys (identity seals mail tokens to the public one)."""

from __future__ import annotations

import functools
import time

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.subjects import AUTHORIZATION_HEADER
from helpdesk.devstack.keys import generate_keypair
from helpdesk.servicekit import sealing


@functools.cache
def keypair() -> tuple[str, str]:
    """(private PEM, public PEM) shared by a test session's services and callers."""
    return generate_keypair()


def public_key() -> str:
    return keypair()[1]


@functools.cache
def seal_keys() -> tuple[str, str]:
    """(private, public) sealing keys of the notifier for a test session."""
    return sealing.generate()


def seal_private_key() -> str:
    return seal_keys()[0]


def seal_public_key() -> str:
    return seal_keys()[1]


def unseal(sealed: str | None) -> str:
    """What the notifier reads from a sealed token (for tests that follow the mail)."""
    assert sealed is not None, "no sealed token"
    return sealing.Opener([seal_private_key()]).open(sealed)


def access_token(actor: Actor, *, private_key: str | None = None, ttl: int = 600) -> str:
    """A token identity could have issued for `actor` (same user, roles and session)."""
    now = int(time.time())
    claims = {
        "sub": str(actor.user_id),
        "roles": [role.value for role in actor.roles],
        "sid": actor.session_id or "",
        "name": "Test",
        "locale": "el",
        "iat": now,
        "exp": now + ttl,
        "iss": "helpdesk-identity",
    }
    key = load_pem_private_key((private_key or keypair()[0]).encode(), password=None)
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]


def headers_for(actor: Actor | None, *, private_key: str | None = None) -> dict[str, str]:
    if actor is None:
        return {}
    return {AUTHORIZATION_HEADER: f"Bearer {access_token(actor, private_key=private_key)}"}
