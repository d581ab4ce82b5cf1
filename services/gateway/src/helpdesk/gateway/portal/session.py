"""The portal's browser session: tokens in an HttpOnly cookie, a CSRF token, the locale.

* Session cookie: "<access token> <refresh token>" (identity's tokens, nothing of
  our own), HttpOnly, SameSite=Lax, Secure when HELPDESK_PUBLIC_URL is https.
  An expired access token is refreshed with identity's `refresh` command.
* CSRF: double-submit. A random token lives in its own HttpOnly cookie and in a
  hidden field of every form; a POST whose two copies differ is refused. Over
  https the cookie is named `__Host-…`, so no sibling sub-domain can plant one.
* Locale: the language of the last page seen, so `/helpdesk/` opens in it.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from uuid import UUID

from fastapi import Request, Response
from starlette.datastructures import FormData

from helpdesk.contracts.actors import AccessTokenClaims, Actor, Role
from helpdesk.contracts.identity import RefreshSession, SessionTokens
from helpdesk.gateway.auth import claims_of
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.portal.i18n import Lang
from helpdesk.gateway.problems import ProblemError
from helpdesk.gateway.revocations import ensure_not_revoked
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

CSRF_FIELD = "csrf_token"
LOCALE_COOKIE = "helpdesk_locale"
LOCALE_MAX_AGE = 365 * 24 * 3600


def secure_cookies(request: Request) -> bool:
    return str(gateway_of(request).settings.public_url).startswith("https://")


def _name(request: Request, base: str) -> str:
    return f"__Host-{base}" if secure_cookies(request) else base


def session_cookie(request: Request) -> str:
    return _name(request, "helpdesk_session")


def csrf_cookie(request: Request) -> str:
    return _name(request, "helpdesk_csrf")


@dataclass
class PortalUser:
    actor: Actor
    claims: AccessTokenClaims

    @property
    def name(self) -> str:
        return self.claims.name

    @property
    def user_id(self) -> UUID:
        return self.actor.user_id

    @property
    def is_agent(self) -> bool:
        return self.actor.is_agent

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.actor.roles


@dataclass
class BrowserState:
    """What the request carried, and the cookies the response must set or clear."""

    csrf_token: str
    user: PortalUser | None = None
    new_tokens: SessionTokens | None = None
    clear_session: bool = False
    set_csrf: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def _user_from(request: Request, access_token: str) -> PortalUser:
    claims = claims_of(request, access_token)
    actor = Actor(user_id=UUID(claims.sub), roles=claims.roles, session_id=claims.sid)
    return PortalUser(actor=actor, claims=claims)


async def load_state(request: Request) -> BrowserState:
    """Read the cookies once per request (cached on request.state)."""
    cached: BrowserState | None = getattr(request.state, "portal", None)
    if cached is not None:
        return cached
    csrf = request.cookies.get(csrf_cookie(request))
    state = BrowserState(csrf_token=csrf or secrets.token_urlsafe(32), set_csrf=csrf is None)
    raw = request.cookies.get(session_cookie(request))
    if raw:
        access, _, refresh = raw.partition(" ")
        try:
            user = _user_from(request, access)
            await ensure_not_revoked(request, user.claims)  # logged out or password changed
            state.user = user
        except ProblemError as problem:
            if problem.code == "token_expired" and refresh:
                await _refresh(request, state, refresh)
            elif problem.status == 503:
                raise
            else:
                state.clear_session = True
    request.state.portal = state
    return state


async def _refresh(request: Request, state: BrowserState, refresh_token: str) -> None:
    try:
        tokens = await send(request, RefreshSession(refresh_token=refresh_token))
    except ProblemError as problem:
        if problem.status == 503:
            raise
        log.info("portal session ended", reason=problem.code)
        state.clear_session = True
        return
    state.new_tokens = tokens
    state.user = _user_from(request, tokens.access_token)


def start_session(state: BrowserState, request: Request, tokens: SessionTokens) -> None:
    state.new_tokens = tokens
    state.clear_session = False
    state.user = _user_from(request, tokens.access_token)


def end_session(state: BrowserState) -> None:
    state.user = None
    state.new_tokens = None
    state.clear_session = True


def apply_cookies(request: Request, response: Response, state: BrowserState, lang: Lang) -> None:
    secure = secure_cookies(request)
    if state.new_tokens is not None:
        tokens = state.new_tokens
        response.set_cookie(
            session_cookie(request),
            f"{tokens.access_token} {tokens.refresh_token}",
            max_age=tokens.refresh_expires_in,
            path="/",
            httponly=True,
            secure=secure,
            samesite="lax",
        )
    elif state.clear_session:
        response.delete_cookie(
            session_cookie(request), path="/", httponly=True, secure=secure, samesite="lax"
        )
    if state.set_csrf:
        response.set_cookie(
            csrf_cookie(request),
            state.csrf_token,
            path="/",
            httponly=True,
            secure=secure,
            samesite="lax",
        )
        state.set_csrf = False
    if request.cookies.get(LOCALE_COOKIE) != lang:
        response.set_cookie(
            LOCALE_COOKIE, lang, max_age=LOCALE_MAX_AGE, path="/", secure=secure, samesite="lax"
        )


def csrf_ok(request: Request, form: FormData) -> bool:
    """Double-submit check: the form's hidden token equals the cookie's."""
    cookie = request.cookies.get(csrf_cookie(request))
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str) or not sent:
        return False
    return hmac.compare_digest(cookie.encode(), sent.encode())


class LoginRequired(Exception):
    """No session: the page sends the browser to the login form and back."""


async def signed_in_user(request: Request) -> PortalUser:
    """The browser's user, or `LoginRequired` (to the login form, then back)."""
    state = await load_state(request)
    if state.user is None:
        raise LoginRequired
    return state.user
