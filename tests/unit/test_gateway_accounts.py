"""The account routes of the gateway in-process, without NATS: body validation
as problem+json, 503 + Retry-After when identity cannot be reached, the
public key only for tokens, and the contract in the OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import jwt
import pytest
from starlette.requests import Request

from helpdesk.devstack.keys import generate_keypair
from helpdesk.gateway.auth import client_address
from helpdesk.gateway.bootstrap import create_app
from helpdesk.gateway.settings import Settings

PRIVATE_KEY, PUBLIC_KEY = generate_keypair()
OTHER_PRIVATE_KEY, _ = generate_keypair()


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    # No lifespan: NATS never connects, so every command meets "unavailable".
    app = create_app(Settings(jwt_public_key=PUBLIC_KEY))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test"
    ) as client:
        yield client


def token(key: str = PRIVATE_KEY, ttl: int = 600) -> str:
    now = int(time.time())
    claims = {
        "sub": str(uuid4()),
        "roles": ["customer"],
        "sid": str(uuid4()),
        "name": "M",
        "locale": "el",
        "iat": now,
        "exp": now + ttl,
        "iss": "helpdesk-identity",
    }
    return jwt.encode(claims, key, algorithm="EdDSA")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/api/v1/accounts",
            {
                "name": "M",
                "username": "maria",
                "email": "m@example.gr",
                "password": "correct horse battery",
            },
        ),
        ("POST", "/api/v1/accounts/activate", {"token": "t", "password": "x"}),
        ("POST", "/api/v1/accounts/activation/cancel", {"token": "t"}),
        ("POST", "/api/v1/accounts/activation/resend", {"email": "m@example.gr"}),
        ("POST", "/api/v1/sessions", {"username": "maria", "password": "x"}),
        ("POST", "/api/v1/sessions/refresh", {"refresh_token": "r"}),
        ("POST", "/api/v1/recovery/password", {"email": "m@example.gr"}),
        ("POST", "/api/v1/recovery/password/reset", {"token": "t", "new_password": "x"}),
        ("POST", "/api/v1/recovery/username", {"email": "m@example.gr"}),
    ],
)
async def test_identity_unreachable_is_503_with_retry_after(
    api: httpx.AsyncClient, method: str, path: str, body: dict[str, str]
) -> None:
    response = await api.request(method, path, json=body)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["code"] == "unavailable"


async def test_authenticated_routes_need_a_token_signed_by_identity(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.get("/api/v1/me")).status_code == 401
    forged_token = token(OTHER_PRIVATE_KEY)
    forged = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {forged_token}"})
    assert forged.status_code == 401
    expired = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token(ttl=-60)}"})
    assert expired.status_code == 401
    logout = await api.delete("/api/v1/sessions/current")
    assert logout.status_code == 401
    # A valid token gets through to the (unreachable) identity service.
    valid = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token()}"})
    assert valid.status_code == 503


async def test_bad_bodies_are_422_field_errors(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/accounts",
        json={
            "name": "M",
            "username": "maria",
            "email": "not-an-address",
            "password": "x",
            "locale": "fr",
            "admin": True,
        },
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"email", "locale", "admin"} <= fields


async def test_openapi_documents_the_account_routes(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/accounts",
        "/api/v1/accounts/activate",
        "/api/v1/accounts/activation/resend",
        "/api/v1/sessions",
        "/api/v1/sessions/refresh",
        "/api/v1/sessions/current",
        "/api/v1/recovery/password",
        "/api/v1/recovery/password/reset",
        "/api/v1/recovery/username",
        "/api/v1/me",
        # Second factors and the organisation's accounts (docs/sso.md).
        "/api/v1/sessions/mfa",
        "/api/v1/sessions/mfa/totp",
        "/api/v1/sessions/mfa/totp/confirm",
        "/api/v1/sessions/link",
        "/api/v1/sessions/passkey",
        "/api/v1/me/factors",
        "/api/v1/me/factors/totp",
    ):
        assert path in paths, path
    assert "202" in paths["/api/v1/accounts"]["post"]["responses"]
    # A code's answer: a wrong one, a stale challenge, too many tries.
    assert {"401", "429"} <= set(paths["/api/v1/sessions/mfa"]["post"]["responses"])
    assert "403" in paths["/api/v1/accounts"]["post"]["responses"]  # registration_closed
    assert (await api.get("/docs")).status_code == 200


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("x" * 4000, "unknown"),  # an oversized X-Forwarded-For from a proxy
        ("not an address", "unknown"),
    ],
)
def test_the_rate_limit_address_is_an_ip_or_one_shared_unknown(host: str, expected: str) -> None:
    request = Request({"type": "http", "client": (host, 1234), "headers": []})
    assert client_address(request) == expected


async def test_an_oversized_body_is_refused_413_before_it_is_parsed(
    api: httpx.AsyncClient,
) -> None:
    """An 8 MiB JSON body used to be read and parsed in full."""
    huge = b'{"username": "' + b"a" * (2 * 1024 * 1024) + b'", "password": "x"}'
    declared = await api.post(
        "/api/v1/sessions", content=huge, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(huge), 65536):
            yield huge[start : start + 65536]

    streamed = await api.post(
        "/api/v1/sessions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
