"""The tickets service's use cases: one method per command or query.

Each command loads the ticket, lets the aggregate decide, and saves its new
events with the outbox and projections in one transaction; a concurrent
writer makes the append fail, and the command is retried on the fresh state
(which is how the loser of two simultaneous assigns gets 409).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
from pydantic import BaseModel, ValidationError

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.priorities import PRIORITY_TEXT, Priority
from helpdesk.contracts.replies import FieldError, Reply
from helpdesk.contracts.tickets import (
    AddMessage,
    AssignTicket,
    ChangePriority,
    ChangeStatus,
    Contact,
    GetTicket,
    ListTickets,
    MessageAdded,
    Person,
    PriorityInfo,
    PriorityList,
    SlaTargetInfo,
    Submitted,
    SubmitTicket,
    TicketAssigned,
    TicketDetail,
    TicketEscalated,
    TicketEvent,
    TicketList,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketSlaBreached,
    TicketSlaWarning,
    TicketStatus,
    TicketStatusChanged,
    TicketSubmitted,
    TicketSummary,
    TimelineEntry,
)
from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.runtime import current_correlation_id
from helpdesk.tickets.repository import TicketRepository, next_number
from helpdesk.tickets.routing import RoutingPolicy
from helpdesk.tickets.ticket import Caller, InvalidAssignee, Ticket, TicketError
from helpdesk.tickets.users import contact_of, find_user

log = get_logger(__name__)

CommandT = TypeVar("CommandT", bound=BaseModel)
R = TypeVar("R")

MAX_ATTEMPTS = 5
AGENT_ONLY_EVENTS = (TicketSlaWarning, TicketSlaBreached, TicketEscalated)


class Invalid(Exception):
    def __init__(self, reply: Reply[Any]) -> None:
        self.reply = reply


def parse(command_cls: type[CommandT], body: Any) -> CommandT:
    """The typed command, or `Invalid` carrying a 422-style reply with field errors."""
    try:
        return command_cls.model_validate(body)
    except ValidationError as exc:
        errors = [
            FieldError(
                field=".".join(str(p) for p in err["loc"]) or "body",
                message=err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors()
        ]
        raise Invalid(
            Reply.failure("validation_error", "Some fields are invalid.", field_errors=errors)
        ) from None


class TicketService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        repository: TicketRepository,
        policy: RoutingPolicy,
        clock: Clock,
    ) -> None:
        self.pool = pool
        self.repository = repository
        self.policy = policy
        self.clock = clock

    # --- commands --------------------------------------------------------------------------

    async def submit(self, body: Any) -> Reply[Any]:
        try:
            cmd = parse(SubmitTicket, body)
        except Invalid as bad:
            return bad.reply
        now = self.clock.now()
        async with self.pool.acquire() as conn, conn.transaction():
            user = await find_user(conn, cmd.actor.user_id)
            if user is None:
                # Identity's UserRegistered has not reached us yet: a moment's lag.
                return Reply.failure(
                    "unavailable", "Your account is still being set up; try again.", retry_after=1
                )
            ticket = Ticket.submit(
                ticket_id=uuid4(),
                number=await next_number(conn, now),
                requester=user.contact,
                subject=cmd.subject,
                description=cmd.description,
                priority=cmd.priority,
                category=cmd.category,
                policy=self.policy,
                now=now,
            )
            await self._save(conn, ticket, cmd.actor)
        log.info(
            "ticket submitted",
            ticket_id=str(ticket.ticket_id),
            number=ticket.number,
            priority=ticket.priority.value,
            queue=ticket.queue,
        )
        return Reply.success(
            Submitted(
                ticket_id=ticket.ticket_id,
                number=ticket.number,
                status=ticket.status,
                priority=ticket.priority,
                queue=ticket.queue,
                first_response_due=ticket.sla.first_response_due,
                resolution_due=ticket.sla.resolution_due,
            )
        )

    async def add_message(self, body: Any) -> Reply[Any]:
        try:
            cmd = parse(AddMessage, body)
        except Invalid as bad:
            return bad.reply

        def decide(ticket: Ticket, caller: Caller, now: datetime) -> MessageAdded:
            event = ticket.add_message(
                caller, body=cmd.body, internal=cmd.internal, policy=self.policy, now=now
            )
            return MessageAdded(
                ticket_id=ticket.ticket_id, message_id=event.message_id, status=ticket.status
            )

        return await self._change(cmd.actor, cmd.ticket_id, decide)

    async def change_status(self, body: Any) -> Reply[Any]:
        try:
            cmd = parse(ChangeStatus, body)
        except Invalid as bad:
            return bad.reply

        def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
            ticket.change_status(caller, cmd.status, policy=self.policy, now=now)
            return summary_of(ticket)

        return await self._change(cmd.actor, cmd.ticket_id, decide)

    async def change_priority(self, body: Any) -> Reply[Any]:
        try:
            cmd = parse(ChangePriority, body)
        except Invalid as bad:
            return bad.reply

        def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
            ticket.change_priority(caller, cmd.priority, policy=self.policy, now=now)
            return summary_of(ticket)

        return await self._change(cmd.actor, cmd.ticket_id, decide)

    async def assign(self, body: Any) -> Reply[Any]:
        try:
            cmd = parse(AssignTicket, body)
        except Invalid as bad:
            return bad.reply
        assignee_id = cmd.assignee_id or cmd.actor.user_id
        async with self.pool.acquire() as conn:
            user = await find_user(conn, assignee_id)
        if (
            cmd.assignee_id is not None
            and cmd.assignee_id != cmd.actor.user_id
            and (user is None or not user.is_agent)
        ):
            error = InvalidAssignee("tickets can only be assigned to agents")
            return Reply.failure(
                error.code,
                error.message,
                field_errors=[FieldError(field="assignee_id", message="not an agent")],
            )
        assignee = user.contact if user else Contact(user_id=assignee_id)

        def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
            ticket.assign(caller, assignee, reassign=cmd.reassign, policy=self.policy, now=now)
            return summary_of(ticket)

        return await self._change(cmd.actor, cmd.ticket_id, decide)

    # --- queries ---------------------------------------------------------------------------

    async def get(self, body: Any) -> Reply[Any]:
        try:
            query = parse(GetTicket, body)
        except Invalid as bad:
            return bad.reply
        async with self.pool.acquire() as conn:
            caller = await self._caller(conn, query.actor)
            ticket = await self.repository.load(conn, query.ticket_id)
        try:
            ticket.ensure_visible_to(caller)
        except TicketError as exc:
            return Reply.failure(exc.code, exc.message)
        return Reply.success(detail_of(ticket, for_agent=caller.is_agent))

    async def list(self, body: Any) -> Reply[Any]:
        try:
            query = parse(ListTickets, body)
        except Invalid as bad:
            return bad.reply
        offset = _decode_cursor(query.cursor)
        if offset is None:
            return Reply.failure(
                "validation_error",
                "Some fields are invalid.",
                field_errors=[FieldError(field="cursor", message="not a cursor from this API")],
            )
        where: list[str] = []
        args: list[Any] = []

        def param(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if not query.actor.is_agent:
            where.append(f"requester_id = {param(query.actor.user_id)}")
            order = "created_at DESC, number DESC"
        else:
            order = "next_due NULLS LAST, created_at, number"
            if query.queue:
                where.append(f"queue = {param(query.queue)}")
            if query.assignee_id:
                where.append(f"assignee_id = {param(query.assignee_id)}")
            if query.unassigned:
                where.append("assignee_id IS NULL")
            if query.status is None:
                where.append("status <> 'closed'")  # the working queue
        if query.priority:
            where.append(f"priority = {param(query.priority.value)}")
        if query.status:
            where.append(f"status = {param(query.status.value)}")
        sql = (
            "SELECT * FROM tickets"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY {order} LIMIT {param(query.limit + 1)} OFFSET {param(offset)}"
        )
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(sql, *args)
        items = [_summary_row(r) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        next_cursor = _encode_cursor(offset + query.limit) if more else None
        return Reply.success(TicketList(items=items, next_cursor=next_cursor))

    async def priorities(self, body: Any) -> Reply[Any]:
        items = []
        for priority in Priority:
            route = self.policy.route(priority)
            targets = self.policy.targets(priority)
            texts = PRIORITY_TEXT[priority]
            items.append(
                PriorityInfo(
                    key=priority,
                    label={locale: t.label for locale, t in texts.items()},
                    description={locale: t.description for locale, t in texts.items()},
                    queue=route.queue,
                    page=route.page,
                    sla=SlaTargetInfo(
                        first_response_minutes=round(targets.first_response / 60),
                        resolution_minutes=round(targets.resolution / 60),
                        clock=route.clock,
                        first_response=route.first_response,
                        resolution=route.resolution,
                    ),
                )
            )
        return Reply.success(PriorityList(items=items))

    # --- plumbing --------------------------------------------------------------------------

    async def _caller(self, conn: Connection, actor: Actor) -> Caller:
        return Caller(contact=await contact_of(conn, actor.user_id), is_agent=actor.is_agent)

    async def _save(self, conn: Connection, ticket: Ticket, actor: Actor | None) -> None:
        await self.repository.save(
            conn,
            ticket,
            correlation_id=current_correlation_id(),
            actor_id=actor.user_id if actor else None,
        )

    async def _change(
        self,
        actor: Actor,
        ticket_id: UUID,
        decide: Callable[[Ticket, Caller, datetime], BaseModel],
    ) -> Reply[Any]:
        for _ in range(MAX_ATTEMPTS):
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    caller = await self._caller(conn, actor)
                    ticket = await self.repository.load(conn, ticket_id)
                    result = decide(ticket, caller, self.clock.now())
                    await self._save(conn, ticket, actor)
                return Reply.success(result)
            except TicketError as exc:
                return Reply.failure(exc.code, exc.message)
            except ConcurrencyError:
                log.info("ticket changed concurrently; retrying", ticket_id=str(ticket_id))
        return Reply.failure("conflict", "The ticket is changing too fast; try again.")


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        offset = int(value)
    except ValueError:
        return None
    return offset if kind == "o" and offset >= 0 else None


def _summary_row(row: asyncpg.Record) -> TicketSummary:
    assignee = None
    if row["assignee_id"]:
        assignee = Person(user_id=row["assignee_id"], name=row["assignee_name"])
    return TicketSummary(
        ticket_id=row["ticket_id"],
        number=row["number"],
        subject=row["subject"],
        status=row["status"],
        priority=row["priority"],
        category=row["category"],
        queue=row["queue"],
        requester=Person(user_id=row["requester_id"], name=row["requester_name"]),
        assignee=assignee,
        first_response_due=row["first_response_due"],
        resolution_due=row["resolution_due"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def _person(contact: Contact | None) -> Person | None:
    return Person(user_id=contact.user_id, name=contact.name) if contact else None


def summary_of(ticket: Ticket) -> TicketSummary:
    assert ticket.requester is not None
    assert ticket.created_at is not None
    assert ticket.updated_at is not None
    return TicketSummary(
        ticket_id=ticket.ticket_id,
        number=ticket.number,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        category=ticket.category,
        queue=ticket.queue,
        requester=Person(user_id=ticket.requester.user_id, name=ticket.requester.name),
        assignee=_person(ticket.assignee),
        first_response_due=ticket.sla.first_response_due,
        resolution_due=ticket.sla.resolution_due,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        version=ticket.version + len(ticket.pending),
    )


def detail_of(ticket: Ticket, *, for_agent: bool) -> TicketDetail:
    """The ticket with its timeline; customers see neither internal notes nor SLA alarms."""
    names: dict[UUID, Contact] = {}
    for event in ticket.history:
        for contact in _contacts_in(event):
            names[contact.user_id] = contact

    def by(user_id: UUID) -> Person:
        return _person(names.get(user_id)) or Person(user_id=user_id)

    timeline: list[TimelineEntry] = []
    for event in ticket.history:
        if isinstance(event, AGENT_ONLY_EVENTS) and not for_agent:
            continue
        entry = _timeline_entry(event, by)
        if entry.internal and not for_agent:
            continue
        timeline.append(entry)
    return TicketDetail(
        **summary_of(ticket).model_dump(),
        description=ticket.description,
        first_responded_at=ticket.first_responded_at,
        timeline=timeline,
    )


def _contacts_in(event: TicketEvent) -> list[Contact]:
    found = []
    for attr in ("requester", "author", "assignee"):
        value = getattr(event, attr, None)
        if isinstance(value, Contact):
            found.append(value)
    return found


def _timeline_entry(event: TicketEvent, by: Callable[[UUID], Person]) -> TimelineEntry:
    base: dict[str, Any] = {"at": event.at, "kind": event.event_type}
    if isinstance(event, TicketSubmitted):
        return TimelineEntry(
            **base,
            author=by(event.requester.user_id),
            body=event.description,
            details={
                "priority": event.priority.value,
                "queue": event.queue,
                "category": event.category.value if event.category else None,
            },
        )
    if isinstance(event, TicketMessageAdded):
        return TimelineEntry(
            **base,
            author=by(event.author.user_id),
            body=event.body,
            internal=event.internal,
            details={"status": event.status.value},
        )
    if isinstance(event, TicketStatusChanged):
        return TimelineEntry(
            **base,
            author=by(event.by),
            details={"from": event.from_status.value, "to": event.to_status.value},
        )
    if isinstance(event, TicketPriorityChanged):
        return TimelineEntry(
            **base,
            author=by(event.by),
            details={
                "from": event.from_priority.value,
                "to": event.priority.value,
                "queue": event.queue,
            },
        )
    if isinstance(event, TicketAssigned):
        return TimelineEntry(
            **base,
            author=by(event.by),
            details={
                "assignee": event.assignee.name or str(event.assignee.user_id),
                "assignee_id": str(event.assignee.user_id),
            },
        )
    if isinstance(event, TicketSlaWarning | TicketSlaBreached):
        return TimelineEntry(
            **base, details={"target": event.target.value, "due_at": event.due_at.isoformat()}
        )
    return TimelineEntry(**base)


__all__ = ["TicketService", "TicketStatus", "detail_of", "summary_of"]
