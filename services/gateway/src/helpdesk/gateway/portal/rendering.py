"""Jinja2 pages: one environment, autoescaping on, the page's language in every template."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from functools import partial
from importlib.resources import files
from typing import Any
from urllib.parse import quote
from uuid import uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from helpdesk.contracts.agents import Availability, GetAvailability
from helpdesk.contracts.priorities import PRIORITY_TEXT, Priority
from helpdesk.contracts.tickets import CATEGORY_LABELS, Category, ListPriorities, TicketStatus
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.portal.i18n import LANGS, Lang, duration, t
from helpdesk.gateway.portal.session import (
    CSRF_FIELD,
    BrowserState,
    PortalUser,
    apply_cookies,
    load_state,
)
from helpdesk.gateway.problems import ProblemError
from helpdesk.gateway.settings import Settings

PREFIX = "/helpdesk"
# An SLA deadline closer than this (in the SLA's own minutes) is highlighted as near.
NEAR_DUE_MINUTES = 60

# Scripts, styles and the live stream only from our own origin (no inline script,
# no CDN), never framed, forms post only to us.
SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _pinned(name: str) -> dict[str, str]:
    """A static script's address and its Subresource Integrity: the page runs only
    the exact file the gateway ships (pinned; nothing from elsewhere)."""
    data = files("helpdesk.gateway.portal").joinpath("static", name).read_bytes()
    digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
    return {"src": f"{PREFIX}/static/{name}?v={digest[:12]}", "integrity": f"sha384-{digest}"}


SCRIPTS = {"live": _pinned("live.js"), "passkeys": _pinned("passkeys.js")}

try:
    LOCAL_ZONE: Any = ZoneInfo("Europe/Athens")
except ZoneInfoNotFoundError:  # a machine without tzdata shows UTC
    LOCAL_ZONE = UTC

_environment = Environment(
    loader=FileSystemLoader(str(files("helpdesk.gateway.portal").joinpath("templates"))),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_url(lang: Lang, path: str = "") -> str:
    """`/helpdesk/<lang>/<path>`; the one place the portal's URL scheme is spelled."""
    return f"{PREFIX}/{lang}/{path}"


def switch_url(request: Request, lang: Lang) -> str:
    """The same page in the other language (query string kept: tokens, filters)."""
    other: Lang = "en" if lang == "el" else "el"
    path = request.url.path
    rest = path[len(f"{PREFIX}/{lang}") :] if path.startswith(f"{PREFIX}/{lang}") else "/"
    url = f"{PREFIX}/{other}{rest or '/'}"
    if request.url.query:
        url += f"?{request.url.query}"
    return url


def format_time(value: datetime | None, lang: Lang) -> str:
    if value is None:
        return "—"
    local = value.astimezone(LOCAL_ZONE)
    return local.strftime("%d/%m/%Y %H:%M")


def due_state(value: datetime | None, left_minutes: float | None = None) -> str:
    """`overdue`, `soon` (under an hour) or `ok`: a CSS class for SLA columns. The
    SLA's own countdown (`left_minutes`, business time on business hours) when the
    tickets service gave one, else wall-clock time to `value`."""
    if value is None:
        return "none"
    if left_minutes is None:
        left_minutes = (value - datetime.now(UTC)).total_seconds() / 60
    if left_minutes < 0:
        return "overdue"
    return "soon" if left_minutes < NEAR_DUE_MINUTES else "ok"


def countdown(left_minutes: float | None, business: bool, lang: Lang) -> str:
    """ "σε 2 ώρες 15 λεπτά (εργάσιμος χρόνος)" / "overdue by 1 h 5 min (business time)"."""
    if left_minutes is None:
        return ""
    key = "due_in" if left_minutes >= 0 else "overdue_by"
    text = t(key, lang).format(duration=duration(left_minutes, lang))
    return f"{text} ({t('business_time', lang)})" if business else text


def priority_label(priority: Priority | str, lang: Lang) -> str:
    return PRIORITY_TEXT[Priority(priority)][lang].label


def priority_description(priority: Priority | str, lang: Lang) -> str:
    return PRIORITY_TEXT[Priority(priority)][lang].description


def status_label(status: TicketStatus | str, lang: Lang, *, agent: bool = False) -> str:
    """The status in the reader's words: "pending" waits for the requester, which
    the requester reads as "waiting for your reply" and an agent as "waiting for
    the requester" (docs/glossary.md)."""
    value = TicketStatus(status).value
    if agent and value == TicketStatus.PENDING.value:
        return t("status_pending_agent", lang)
    return t(f"status_{value}", lang)


