"""The caller: verified from the Bearer access token with identity's public key."""

from __future__ import annotations

import functools
import ipaddress
from typing import Annotated
from uuid import UUID

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from helpdesk.contracts.actors import AccessTokenClaims, Actor
from helpdesk.gateway.problems import ProblemError
from helpdesk.gateway.revocations import ensure_not_revoked
from helpdesk.gateway.settings import verifying_key

_bearer = HTTPBearer(auto_error=False)


@functools.cache
def _verifying_key(pem: str) -> Ed25519PublicKey:
    return verifying_key(pem)  # parsed once, not at every request


def verify_access_token(token: str, public_key: str) -> AccessTokenClaims:
    try:
        claims = jwt.decode(
            token,
            _verifying_key(public_key),
            algorithms=["EdDSA"],
            issuer="helpdesk-identity",
            options={"require": ["exp", "iat", "sub", "sid"]},
        )
    except jwt.ExpiredSignatureError:
        raise ProblemError(401, "token_expired", "The access token has expired.") from None
    except jwt.InvalidTokenError:
        raise ProblemError(401, "unauthenticated", "The access token is not valid.") from None
    return AccessTokenClaims.model_validate(claims)


def claims_of(request: Request, token: str) -> AccessTokenClaims:
    return verify_access_token(token, request.app.state.settings.jwt_public_key)


async def current_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessTokenClaims:
    if credentials is None:
        raise ProblemError(
            401, "unauthenticated", "Log in first: send 'Authorization: Bearer <token>'."
        )
    claims = claims_of(request, credentials.credentials)
    await ensure_not_revoked(request, claims)
    return claims


async def current_actor(
    claims: Annotated[AccessTokenClaims, Depends(current_claims)],
) -> Actor:
    return Actor(user_id=UUID(claims.sub), roles=claims.roles, session_id=claims.sid)


def client_address(request: Request) -> str:
    """The client's address for per-address rate limits.

    uvicorn's proxy-headers middleware has already replaced the peer address
    with the `X-Forwarded-For` client, but only when the peer is a trusted
    proxy (`FORWARDED_ALLOW_IPS`, default 127.0.0.1): a client cannot dodge
    its limits by sending the header itself. Anything that is not an IP
    address (a malformed or oversized header from a proxy) counts as one
    shared "unknown" client rather than a key of its own.
    """
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host[:64]))
    except ValueError:
        return "unknown"


CurrentActor = Annotated[Actor, Depends(current_actor)]
CurrentClaims = Annotated[AccessTokenClaims, Depends(current_claims)]
