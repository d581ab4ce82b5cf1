"""/api/v1/tickets and /api/v1/priorities: HTTP to the tickets service's
commands and queries (contracts in helpdesk.contracts.tickets)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import (
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
    StatusChange,
    Submitted,
    SubmitTicket,
    TicketDetail,
    TicketDraft,
    TicketList,
    TicketStatus,
    TicketSummary,
)
from helpdesk.gateway.auth import CurrentActor
from helpdesk.gateway.commands import send

router = APIRouter(prefix="/api/v1", tags=["tickets"])


@router.get("/priorities", response_model=PriorityList)
async def priorities(request: Request) -> PriorityList:
    """The five priorities with their Greek and English wording and SLA targets."""
    return await send(request, ListPriorities())


@router.post("/tickets", status_code=201, response_model=Submitted)
async def submit(
    request: Request, response: Response, actor: CurrentActor, body: TicketDraft
) -> Submitted:
    result = await send(request, SubmitTicket(actor=actor, **body.model_dump()))
    response.headers["Location"] = f"/api/v1/tickets/{result.ticket_id}"
    return result


@router.get("/tickets", response_model=TicketList)
async def list_tickets(
    request: Request,
    actor: CurrentActor,
    priority: Priority | None = None,
    status: TicketStatus | None = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    assignee_id: UUID | None = None,
    unassigned: bool = False,
    all_queues: bool = False,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TicketList:
    """The caller's tickets; for agents their queues (every queue with
    `all_queues=true`), soonest due first."""
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
        ),
    )


@router.get("/tickets/{ticket_id}", response_model=TicketDetail)
async def get_ticket(request: Request, actor: CurrentActor, ticket_id: UUID) -> TicketDetail:
    return await send(request, GetTicket(actor=actor, ticket_id=ticket_id))


@router.post("/tickets/{ticket_id}/messages", status_code=201, response_model=MessageAdded)
async def add_message(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: MessageDraft
) -> MessageAdded:
    return await send(
        request,
        AddMessage(actor=actor, ticket_id=ticket_id, **body.model_dump()),
    )


@router.post("/tickets/{ticket_id}/status", response_model=TicketSummary)
async def change_status(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: StatusChange
) -> TicketSummary:
    return await send(request, ChangeStatus(actor=actor, ticket_id=ticket_id, **body.model_dump()))


@router.post("/tickets/{ticket_id}/priority", response_model=TicketSummary)
async def change_priority(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: PriorityChange
) -> TicketSummary:
    return await send(
        request, ChangePriority(actor=actor, ticket_id=ticket_id, **body.model_dump())
    )


@router.post("/tickets/{ticket_id}/assign", response_model=TicketSummary)
async def assign(
    request: Request, actor: CurrentActor, ticket_id: UUID, body: Assignment
) -> TicketSummary:
    return await send(
        request,
        AssignTicket(actor=actor, ticket_id=ticket_id, **body.model_dump()),
    )
