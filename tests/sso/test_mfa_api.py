"""Two-factor login for API clients (issue 28, item 8) through the gateway, on the
SSO system (agents and admins must have a factor): `POST /api/v1/sessions`
answers a challenge, not tokens; TOTP is enrolled with it; the next sign-in
answers `mfa_required` and `POST /api/v1/sessions/mfa` completes it with a code
or a recovery code, each good once; adding and removing the factor mails its
owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest

from helpdesk.contracts.actors import Role
from tests.browser.test_search_reports import PASSWORD, create_user
from tests.e2e.harness import System
from tests.e2e.test_accounts_flow import assert_problem, client, login, wait_for_mail
from tests.e2e.test_tickets_flow import auth

pytestmark = pytest.mark.e2e


async def challenge(api: httpx.AsyncClient, username: str, status: str) -> str:
    """The password step: a challenge of `status` and no token; its id."""
    answer = await login(api, username, PASSWORD)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == status, body
    assert "access_token" not in body
    return str(body["challenge_id"])


async def answer(api: httpx.AsyncClient, challenge_id: str, code: str) -> httpx.Response:
    return await api.post("/api/v1/sessions/mfa", json={"challenge_id": challenge_id, "code": code})


async def test_an_api_client_enrols_then_completes_mfa_required_with_a_code_or_a_recovery_code(
    sso_system: System,
) -> None:
    username = f"api{uuid.uuid4().hex[:6]}"
    address = f"{username}@example.org"
    await create_user(sso_system.servers, username, Role.AGENT, "en")
    async with client(sso_system) as api:
        # An agent's password alone: an enrolment challenge, which opens nothing.
        enrolling = await challenge(api, username, "mfa_enrolment_required")
        assert (await api.get("/api/v1/me", headers=auth(enrolling))).status_code == 401
        key = await api.post("/api/v1/sessions/mfa/totp", json={"challenge_id": enrolling})
        assert key.status_code == 200, key.text
        assert key.json()["otpauth_uri"].startswith("otpauth://totp/")
        totp = pyotp.TOTP(key.json()["secret"])
        enrolled = await api.post(
            "/api/v1/sessions/mfa/totp/confirm",
            json={
                "challenge_id": enrolling,
                "enrolment_token": key.json()["enrolment_token"],
                "code": totp.now(),
            },
        )
        assert enrolled.status_code == 200, enrolled.text
        recovery_codes = enrolled.json()["recovery_codes"]
        assert len(recovery_codes) == 10
        assert enrolled.json()["tokens"]["status"] == "signed_in"
        await wait_for_mail(sso_system, address, "A second factor was added")

        # The next sign-in: mfa_required; a wrong code is refused, the next step's code
        # (this one is used up) gives the tokens.
        code_step = await challenge(api, username, "mfa_required")
        assert_problem(await answer(api, code_step, "000000"), 401, "invalid_code")
        soon = datetime.now(UTC) + timedelta(seconds=30)
        signed_in = await answer(api, code_step, totp.at(soon))
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        me = await api.get("/api/v1/me", headers=auth(token))
        assert (me.status_code, me.json()["username"]) == (200, username)

        # A recovery code instead of the app, good once.
        assert (
            await answer(api, await challenge(api, username, "mfa_required"), recovery_codes[0])
        ).status_code == 200
        again = await challenge(api, username, "mfa_required")
        assert_problem(await answer(api, again, recovery_codes[0]), 401, "invalid_code")
        factors = await api.get("/api/v1/me/factors", headers=auth(token))
        assert factors.json()["recovery_codes_left"] == 9
        assert factors.json()["required"] is True

        # Removing the factor mails its owner; the agent enrols again at the next sign-in.
        removed = await api.delete("/api/v1/me/factors/totp", headers=auth(token))
        assert (removed.status_code, removed.json()["items"]) == (200, [])
        await wait_for_mail(sso_system, address, "A second factor was removed")
        await challenge(api, username, "mfa_enrolment_required")
