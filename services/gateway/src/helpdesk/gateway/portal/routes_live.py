"""The portal's live parts: the signed-in user's ticket changes as Server-Sent
Events (the same feed and rules as `GET /api/v1/stream`, gateway/live.py), and
who else has a ticket open (gateway/presence.py)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.live import event_stream
from helpdesk.gateway.portal.forms import read_form
from helpdesk.gateway.portal.rendering import render
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import signed_in_user
from helpdesk.gateway.presence import Doing, mark
from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)

router = APIRouter()


@router.get("/{lang}/live")
async def live(
    request: Request,
    lang: PageLang,
    scope: Literal["queues", "all"] = "queues",
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> Response:
    """Ends when the session's access token expires; the browser's EventSource
    reconnects (refreshing the session) and resumes from its Last-Event-ID."""
    user = await signed_in_user(request)
    return await event_stream(
        request,
        user.actor,
        expires=user.claims.exp,
        everything=scope == "all",
        last_event_id=last_event_id,
    )


@router.post("/{lang}/tickets/{ticket_id}/presence")
async def presence(request: Request, lang: PageLang, ticket_id: UUID) -> Response:
    """An agent's page says it is open (and whether a reply is being typed): the
    answer names the other agents on the ticket (static/live.js puts it in place)."""
    user = await signed_in_user(request)
    form = await read_form(request)
    others: list[dict[str, str]] = []
    if user.is_agent:
        doing: Doing = "replying" if form.get("doing") == "replying" else "viewing"
        gateway = gateway_of(request)
        if gateway.nats is not None:
            name = user.name or str(user.user_id)
            try:
                others = await mark(gateway, ticket_id, user.user_id, name, doing)
            except Exception as exc:  # presence is a nicety: never an error page
                log.warning("presence not recorded", error=type(exc).__name__)
    return await render(request, "presence.html", lang, {"others": others})