def category_label(category: Category | str | None, lang: Lang) -> str:
    if category is None:
        return "—"
    return CATEGORY_LABELS[Category(category)][lang]


def login_url(lang: Lang, next_path: str | None = None) -> str:
    url = page_url(lang, "login")
    if next_path:
        url += "?next=" + quote(next_path, safe="/")
    return url


def safe_next(value: str | None, lang: Lang) -> str:
    """Only a portal path may follow a login: no open redirect to another site."""
    if value and value.startswith(f"{PREFIX}/") and "//" not in value and "\\" not in value:
        return value
    return page_url(lang, "tickets")


async def header_availability(
    request: Request, user: PortalUser | None, template: str
) -> Availability | None:
    """An agent's availability for the header toggle; none on error pages, and
    none (no toggle) when the tickets service does not answer: the page still shows."""
    if user is None or not user.is_agent or template == "error.html":
        return None
    try:
        return await send(request, GetAvailability(actor=user.actor))
    except ProblemError:
        return None


def organisation_sign_in(settings: Settings) -> str | None:
    """Where "Sign in with your organisation" goes: OpenID Connect, SAML, or nowhere."""
    if settings.oidc_issuer:
        return "login/organisation"
    if settings.saml_idp_metadata_url:
        return "login/saml"
    return None


QUEUE_LABELS_SECONDS = 300.0  # how long the queues' names are kept before asking again


async def queue_labels(request: Request) -> dict[str, dict[str, str]]:
    """The queues' names in both languages from the routing policy (through the
    public priorities query), kept a few minutes; the keys if it does not answer."""
    gateway = gateway_of(request)
    read_at, labels = gateway.queue_labels
    if time.monotonic() - read_at > QUEUE_LABELS_SECONDS or not labels:
        try:
            found = await send(request, ListPriorities())
        except ProblemError:
            return labels
        labels = {p.queue: p.queue_label for p in found.items if p.queue_label}
        gateway.queue_labels = (time.monotonic(), labels)
    return labels


def queue_label(queue: str, labels: dict[str, dict[str, str]], lang: Lang) -> str:
    return labels.get(queue, {}).get(lang, queue)


async def render(
    request: Request,
    template: str,
    lang: Lang,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    state = await load_state(request)
    values: dict[str, Any] = {
        "lang": lang,
        "langs": LANGS,
        "t": partial(t, lang=lang),
        "user": state.user,
        "availability": await header_availability(request, state.user, template),
        "csrf_field": CSRF_FIELD,
        "csrf_token": state.csrf_token,
        "switch_url": switch_url(request, lang),
        "url": partial(page_url, lang),
        "path": request.url.path,
        "time": partial(format_time, lang=lang),
        "due_state": due_state,
        "countdown": partial(countdown, lang=lang),
        "priority_label": partial(priority_label, lang=lang),
        "priority_description": partial(priority_description, lang=lang),
        "status_label": partial(
            status_label, lang=lang, agent=state.user is not None and state.user.is_agent
        ),
        "queue_label": partial(queue_label, labels=await queue_labels(request), lang=lang),
        "category_label": partial(category_label, lang=lang),
        "priorities": list(Priority),
        "notice": None,
        "errors": {},
        "form_error": None,
        "values": {},
        "not_activated": False,
        "scripts": SCRIPTS,
        "invalid_token": False,
        "organisation_sign_in": organisation_sign_in(gateway_of(request).settings),
        # One Idempotency-Key per rendered form: submitting it twice creates one thing.
        "new_idempotency_key": lambda: str(uuid4()),
    }
    values.update(context or {})
    body = _environment.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    apply_cookies(request, response, state, lang)
    return response


async def redirect(request: Request, url: str, lang: Lang) -> RedirectResponse:
    """303 See Other after a POST (and when a page needs a login), cookies applied."""
    state: BrowserState = await load_state(request)
    response = RedirectResponse(url, status_code=303)
    apply_cookies(request, response, state, lang)
    return response


def login_redirect_target(request: Request, lang: Lang) -> str:
    """Where LoginRequired sends the browser: login, then back to this page (GET only)."""
    back = request.url.path if request.method == "GET" else None
    if back and request.url.query:
        back += "?" + request.url.query
    return login_url(lang, back)
