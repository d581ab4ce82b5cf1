"""The portal's live stream: the signed-in user's ticket changes as Server-Sent
Events (the same feed and rules as `GET /api/v1/stream`, gateway/live.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from helpdesk.gateway.live import event_stream
from helpdesk.gateway.portal.routing import PageLang
from helpdesk.gateway.portal.session import signed_in_user

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
