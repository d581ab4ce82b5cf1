"""The portal's pages in-process (no NATS: anything that would reach a service
answers 503): words, escaping, CSRF, cookies, language switch, error pages."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from uuid import uuid4

import httpx
import jwt
import pytest

from helpdesk.devstack.keys import generate_keypair
from helpdesk.gateway.bootstrap import create_app
from helpdesk.gateway.portal import i18n
from helpdesk.gateway.portal.rendering import safe_next
from helpdesk.gateway.settings import Settings

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "helpdesk-faq.el.txt"
PRIVATE_KEY, PUBLIC_KEY = generate_keypair()

PUBLIC_PAGES = [
    "",
    "register",
    "login",
    "forgot-password",
    "forgot-username",
    "reset-password?token=abc",
    "activation/resend",
]


def client_for(public_url: str = "http://127.0.0.1:8080") -> httpx.AsyncClient:
    app = create_app(Settings(jwt_public_key=PUBLIC_KEY, public_url=public_url))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for() as c:
        yield c


def access_token(name: str = "Μαρία", roles: list[str] | None = None, ttl: int = 600) -> str:
    now = int(time.time())
    claims = {
        "sub": str(uuid4()),
        "roles": roles or ["customer"],
        "sid": "s1",
        "name": name,
        "locale": "el",
        "iat": now,
        "exp": now + ttl,
        "iss": "helpdesk-identity",
    }
    return jwt.encode(claims, PRIVATE_KEY, algorithm="EdDSA")


async def csrf_of(client: httpx.AsyncClient, page: str = "/helpdesk/el/register") -> str:
    response = await client.get(page)
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert found
    return found.group(1)


async def post_form(
    client: httpx.AsyncClient, page: str, fields: dict[str, str], action: str | None = None
) -> httpx.Response:
    """Post `fields` with the CSRF token of `page`'s form, to `action` (else the page)."""
    token = await csrf_of(client, page)
    return await client.post(action or page, data={"csrf_token": token, **fields})


# ------------------------------------------------------------------ words


@pytest.mark.skipif(not SEED.exists(), reason="shared/seed is not beside the repository")
def test_greek_faq_labels_are_copied_verbatim_from_the_faq() -> None:
    faq = SEED.read_text(encoding="utf-8")
    for key, label in i18n.FAQ_LABELS.items():
        assert label in faq, key
        assert i18n.t(key, "el") == label


def test_every_string_has_greek_and_english() -> None:
    for key, entry in i18n.entries().items():
        assert set(entry) == {"el", "en"}, key
        assert entry["el"].strip(), key
        assert entry["en"].strip(), key


def test_every_key_a_template_uses_exists() -> None:
    templates = files("helpdesk.gateway.portal").joinpath("templates")
    used: set[str] = set()
    for template in templates.iterdir():
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", template.read_text("utf-8")))
    missing = used - set(i18n.keys())
    assert not missing


def test_field_errors_from_identity_are_shown_in_greek() -> None:
    assert (
        i18n.field_message("must be at least 10 characters long", "el")
        == "Πρέπει να έχει τουλάχιστον 10 χαρακτήρες."
    )
    assert i18n.field_message("is too common; choose another", "en").startswith("Is too")


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, "el"), ("en-GB,en;q=0.9", "en"), ("fr-FR,el;q=0.5", "el"), ("de", "el")],
)
def test_greek_first_unless_the_browser_prefers_english(header: str | None, expected: str) -> None:
    assert i18n.preferred_lang(header) == expected


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/api/v1/me", "/helpdesk//evil", ""]
)
def test_only_portal_paths_may_follow_a_login(target: str) -> None:
    assert safe_next(target, "el") == "/helpdesk/el/tickets"


def test_a_portal_path_follows_a_login() -> None:
    assert safe_next("/helpdesk/en/tickets/new", "en") == "/helpdesk/en/tickets/new"


# ------------------------------------------------------------------ pages


