"""Access tokens cut off before they expire: the gateway looks each one up in
identity's revocation list (a NATS KV bucket, docs/accounts.md) before it
accepts it. A logout voids the session's tokens, a password reset every token
minted for an older credentials version (`cv`); both take effect on the very
next request, on every replica, because each request reads the bucket (in one
round trip: `any_present`)."""

from __future__ import annotations

import json

import nats.errors
import nats.js.errors
from fastapi import Request
from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue

from helpdesk.contracts.actors import AccessTokenClaims
from helpdesk.contracts.identity import (
    REVOCATIONS_BUCKET,
    revoked_session_key,
    revoked_user_key,
)
from helpdesk.gateway.commands import RETRY_AFTER_SECONDS
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.problems import ProblemError


def _unavailable() -> ProblemError:
    return ProblemError(
        503,
        "unavailable",
        "The helpdesk is briefly unavailable. Please try again in a few seconds.",
        retry_after=RETRY_AFTER_SECONDS,
    ).with_log("revocation list unreachable")


async def _bucket(request: Request, nc: NatsClient) -> KeyValue | None:
    """The bound bucket, or None while identity has not declared it (nothing revoked yet)."""
    gateway = gateway_of(request)
    if gateway.revocations is not None:
        return gateway.revocations
    try:
        kv = await nc.jetstream().key_value(REVOCATIONS_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        return None
    gateway.revocations = kv
    return kv


async def _get(kv: KeyValue, key: str) -> bytes | None:
    try:
        entry = await kv.get(key)
    except nats.js.errors.KeyNotFoundError:
        return None
    return entry.value or b""


# One request for both keys: JetStream's batched direct get (`multi_last`, NATS
# 2.11+) answers "404 No Results" when neither holds a message, which is the
# answer for nearly every request: only a session ended, or a password changed,
# within an access token's lifetime leaves one (the bucket's TTL drops it after).
_READ_TIMEOUT = 5.0  # seconds, as a JetStream request


async def any_present(nc: NatsClient, bucket: str, keys: tuple[str, ...]) -> bool:
    """False only when the server says none of `keys` holds a message. Any other
    answer (a message, an older server's refusal) means: read them one by one."""
    request = json.dumps({"multi_last": [f"$KV.{bucket}.{key}" for key in keys]})
    answer = await nc.request(
        f"$JS.API.DIRECT.GET.KV_{bucket}", request.encode(), timeout=_READ_TIMEOUT
    )
    return not (answer.headers and answer.headers.get("Status") == "404")


async def ensure_not_revoked(request: Request, claims: AccessTokenClaims) -> None:
    """401 `token_revoked` for a token of an ended session or an older password;
    503 (fail closed) when the list cannot be read.

    Without a NATS connection there is nothing to check against, and nothing a
    token could reach either: every read and write of the helpdesk is a command
    over NATS, which then answers 503 itself. (A portal page may still render
    its frame around the 503 with the name from the token.)"""
    nc = gateway_of(request).nats
    if nc is None or not nc.is_connected:
        return
    try:
        kv = await _bucket(request, nc)
        if kv is None:
            return
        keys = (revoked_session_key(claims.sid), revoked_user_key(claims.sub))
        if not await any_present(nc, REVOCATIONS_BUCKET, keys):
            return
        session = await _get(kv, keys[0])
        version = await _get(kv, keys[1])
    except (nats.errors.Error, nats.js.errors.Error, TimeoutError):
        raise _unavailable() from None
    if session is not None or (version is not None and int(version or b"0") > claims.cv):
        raise ProblemError(
            401, "token_revoked", "This session has ended (logged out or password changed)."
        )
