"""The erasure routes of the gateway in-process, without NATS (issue 30, erasure):
a caller is needed, bodies are bounded as the contract says (422 problems), a
valid request gets through to the (unreachable) identity service, and the
OpenAPI document declares each operation's answers. The portal's one macro for a
person's name shows an erased person (an empty name) as "Erased user"."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import uuid4

import httpx
import pytest

from helpdesk.gateway.portal.i18n import t
from helpdesk.gateway.portal.rendering import _environment
from tests.unit.test_gateway_accounts import api, token

__all__ = ["api"]  # the fixture, shared with the account routes' tests

PROBLEM = "application/problem+json"
ERASE = f"/api/v1/users/{uuid4()}/erase"


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/me/erasure-request", {}),
        ("GET", "/api/v1/erasure-requests", None),
        ("POST", ERASE, {"reason": "asked by e-mail"}),
    ],
)
async def test_each_route_needs_a_caller_then_reaches_identity(
    api: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    anonymous = await api.request(method, path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
    signed_in = await api.request(method, path, json=body, headers=bearer())
    assert signed_in.status_code == 503, signed_in.text  # identity decides; it is away here
    assert signed_in.json()["code"] == "unavailable"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/me/erasure-request", {"note": "x" * 501}, "note"),
        ("/api/v1/me/erasure-request", {"note": "ok", "user_id": str(uuid4())}, "user_id"),
        (ERASE, {}, "reason"),
        (ERASE, {"reason": "no"}, "reason"),
        (ERASE, {"reason": "x" * 501}, "reason"),
        (ERASE, {"reason": "two\nlines"}, "reason"),
    ],
)
async def test_bodies_beyond_the_contract_are_422_field_errors(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    response = await api.post(path, json=body, headers=bearer())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_a_user_id_that_is_not_a_uuid_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/users/maria/erase", json={"reason": "asked"}, headers=bearer()
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_openapi_declares_the_erasure_routes(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    asked = paths["/api/v1/me/erasure-request"]["post"]["responses"]
    assert {"202", "401", "404", "422", "503"} <= set(asked)
    listed = paths["/api/v1/erasure-requests"]["get"]["responses"]
    assert {"200", "401", "403", "503"} <= set(listed)
    erase = paths["/api/v1/users/{user_id}/erase"]["post"]["responses"]
    assert {"202", "401", "403", "404", "409", "422", "503"} <= set(erase)
    assert "200" not in erase


@pytest.mark.parametrize(
    ("lang", "name", "shown"),
    [
        ("el", "", '<span class="erased">Διαγραμμένος χρήστης</span>'),
        ("en", "", '<span class="erased">Erased user</span>'),
        ("el", "Μαρία <Π>", "Μαρία &lt;Π&gt;"),
    ],
)
def test_an_erased_persons_empty_name_reads_erased_user(lang: str, name: str, shown: str) -> None:
    page = _environment.from_string(
        '{% import "macros.html" as m with context %}{{ m.person(p) }}'
    ).render(t=partial(t, lang=lang), p={"name": name})
    assert page.strip() == shown
