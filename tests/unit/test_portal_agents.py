"""The agents' workflow pages in-process (no NATS: whatever reaches a service
answers 503): who sees which link, who gets the 403 page, CSRF, and the
header that still renders when the tickets service is away."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from helpdesk.gateway.portal.routes_agents import _usernames
from tests.unit.test_portal import access_token, client_for, csrf_of


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as c:
        yield c


def sign_in(client: httpx.AsyncClient, *roles: str) -> None:
    client.cookies.set("helpdesk_session", f"{access_token('Άννα', list(roles))} refresh")


def test_usernames_are_split_on_spaces_commas_and_lines_each_once() -> None:
    assert _usernames(" anna, Nikos;\nanna  NIKOS\tmaria ") == ["anna", "Nikos", "maria"]
    assert _usernames("   ") == []


@pytest.mark.parametrize(
    ("roles", "queues", "users"),
    [(["customer"], False, False), (["agent"], True, False), (["admin"], True, True)],
)
async def test_navigation_links_by_role(
    client: httpx.AsyncClient,
    roles: list[str],
    queues: bool,
    users: bool,
) -> None:
    sign_in(client, *roles)
    html = (await client.get("/helpdesk/el/")).text
    assert ('href="/helpdesk/el/queues"' in html) is queues
    assert ('href="/helpdesk/el/users"' in html) is users
    # No tickets service here: no availability toggle, but the page is whole.
    assert 'class="availability"' not in html
    assert "Αποσύνδεση" in html


@pytest.mark.parametrize(
    ("roles", "path", "text"),
    [
        (["agent"], "/helpdesk/el/users", "Μόνο οι διαχειριστές έχουν πρόσβαση"),
        (["agent"], "/helpdesk/en/users", "Only admins may use this page."),
        (["customer"], "/helpdesk/el/users", "Μόνο οι διαχειριστές έχουν πρόσβαση"),
        (["customer"], "/helpdesk/en/queues", "Not allowed"),
        (["customer"], "/helpdesk/el/availability", "Δεν επιτρέπεται"),
    ],
)
async def test_admin_and_agent_pages_are_403_pages_for_others(
    client: httpx.AsyncClient,
    roles: list[str],
    path: str,
    text: str,
) -> None:
    sign_in(client, *roles)
    response = await client.get(path)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert text in response.text


async def test_an_agent_posting_the_members_form_gets_the_403_page(
    client: httpx.AsyncClient,
) -> None:
    sign_in(client, "agent")
    token = await csrf_of(client, "/helpdesk/el/")
    response = await client.post(
        "/helpdesk/el/queues/service-desk/members",
        data={"csrf_token": token, "usernames": "anna"},
    )
    assert response.status_code == 403
    assert "Μόνο οι διαχειριστές" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/helpdesk/el/queues/service-desk/members",
        "/helpdesk/el/availability",
        "/helpdesk/en/users/00000000-0000-0000-0000-000000000001/deactivate",
    ],
)
async def test_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient,
    path: str,
) -> None:
    sign_in(client, "admin")
    response = await client.post(path, data={"usernames": "anna", "available": "0"})
    assert response.status_code == 403


async def test_pages_need_a_login(client: httpx.AsyncClient) -> None:
    for page in ("queues", "users", "availability"):
        response = await client.get(f"/helpdesk/en/{page}")
        assert response.status_code == 303
        assert response.headers["location"] == f"/helpdesk/en/login?next=/helpdesk/en/{page}"


async def test_an_admin_page_without_identity_is_the_503_page(
    client: httpx.AsyncClient,
) -> None:
    sign_in(client, "admin")
    response = await client.get("/helpdesk/en/users?q=anna")
    assert response.status_code == 503
    assert "Retry-After" in response.headers
