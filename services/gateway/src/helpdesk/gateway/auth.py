"""The caller: verified from the Bearer access token with identity's public key."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from helpdesk.contracts.actors import AccessTokenClaims, Actor
from helpdesk.contracts.replies import Refused
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.problems import ProblemError
from helpdesk.gateway.revocations import ensure_not_revoked
from helpdesk.servicekit import access_tokens

_bearer = HTTPBearer(auto_error=False)


def claims_of(request: Request, token: str) -> AccessTokenClaims:
    """The token's verified claims; the token then travels with this request's commands."""
    try:
        claims = access_tokens.verify(token, gateway_of(request).settings.jwt_public_key)
    except Refused as refused:
        raise ProblemError.from_command_error(refused.error) from None
    request.state.access_token = token
    return claims


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The caller of a route, proved by a live access token. One dependency on the
    Bearer scheme (which documents the security scheme): FastAPI's resolution of
    each level of dependencies costs a request more than the check itself."""
    if credentials is None:
        raise ProblemError(
            401, "unauthenticated", "Log in first: send 'Authorization: Bearer <token>'."
        )
    claims = claims_of(request, credentials.credentials)
    await ensure_not_revoked(request, claims)
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
