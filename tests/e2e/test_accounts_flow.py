"""The FAQ's account sections end to end, over HTTP, against every service as a
process with real NATS, PostgreSQL and an SMTP sink: register, activation
mail, activate, login, forgot username, forgot password, reset; in Greek and
in English. Plus the error table of DESIGN.md §4 and once-only mails across a
notifier restart."""

from __future__ import annotations

import asyncio
import re
import uuid
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from helpdesk.contracts.identity import RECOVERY_ACCEPTED_MESSAGE, REGISTERED_MESSAGE
from tests.e2e.harness import System, mail_text

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another horse, another battery"


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def client(system: System, address: str | None = None) -> httpx.AsyncClient:
    # Each test speaks from an address of its own, so per-address limits stay per test.
    address = address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"
    return httpx.AsyncClient(base_url=system.url, timeout=20, headers={"X-Forwarded-For": address})


def token_in(message: EmailMessage, page: str) -> str:
    found = re.search(rf"/{page}\?token=([^\s\"<]+)", mail_text(message))
    assert found, mail_text(message)
    return unquote(found.group(1))


async def wait_for_mail(
    system: System, to: str, subject_part: str, timeout: float = 30.0
) -> EmailMessage:
    return await asyncio.to_thread(
        system.wait_for_mail, to, lambda m: subject_part in str(m["Subject"]), timeout
    )


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


async def register(
    http: httpx.AsyncClient, username: str, email: str, locale: str = "el"
) -> httpx.Response:
    return await http.post(
        "/api/v1/accounts",
        json={
            "name": "Ελένη Δημητρίου" if locale == "el" else "Helen Smith",
            "username": username,
            "email": email,
            "password": PASSWORD,
            "locale": locale,
        },
    )


async def active_user(system: System, http: httpx.AsyncClient) -> tuple[str, str]:
    username, email = unique("user"), f"{unique('u')}@example.org"
    assert (await register(http, username, email, "en")).status_code == 202
    token = token_in(await wait_for_mail(system, email, "Activate"), "activate")
    assert (
        await http.post("/api/v1/accounts/activate", json={"token": token, "password": PASSWORD})
    ).status_code == 200
    return username, email


