"""/api/v1/tickets and /api/v1/priorities: HTTP to the tickets service's
commands and queries (contracts in helpdesk.contracts.tickets)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
    CURSOR_PATTERN,
    QUEUE_PATTERN,
    AddMessage,
    Assignment,
    AssignTicket,
    ChangePriority,
    ChangeStatus,
    GetTicket,
    ListPriorities,
    ListTickets,
    MessageAdded,
    MessageDraft,
    PriorityChange,
    PriorityList,
    Rated,
    RateTicket,
    Reopening,
    ReopenTicket,
    Satisfaction,
    SearchTickets,
    StatusChange,
    StreamChange,
    Submitted,
    SubmitTicket,
    TicketDetail,
    TicketDraft,
    TicketList,
    TicketSearchResults,
    TicketStatus,
    TicketSummary,
    Unassignment,
    UnassignTicket,
)
from helpdesk.gateway.auth import CurrentActor, claims_of
from helpdesk.gateway.commands import send
from helpdesk.gateway.live import event_stream
from helpdesk.gateway.openapi import answers

router = APIRouter(prefix="/api/v1", tags=["tickets"])

# The stateful tests (and clients) follow these from a submitted ticket to its reply.
_TICKET_LINKS = {
    "GetTicket": {
        "operationId": "get_ticket",
        "parameters": {"ticket_id": "$response.body#/ticket_id"},
    },
    "AddMessage": {
        "operationId": "add_message",
        "parameters": {"ticket_id": "$response.body#/ticket_id"},
    },
}
_READ_LINKS = {
    "AddMessage": {
        "operationId": "add_message",
        "parameters": {"ticket_id": "$request.path.ticket_id"},
    }
}


@router.get("/priorities", response_model=PriorityList)
async def priorities(request: Request) -> PriorityList:
    """The five priorities with their Greek and English wording and SLA targets."""
    return await send(request, ListPriorities())


# `Idempotency-Key` (IETF httpapi draft): the same key from the same user within 24 h
# gets the first answer and creates nothing; the same key with another body is 422.
IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="A unique key per request (e.g. a UUID); a retry sends the same one",
    ),
]


@router.post(
    "/tickets",
    status_code=201,
    response_model=Submitted,
    responses=answers("forbidden", "not_found", "conflict", extra={201: {"links": _TICKET_LINKS}}),
)
async def submit(
    request: Request,
    response: Response,
    actor: CurrentActor,
    body: TicketDraft,
    idempotency_key: IdempotencyHeader = None,
) -> Submitted:
    command = SubmitTicket(actor=actor, idempotency_key=idempotency_key, **body.model_dump())
    result = await send(request, command)
    response.headers["Location"] = f"/api/v1/tickets/{result.ticket_id}"
    return result


@router.get(
    "/tickets", response_model=TicketList | TicketSearchResults, responses=answers("forbidden")
)
async def list_tickets(
    request: Request,
    actor: CurrentActor,
    priority: Priority | None = None,
    status: TicketStatus | None = None,
    queue: Annotated[str | None, Query(max_length=64, pattern=QUEUE_PATTERN)] = None,
    assignee_id: UUID | None = None,
    unassigned: bool = False,
    all_queues: bool = False,
    cursor: Annotated[str | None, Query(max_length=64, pattern=CURSOR_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full-text search (Greek and English, accents and case ignored,"
            " partial words, ticket numbers): ranked hits with snippets instead of the list."
            " At most 100 per page.",
        ),
    ] = None,
    as_of: Annotated[
        datetime | None,
        Query(description="The list as it stood at this instant (ISO 8601 with a zone)."),
    ] = None,
) -> TicketList | TicketSearchResults:
    """The caller's tickets; for agents their queues (every queue with
    `all_queues=true`), soonest due first. With `q`: search results, best first;
    customers find only their own tickets."""
    if q is not None:
        try:
            search = SearchTickets(
                actor=actor,
                q=q,
                priority=priority,
                status=status,
                queue=queue,
                assignee_id=assignee_id,
                unassigned=unassigned,
                cursor=cursor,
                limit=min(limit, 100),
            )
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
            ) from None
        return await send(request, search)
    return await send(
        request,
        ListTickets(
            actor=actor,
            priority=priority,
            status=status,
            queue=queue,
            assignee_id=assignee_id,
            unassigned=unassigned,
            all_queues=all_queues,
            cursor=cursor,
            limit=limit,
            as_of=as_of,
        ),
    )


@router.get(
    "/tickets/{ticket_id}",
    response_model=TicketDetail,
    responses=answers("not_found", extra={200: {"links": _READ_LINKS}}),
)
async def get_ticket(request: Request, actor: CurrentActor, ticket_id: UUID) -> TicketDetail:
    return await send(request, GetTicket(actor=actor, ticket_id=ticket_id))


@router.post(
    "/tickets/{ticket_id}/messages",
    status_code=201,
    response_model=MessageAdded,
    responses=answers("forbidden", "not_found", "ticket_closed", "conflict"),
)
async def add_message(
    request: Request,
    actor: CurrentActor,
    ticket_id: UUID,
    body: MessageDraft,
    idempotency_key: IdempotencyHeader = None,
) -> MessageAdded:
    return await send(
        request,
        AddMessage(
            actor=actor,
            ticket_id=ticket_id,
            idempotency_key=idempotency_key,
            **body.model_dump(),
        ),
    )


_CHANGE = answers(
    "forbidden", "not_found", "invalid_transition", "conflict", "already_assigned", "ticket_closed"
)


@router.post("/tickets/{ticket_id}/status", response_model=TicketSummary, responses=_CHANGE)
async def change_status(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: StatusChange
) -> TicketSummary:
    return await send(request, ChangeStatus(actor=actor, ticket_id=ticket_id, **body.model_dump()))


@router.post("/tickets/{ticket_id}/priority", response_model=TicketSummary, responses=_CHANGE)
async def change_priority(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: PriorityChange
) -> TicketSummary:
    return await send(
        request, ChangePriority(actor=actor, ticket_id=ticket_id, **body.model_dump())
    )


@router.post("/tickets/{ticket_id}/assign", response_model=TicketSummary, responses=_CHANGE)
async def assign(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: Assignment
) -> TicketSummary:
    return await send(
        request,
        AssignTicket(actor=actor, ticket_id=ticket_id, **body.model_dump()),
    )


@router.post("/tickets/{ticket_id}/unassign", response_model=TicketSummary, responses=_CHANGE)
async def unassign(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: Unassignment | None = None
) -> TicketSummary:
    """Take the assignee off (agents only); the queue's policy may give the ticket
    to another member. A ticket without an assignee is answered as it is."""
    reason = body.reason if body else None
    return await send(request, UnassignTicket(actor=actor, ticket_id=ticket_id, reason=reason))


@router.post("/tickets/{ticket_id}/reopen", response_model=TicketSummary, responses=_CHANGE)
async def reopen(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: Reopening | None = None
) -> TicketSummary:
    """A resolved ticket open again: its requester within HELPDESK_REOPEN_DAYS of the
    resolution (409 `invalid_transition` after), an agent at any time."""
    reason = body.reason if body else None
    return await send(request, ReopenTicket(actor=actor, ticket_id=ticket_id, reason=reason))


@router.post(
    "/tickets/{ticket_id}/satisfaction",
    status_code=201,
    response_model=Rated,
    responses=answers("forbidden", "not_found", "invalid_transition", "conflict"),
)
async def rate(request: Request, actor: CurrentActor, ticket_id: UUID, body: Satisfaction) -> Rated:
    """The requester rates the latest resolution (1–5, optional comment): once per
    resolution (409 `conflict` for a second, 409 `invalid_transition` before one)."""
    return await send(request, RateTicket(actor=actor, ticket_id=ticket_id, **body.model_dump()))


# One event of the stream, as OpenAPI 3.1 describes an event stream: its fields,
# with `data` a JSON document of its own (heartbeats are comments, not events).
STREAM_EVENT = {
    "type": "object",
    "required": ["event", "id", "data"],
    "properties": {
        "event": {"const": "ticket"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": StreamChange.model_json_schema(),
        },
    },
}


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses=answers(
        extra={
            200: {
                "description": "Server-Sent Events: `event: ticket` with the change "
                "(ticket_id, number, kind, at, and status, priority, queue or assignee "
                "when they changed); `id` is the stream position for `Last-Event-ID`",
                "content": {"text/event-stream": {"schema": STREAM_EVENT}},
            }
        }
    ),
)
async def stream(
    request: Request,
    actor: CurrentActor,
    scope: Annotated[
        Literal["queues", "all"],
        Query(description="Agents: their queues (default) or every ticket"),
    ] = "queues",
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Ticket changes the caller may see, live: a customer's own tickets, an agent's
    queues (docs/workspace.md). Ends when the access token expires; reconnect with a
    fresh one and `Last-Event-ID` to resume."""
    claims = claims_of(request, request.state.access_token)
    return await event_stream(
        request,
        actor,
        expires=claims.exp,
        everything=scope == "all",
        last_event_id=last_event_id,
    )
