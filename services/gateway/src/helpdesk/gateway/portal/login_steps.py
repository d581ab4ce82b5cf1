"""Between a right password and a session: the challenge the second step answers
(a code, enrolling TOTP, a passkey, or joining a local account), held by the
browser in a short-lived HttpOnly cookie. Without a session no other page opens
until the step is done (docs/sso.md). The sign-in pages of every kind hand over
here; the step pages read and end the challenge."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from helpdesk.contracts.identity import MfaChallenge
from helpdesk.gateway.portal.i18n import Lang
from helpdesk.gateway.portal.rendering import page_url, redirect
from helpdesk.gateway.portal.session import secure_cookies

CHALLENGE_COOKIE = "helpdesk_mfa"
_PATH = "/helpdesk/"


async def second_step(request: Request, lang: Lang, challenge: MfaChallenge, next: str) -> Response:
    """After a right password: to the code form, to enrolment, or to joining a local
    account (the organisation's directory vouched for its address); the challenge
    in a cookie."""
    page = {
        "mfa_required": "login/code",
        "mfa_enrolment_required": "login/enrol",
        "link_required": "login/link",
    }[challenge.status]
    response = await redirect(request, page_url(lang, page) + next_query(next), lang)
    response.set_cookie(
        CHALLENGE_COOKIE,
        challenge.challenge_id,
        max_age=challenge.expires_in,
        path=_PATH,
        httponly=True,
        secure=secure_cookies(request),
        samesite="lax",
    )
    return response


def next_query(next: str | None) -> str:
    return f"?next={quote(next, safe='/')}" if next else ""


def challenge_of(request: Request) -> str | None:
    """The challenge the browser holds, if any."""
    return request.cookies.get(CHALLENGE_COOKIE) or None


def end_challenge(response: Response) -> Response:
    """The step is done (or its challenge expired): the browser forgets it."""
    response.delete_cookie(CHALLENGE_COOKIE, path=_PATH)
    return response