async def login(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/api/v1/sessions", json={"username": username, "password": password})


# ---------------------------------------------------------------- the FAQ flow


@pytest.mark.parametrize(
    ("locale", "subjects"),
    [
        (
            "el",
            {
                "activation": "Ενεργοποίηση λογαριασμού",
                "username": "Το όνομα σύνδεσής σας",
                "reset": "Επαναφορά κωδικού",
                "changed": "Ο κωδικός σύνδεσής σας άλλαξε",
            },
        ),
        (
            "en",
            {
                "activation": "Activate your",
                "username": "Your IPtech Helpdesk username",
                "reset": "Reset your",
                "changed": "password was changed",
            },
        ),
    ],
)
async def test_register_activate_login_and_recover(
    system: System, locale: str, subjects: dict[str, str]
) -> None:
    username, email = unique(f"{locale}_"), f"{unique(locale)}@example.gr"
    async with client(system) as http:
        registered = await register(http, username, email, locale)
        assert registered.status_code == 202
        assert registered.json() == {
            "status": "pending_activation",
            "message": REGISTERED_MESSAGE[locale],
        }

        activation = await wait_for_mail(system, email, subjects["activation"])
        if locale == "el":
            assert "πρέπει να ενεργοποιήσετε το λογαριασμό ακολουθώντας το σύνδεσμο" in (
                mail_text(activation)
            )
        assert f"{system.url}/helpdesk/{locale}/activate?token=" in mail_text(activation)
        assert activation.get_body(("html",)) is not None
        token = token_in(activation, "activate")

        assert_problem(await login(http, username, "not the password"), 401, "invalid_credentials")
        assert_problem(await login(http, username), 403, "account_not_activated")

        activated = await http.post(
            "/api/v1/accounts/activate", json={"token": token, "password": PASSWORD}
        )
        assert activated.json() == {"status": "active", "already_active": False}
        again = await http.post(
            "/api/v1/accounts/activate", json={"token": token, "password": PASSWORD}
        )
        assert (again.status_code, again.json()["already_active"]) == (200, True)

        session = await login(http, username)
        assert session.status_code == 200
        assert session.headers["cache-control"] == "no-store"  # tokens are never cached
        tokens = session.json()
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 900
        me = await http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status_code == 200
        assert (me.json()["username"], me.json()["roles"], me.json()["locale"]) == (
            username,
            ["customer"],
            locale,
        )

        reminder = await http.post("/api/v1/recovery/username", json={"email": email})
        assert reminder.status_code == 202
        assert username in mail_text(await wait_for_mail(system, email, subjects["username"]))

        forgot = await http.post("/api/v1/recovery/password", json={"email": email.upper()})
        assert forgot.status_code == 202
        reset_mail = await wait_for_mail(system, email, subjects["reset"])
        reset_token = token_in(reset_mail, "reset-password")
        reset = await http.post(
            "/api/v1/recovery/password/reset",
            json={"token": reset_token, "new_password": NEW_PASSWORD},
        )
        assert reset.status_code == 200
        await wait_for_mail(system, email, subjects["changed"])

        assert_problem(await login(http, username), 401, "invalid_credentials")
        assert (await login(http, username, NEW_PASSWORD)).status_code == 200
        # Every session from before the reset is gone.
        old = await http.post(
            "/api/v1/sessions/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert_problem(old, 401, "unauthenticated")
        used = await http.post(
            "/api/v1/recovery/password/reset",
            json={"token": reset_token, "new_password": NEW_PASSWORD + "!"},
        )
        assert_problem(used, 400, "invalid_token")


# ---------------------------------------------------------------- the error table


async def test_registration_errors(system: System) -> None:
    async with client(system) as http:
        username = unique("dup")
        assert (await register(http, username, f"{username}@example.org")).status_code == 202
        taken = await register(http, username.upper(), f"{unique('x')}@example.org")
        assert_problem(taken, 409, "username_taken")
        invalid = await http.post(
            "/api/v1/accounts",
            json={"name": "X", "username": "a b", "email": "nope", "password": "short"},
        )
        body = assert_problem(invalid, 422, "validation_error")
        assert {e["field"] for e in body["errors"]} >= {"email"}
        weak = await http.post(
            "/api/v1/accounts",
            json={
                "name": "X",
                "username": unique("w"),
                "email": f"{unique('w')}@example.org",
                "password": "1234567890",
            },
        )
        body = assert_problem(weak, 422, "validation_error")
        assert body["errors"][0]["field"] == "password"
        # An address already registered: the same 202 and body; its owner gets a mail.
        owner = f"{username}@example.org"
        same = await register(http, unique("other"), owner.upper())
        assert same.status_code == 202
        assert same.json()["message"] == REGISTERED_MESSAGE["el"]
        await wait_for_mail(system, owner, "Απόπειρα εγγραφής")


async def test_token_errors(system: System) -> None:
    async with client(system) as http:
        bad = await http.post(
            "/api/v1/accounts/activate", json={"token": "no-such-token", "password": PASSWORD}
        )
        assert_problem(bad, 400, "invalid_token")
        bad_reset = await http.post(
            "/api/v1/recovery/password/reset",
            json={"token": "no-such-token", "new_password": NEW_PASSWORD},
        )
        assert_problem(bad_reset, 400, "invalid_token")
        assert_problem(await http.get("/api/v1/me"), 401, "unauthenticated")
        forged = await http.get("/api/v1/me", headers={"Authorization": "Bearer x.y.z"})
        assert_problem(forged, 401, "unauthenticated")


async def test_weak_new_password_is_refused(system: System) -> None:
    async with client(system) as http:
        _, email = await active_user(system, http)
        await http.post("/api/v1/recovery/password", json={"email": email})
        token = token_in(await wait_for_mail(system, email, "Reset"), "reset-password")
        weak = await http.post(
            "/api/v1/recovery/password/reset", json={"token": token, "new_password": "password123"}
        )
        assert assert_problem(weak, 422, "validation_error")["errors"][0]["field"] == (
            "new_password"
        )


async def test_refresh_rotation_reuse_and_logout(system: System) -> None:
    async with client(system) as http:
        username, _ = await active_user(system, http)
        first = (await login(http, username)).json()
        second = await http.post(
            "/api/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert second.status_code == 200
        assert second.json()["refresh_token"] != first["refresh_token"]
        third = await http.post(
            "/api/v1/sessions/refresh", json={"refresh_token": second.json()["refresh_token"]}
        )
        assert third.status_code == 200
        # Two rotations back is no concurrent twin (docs/accounts.md): a stolen copy.
        reuse = await http.post(
            "/api/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert_problem(reuse, 401, "unauthenticated")
        revoked = await http.post(
            "/api/v1/sessions/refresh", json={"refresh_token": third.json()["refresh_token"]}
        )
        assert_problem(revoked, 401, "unauthenticated")

        other = (await login(http, username)).json()
        bye = await http.delete(
            "/api/v1/sessions/current", headers={"Authorization": f"Bearer {other['access_token']}"}
        )
        assert bye.status_code == 204
        after = await http.post(
            "/api/v1/sessions/refresh", json={"refresh_token": other["refresh_token"]}
        )
        assert_problem(after, 401, "unauthenticated")


async def test_recovery_never_reveals_whether_an_address_exists(system: System) -> None:
    async with client(system) as http:
        _, email = await active_user(system, http)
        for path in (
            "/api/v1/recovery/password",
            "/api/v1/recovery/username",
            "/api/v1/accounts/activation/resend",
        ):
            known = await http.post(path, json={"email": email})
            unknown = await http.post(path, json={"email": f"{unique('ghost')}@example.org"})
            assert known.status_code == unknown.status_code == 202
            assert known.json() == unknown.json()
            assert known.json()["message"] == RECOVERY_ACCEPTED_MESSAGE["el"]  # Greek first
            english = await http.post(path, json={"email": email, "locale": "en"})
            assert english.json()["message"] == RECOVERY_ACCEPTED_MESSAGE["en"]


async def test_login_failures_are_rate_limited_with_retry_after(system: System) -> None:
    async with client(system) as http:
        username, _ = await active_user(system, http)
        for _ in range(5):
            assert_problem(
                await login(http, username, "wrong password!"), 401, "invalid_credentials"
            )
        limited = await login(http, username)
        assert_problem(limited, 429, "rate_limited")
        assert 0 < int(limited.headers["Retry-After"]) <= 900


async def test_recovery_is_rate_limited_per_address(system: System) -> None:
    async with client(system) as http:
        email = f"{unique('limit')}@example.org"
        for _ in range(3):
            ok = await http.post("/api/v1/recovery/password", json={"email": email})
            assert ok.status_code == 202
        limited = await http.post("/api/v1/recovery/password", json={"email": email})
        assert_problem(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) > 0


# ---------------------------------------------------------------- once-only mails


async def test_notifier_restart_mid_stream_sends_each_mail_exactly_once(system: System) -> None:
    emails = [f"{unique('burst')}@example.org" for _ in range(8)]
    async with client(system) as http:
        first = emails[:4]
        await asyncio.gather(*(register(http, unique("b"), e, "en") for e in first))
        restart = asyncio.create_task(asyncio.to_thread(system.restart, "notifier"))
        await asyncio.gather(*(register(http, unique("b"), e, "en") for e in emails[4:]))
        await restart
    for email in emails:
        # A message the old process had pulled but not settled comes back after the
        # consumer's ack wait (15 s), hence the long timeout.
        await wait_for_mail(system, email, "Activate", timeout=90.0)
    await asyncio.sleep(2.0)  # time for any duplicate to show up
    for email in emails:
        mails = system.mails_to(email)
        assert len(mails) == 1, (email, [m["Message-ID"] for m in mails])
