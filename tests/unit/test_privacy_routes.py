"""The erasure routes of the gateway in-process, without NATS (issue 30, erasure):
a caller is needed, bodies are bounded as the contract says (422 problems), a
valid request gets through to the (unreachable) identity service, and the
OpenAPI document declares each operation's answers. The portal's one macro for a
person's name shows an erased person (an empty name) as "Erased user"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from uuid import uuid4

import httpx
import pytest

from helpdesk.gateway.portal.i18n import t
from helpdesk.gateway.portal.rendering import _environment
from tests.unit.test_gateway_accounts import api, token
from tests.unit.test_portal import client_for, csrf_of
from tests.unit.test_portal_agents import sign_in

__all__ = ["api"]  # the fixture, shared with the account routes' tests

PROBLEM = "application/problem+json"
# A fixed id: parametrised test ids must be the same in every xdist worker.
ERASE = "/api/v1/users/6f1c0b2e-3d5a-4e8f-9a7b-1c2d3e4f5a6b/erase"


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
        ("/api/v1/me/erasure-request", {"note": "a\x00b"}, "note"),  # a NUL: never stored
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


# ------------------------------------------------------------------ the portal's pages


@pytest.fixture
async def portal() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as c:
        yield c


async def posted_as(
    portal: httpx.AsyncClient, role: str, path: str, fields: dict[str, str]
) -> httpx.Response:
    """`fields` posted to `path` by a signed-in `role`, with the form's CSRF token."""
    sign_in(portal, role)
    csrf = await csrf_of(portal, "/helpdesk/el/my-data")
    return await portal.post(path, data={"csrf_token": csrf, **fields})


async def test_my_data_offers_the_erasure_request_form_without_javascript(
    portal: httpx.AsyncClient,
) -> None:
    sign_in(portal, "customer")
    for lang, heading, button in (
        ("el", "Ζητώ τη διαγραφή των δεδομένων μου", "Αποστολή αιτήματος διαγραφής"),
        ("en", "Ask for my data to be erased", "Send the erasure request"),
    ):
        html = (await portal.get(f"/helpdesk/{lang}/my-data")).text
        assert heading in html
        assert f'action="/helpdesk/{lang}/my-data/erasure"' in html
        assert button in html
        assert 'name="note"' in html
        assert ("Διαγραμμένος χρήστης" if lang == "el" else "Erased user") in html


async def test_an_erasure_request_without_identity_keeps_the_note_and_says_so(
    portal: httpx.AsyncClient,
) -> None:
    response = await posted_as(
        portal, "customer", "/helpdesk/el/my-data/erasure", {"note": "<b>φεύγω</b>"}
    )
    assert response.status_code == 503
    assert "&lt;b&gt;φεύγω&lt;/b&gt;" in response.text
    assert 'id="form-error"' in response.text
    refused = await portal.post("/helpdesk/el/my-data/erasure", data={"note": "x"})
    assert refused.status_code == 403  # no CSRF token


async def test_the_page_after_sending_says_the_request_was_sent(
    portal: httpx.AsyncClient,
) -> None:
    sign_in(portal, "customer")
    html = (await portal.get("/helpdesk/en/my-data/erasure")).text
    assert "Your erasure request was sent." in html
    assert 'id="erasure-request-form"' not in html


@pytest.mark.parametrize(
    "path",
    [
        "/helpdesk/el/erasure-requests",
        "/helpdesk/el/users/6f1c0b2e-3d5a-4e8f-9a7b-1c2d3e4f5a6b/erase?username=m",
    ],
)
async def test_the_admins_erasure_pages_are_403_pages_for_others(
    portal: httpx.AsyncClient, path: str
) -> None:
    sign_in(portal, "agent")
    response = await portal.get(path)
    assert response.status_code == 403
    assert "Μόνο οι διαχειριστές έχουν πρόσβαση" in response.text


async def test_a_customer_posting_an_erasure_gets_the_403_page(
    portal: httpx.AsyncClient,
) -> None:
    path = f"/helpdesk/el/users/{uuid4()}/erase"
    response = await posted_as(portal, "customer", path, {"reason": "asked"})
    assert response.status_code == 403


async def test_the_erasure_pages_need_a_login(portal: httpx.AsyncClient) -> None:
    for path in ("/helpdesk/el/erasure-requests", "/helpdesk/el/my-data/erasure"):
        response = await portal.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/helpdesk/el/login")