@pytest.mark.parametrize("lang", ["el", "en"])
@pytest.mark.parametrize("page", PUBLIC_PAGES)
async def test_public_pages_render_in_both_languages(
    client: httpx.AsyncClient, lang: str, page: str
) -> None:
    response = await client.get(f"/helpdesk/{lang}/{page}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<meta charset="utf-8">' in html
    assert f'<html lang="{lang}">' in html
    assert 'name="viewport"' in html
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # Every input has a label pointing at it.
    for input_id in re.findall(r'<(?:input|select|textarea) id="([^"]+)"', html):
        assert f'for="{input_id}"' in html, input_id


async def test_login_page_has_the_faq_links_under_the_heading(client: httpx.AsyncClient) -> None:
    html = (await client.get("/helpdesk/el/login")).text
    heading = html.index("<h1>Σύνδεση</h1>")
    assert html.index("Ξεχάσατε τον κωδικό σας;") > heading
    assert html.index("Ξεχάσατε το όνομα χρήστη;") > heading
    assert 'href="/helpdesk/el/forgot-password"' in html
    assert 'href="/helpdesk/el/forgot-username"' in html


async def test_language_switch_keeps_the_page_and_its_query(client: httpx.AsyncClient) -> None:
    html = (await client.get("/helpdesk/el/reset-password?token=abc")).text
    assert 'href="/helpdesk/en/reset-password?token=abc"' in html


async def test_the_last_language_seen_is_remembered(client: httpx.AsyncClient) -> None:
    first = await client.get("/helpdesk/", headers={"accept-language": "en"})
    assert first.headers["location"] == "/helpdesk/en/"
    await client.get("/helpdesk/el/login")
    again = await client.get("/helpdesk/", headers={"accept-language": "en"})
    assert again.headers["location"] == "/helpdesk/el/"


async def test_pages_that_need_a_login_send_the_browser_there_and_back(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/helpdesk/en/tickets/new")
    assert response.status_code == 303
    assert response.headers["location"] == "/helpdesk/en/login?next=/helpdesk/en/tickets/new"


# ------------------------------------------------------------------ forms


async def test_a_post_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    await client.get("/helpdesk/el/login")
    response = await client.post("/helpdesk/el/login", data={"username": "a", "password": "b"})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "Η φόρμα έληξε" in response.text
    wrong = await client.post(
        "/helpdesk/el/login", data={"username": "a", "password": "b", "csrf_token": "forged"}
    )
    assert wrong.status_code == 403


async def test_bad_input_comes_back_escaped_with_field_errors(client: httpx.AsyncClient) -> None:
    response = await post_form(
        client,
        "/helpdesk/el/register",
        {
            "name": '<script>alert("x")</script>',
            "username": "maria",
            "email": "not-an-address",
            "password": "a-long-password-1",
            "password_confirm": "another-password",
        },
    )
    assert response.status_code == 422
    html = response.text
    assert "<script>alert" not in html
    assert 'value="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"' in html
    assert 'value="maria"' in html
    assert "a-long-password-1" not in html  # passwords are never sent back
    assert "Δεν είναι έγκυρη διεύθυνση email." in html
    assert "Οι δύο κωδικοί δεν ταιριάζουν." in html
    assert 'aria-invalid="true"' in html


async def test_input_beyond_the_contracts_bounds_is_a_422_page_not_a_crash(
    client: httpx.AsyncClient,
) -> None:
    fields = {"username": "u" * 300, "password": "whatever"}
    response = await post_form(client, "/helpdesk/en/login", fields)
    assert response.status_code == 422
    assert "Invalid input" in response.text
    activation = await client.get("/helpdesk/el/activate", params={"token": "t" * 500})
    assert activation.status_code == 400
    assert "Ο σύνδεσμος δεν είναι έγκυρος" in activation.text


async def test_a_service_outage_keeps_the_form_and_says_so(client: httpx.AsyncClient) -> None:
    fields = {"email": "ann@example.com"}
    response = await post_form(client, "/helpdesk/en/forgot-password", fields)
    assert response.status_code == 503
    assert 'value="ann@example.com"' in response.text
    assert "briefly unavailable" in response.text


# ------------------------------------------------------------------ errors


async def test_portal_errors_are_pages_and_api_errors_stay_problems(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/helpdesk/el/no-such-page")
    assert page.status_code == 404
    assert "Η σελίδα δεν βρέθηκε" in page.text
    unknown_lang = await client.get("/helpdesk/fr/")
    assert unknown_lang.status_code == 404
    assert "text/html" in unknown_lang.headers["content-type"]
    client.cookies.set("helpdesk_session", f"{access_token()} r")
    not_a_ticket = await client.get("/helpdesk/en/tickets/not-a-uuid")
    assert not_a_ticket.status_code == 404
    assert "Page not found" in not_a_ticket.text
    api = await client.get("/api/v1/nope")
    assert api.headers["content-type"] == "application/problem+json"


async def test_unavailable_services_give_a_friendly_503_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    fields = {"token": "abc", "password": "whatever it was"}
    page = "/helpdesk/el/activate?token=abc"
    response = await post_form(client, page, fields, action="/helpdesk/el/activate")
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert "Προσωρινά μη διαθέσιμο" in response.text


# ------------------------------------------------------------------ session cookie


async def test_the_session_cookie_shows_who_is_logged_in(client: httpx.AsyncClient) -> None:
    client.cookies.set("helpdesk_session", f"{access_token('Μαρία <b>')} refresh")
    html = (await client.get("/helpdesk/el/")).text
    assert "Μαρία &lt;b&gt;" in html
    assert "Αποσύνδεση" in html


async def test_a_forged_session_cookie_is_cleared(client: httpx.AsyncClient) -> None:
    other_private, _ = generate_keypair()
    now = int(time.time())
    forged = jwt.encode(
        {
            "sub": str(uuid4()),
            "roles": ["admin"],
            "sid": "x",
            "name": "Eve",
            "locale": "el",
            "iat": now,
            "exp": now + 600,
            "iss": "helpdesk-identity",
        },
        other_private,
        algorithm="EdDSA",
    )
    client.cookies.set("helpdesk_session", f"{forged} r")
    response = await client.get("/helpdesk/el/")
    assert "Eve" not in response.text
    assert 'helpdesk_session=""' in response.headers["set-cookie"]


async def test_cookies_are_httponly_lax_and_secure_over_https() -> None:
    async with client_for("https://helpdesk.example") as c:
        response = await c.get("/helpdesk/el/login")
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-helpdesk_csrf=")
    )
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie


def test_the_api_is_routed_before_the_portal() -> None:
    """Starlette tries every route of every included router in order; a submit
    matched after all the portal's routes cost ~100 µs of the gateway's CPU."""
    from starlette.routing import Match

    app = create_app(Settings(jwt_public_key=PUBLIC_KEY))

    def first_match(method: str, path: str) -> int:
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        return next(i for i, r in enumerate(app.router.routes) if r.matches(scope)[0] is Match.FULL)

    submit = first_match("POST", "/api/v1/tickets")
    assert submit < first_match("GET", "/helpdesk/el/login")
    assert submit < first_match("GET", "/helpdesk/el/tickets")
