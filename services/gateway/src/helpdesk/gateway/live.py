"""The Server-Sent Events answer shared by `GET /api/v1/stream` (a Bearer token)
and the portal's stream (the session cookie): the replica's one `TicketFeed`,
started at its first listener, and the caller as a `Viewer` (stream.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import Request
from fastapi.responses import StreamingResponse

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.agents import ListQueues
from helpdesk.contracts.tickets import GetTicket
from helpdesk.gateway.commands import send
from helpdesk.gateway.deps import gateway_of
from helpdesk.gateway.problems import ProblemError
from helpdesk.gateway.stream import TicketFeed, resume_point, viewer_of

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def feed_of(request: Request) -> TicketFeed:
    """The replica's feed, following the stream once NATS answers (else 503)."""
    gateway = gateway_of(request)
    if gateway.nats is None:
        raise ProblemError(503, "unavailable", "The helpdesk is starting; try again.")
    if gateway.feed is None:
        gateway.feed = TicketFeed()
    gateway.feed.start(gateway.nats.jetstream())
    return gateway.feed


async def event_stream(
    request: Request,
    actor: Actor,
    *,
    expires: int,
    everything: bool,
    last_event_id: str | None,
) -> StreamingResponse:
    """The caller's ticket changes as `text/event-stream`, until their access token
    expires (`expires`, epoch seconds): the client reconnects with a fresh one and
    its `Last-Event-ID`."""
    feed = feed_of(request)

    async def queues_of() -> list[str]:
        found = await send(request, ListQueues(actor=actor))
        return [q.queue for q in found.items if any(m.user_id == actor.user_id for m in q.members)]

    async def owns(ticket_id: UUID) -> bool:
        try:
            await send(request, GetTicket(actor=actor, ticket_id=ticket_id))
        except ProblemError as problem:
            if problem.status == 404:
                return False
            raise
        return True

    viewer = await viewer_of(actor, everything=everything, queues_of=queues_of, owns=owns)
    until = datetime.fromtimestamp(expires, UTC)
    frames = feed.listen(viewer, after=resume_point(last_event_id), until=until)
    return StreamingResponse(frames, media_type="text/event-stream", headers=SSE_HEADERS)
