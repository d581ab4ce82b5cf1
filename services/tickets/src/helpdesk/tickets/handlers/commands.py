"""The tickets service's commands: load the ticket, let it decide, save its events.

Each handler returns its result or raises `Refused` (the domain's errors
derive from it); the kit turns either into the reply. A concurrent writer
makes the save fail, and the attempt runs again on the fresh state
(`retry_on_conflict`) — which is how the loser of two simultaneous assigns
gets 409 `already_assigned`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID, uuid4

from pydantic import BaseModel

from helpdesk.contracts.actors import Actor
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    AddMessage,
    AssignTicket,
    Category,
    ChangePriority,
    ChangeStatus,
    Channel,
    Contact,
    MessageAdded,
    RateByLink,
    Rated,
    RateTicket,
    ReopenTicket,
    Submitted,
    SubmitTicket,
    TicketSummary,
    UnassignTicket,
    UpdateTicket,
)
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.errors import Forbidden
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.deps import Deps, Table, UnitOfWork, caller_of, rating_link_of
from helpdesk.tickets.handlers.views import summary_of

log = get_logger(__name__)

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


class AccountNotReady(Refused):
    """Identity's `UserRegistered` has not reached the users projection yet: a moment's lag."""

    code = "unavailable"

    def __init__(self) -> None:
        super().__init__("Your account is still being set up; try again.", retry_after=1)


@dataclass(frozen=True)
class Once:
    """A command sent with an `Idempotency-Key`: its first answer is replayed."""

    user_id: UUID
    key: str
    fingerprint: str

    @classmethod
    def of(cls, cmd: SubmitTicket | AddMessage | UpdateTicket) -> Once | None:
        if cmd.idempotency_key is None:
            return None
        # What the request asked for, without who asked or the key itself.
        asked = cmd.model_dump_json(exclude={"actor", "idempotency_key"})
        fingerprint = hashlib.sha256(f"{cmd.verb}\n{asked}".encode()).hexdigest()
        return cls(cmd.actor.user_id, cmd.idempotency_key, fingerprint)

    async def replay(self, uow: UnitOfWork, result_type: type[M]) -> M | None:
        answer = await uow.answers.first(self.user_id, self.key, self.fingerprint)
        return None if answer is None else result_type.model_validate(answer)

    async def remember(self, uow: UnitOfWork, result: BaseModel) -> None:
        await uow.answers.remember(self.user_id, self.key, result.model_dump(mode="json"))


async def open_ticket(
    uow: UnitOfWork,
    deps: Deps,
    *,
    requester: Contact,
    subject: str,
    description: str,
    priority: Priority,
    category: Category | None,
    now: datetime,
    number: str | None = None,
    channel: Channel = Channel.PORTAL,
    opened_by: Contact | None = None,
) -> tuple[Ticket, Submitted]:
    """Number (unless taken already), route and save a new ticket in `uow` (from
    the portal, the API or a mail)."""
    ticket = Ticket.submit(
        ticket_id=uuid4(),
        number=number or await uow.numbers.next(now),
        requester=requester,
        subject=subject,
        description=description,
        priority=priority,
        category=category,
        policy=deps.policy,
        now=now,
        channel=channel,
        opened_by=opened_by,
    )
    await uow.tickets.save(ticket, by=(opened_by or requester).user_id)
    return ticket, Submitted(
        ticket_id=ticket.ticket_id,
        number=ticket.number,
        status=ticket.status,
        priority=ticket.priority,
        queue=ticket.queue,
        first_response_due=ticket.sla.first_response_due,
        resolution_due=ticket.sla.resolution_due,
    )


async def submit(cmd: SubmitTicket, deps: Deps) -> Submitted:
    now, once = deps.clock.now(), Once.of(cmd)
    # Without a key the submit is one statement; a key's claim must be visible to
    # a concurrent retry before the ticket is written, which takes a transaction.
    async with deps.uow(one_statement=once is None) as uow:
        if once and (first := await once.replay(uow, Submitted)) is not None:
            log.info("submit replayed for its Idempotency-Key", ticket_id=str(first.ticket_id))
            return first
        agent = await _on_behalf_of(uow, cmd) if cmd.requester is not None else None
        requester_id = agent[0] if agent else cmd.actor.user_id
        requester, number = await uow.numbers.next_with_requester(requester_id, now)
        if requester is None:
            raise AccountNotReady()
        ticket, submitted = await open_ticket(
            uow,
            deps,
            number=number,
            requester=requester.contact,
            subject=cmd.subject,
            description=cmd.description,
            priority=cmd.priority,
            category=cmd.category,
            now=now,
            channel=Channel.AGENT if agent else Channel.PORTAL,
            opened_by=agent[1] if agent else None,
        )
        if once:
            await once.remember(uow, submitted)
        await uow.commit()
    log.info(
        "ticket submitted",
        ticket_id=str(ticket.ticket_id),
        number=ticket.number,
        priority=ticket.priority.value,
        queue=ticket.queue,
    )
    return submitted


class RequesterNotFound(Refused):
    code = "not_found"
    default_message = "no active user has this username or e-mail address"
    field_error = ("requester", "no such active user")


async def _on_behalf_of(uow: UnitOfWork, cmd: SubmitTicket) -> tuple[UUID, Contact]:
    """An agent opens a ticket for `cmd.requester` (a username or an e-mail address):
    that user's id and the agent's contact. Customers may not (403); an unknown or
    inactive user is 404 `not_found` on the field."""
    caller = await caller_of(uow, cmd.actor)
    if not caller.is_agent:
        raise Forbidden("only agents may open a ticket for someone else")
    found = await uow.users.active_by_login(cmd.requester or "")
    if found is None:
        raise RequesterNotFound()
    return found.contact.user_id, caller.contact


async def add_message(cmd: AddMessage, deps: Deps) -> MessageAdded:
    def decide(ticket: Ticket, caller: Caller, now: datetime) -> MessageAdded:
        event = ticket.add_message(
            caller,
            body=cmd.body,
            internal=cmd.internal,
            policy=deps.policy,
            now=now,
            stored=cmd.files,
            max_total=deps.attachment_ticket_max_bytes,
        )
        return MessageAdded(
            ticket_id=ticket.ticket_id, message_id=event.message_id, status=ticket.status
        )

    return await _change(
        deps, cmd.actor, cmd.ticket_id, decide, once=Once.of(cmd), result_type=MessageAdded
    )


async def change_status(cmd: ChangeStatus, deps: Deps) -> TicketSummary:
    def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
        ticket.change_status(caller, cmd.status, policy=deps.policy, now=now)
        return summary_of(ticket)

    return await _change(deps, cmd.actor, cmd.ticket_id, decide)


async def change_priority(cmd: ChangePriority, deps: Deps) -> TicketSummary:
    def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
        ticket.change_priority(caller, cmd.priority, policy=deps.policy, now=now)
        return summary_of(ticket)

    return await _change(deps, cmd.actor, cmd.ticket_id, decide)


@dataclass
class Assignee:
    """Whom an assignment names, as far as the users projection can say (whether
    someone else is an agent: see `domain/caller.py`); a colleague must also be a
    member of the ticket's queue, if it has members (`read` in the command's unit)."""

    contact: Contact
    is_agent: bool
    colleague: bool
    members: list[UUID] = field(default_factory=list)

    @classmethod
    async def named(cls, deps: Deps, actor: Actor, assignee_id: UUID | None) -> Assignee:
        wanted = assignee_id or actor.user_id
        async with deps.uow() as uow:
            known = await uow.users.get(wanted)
        contact = known.contact if known else Contact(user_id=wanted)
        if wanted == actor.user_id:  # the caller: their token says
            return cls(contact, actor.is_agent, colleague=False)
        return cls(contact, known is not None and known.is_agent, colleague=True)

    async def read(self, uow: UnitOfWork, ticket: Ticket) -> None:
        if self.colleague and ticket.exists:
            self.members[:] = await uow.agents.member_ids(ticket.queue)

    def assign(
        self,
        ticket: Ticket,
        caller: Caller,
        *,
        reassign: bool,
        note: str | None,
        policy: RoutingPolicy,
        now: datetime,
    ) -> None:
        ticket.assign(
            caller,
            self.contact,
            assignee_is_agent=self.is_agent,
            reassign=reassign,
            policy=policy,
            now=now,
            queue_members=self.members,
            note=note,
        )


async def assign(cmd: AssignTicket, deps: Deps) -> TicketSummary:
    """To `assignee_id`, or to the caller (see `Assignee`)."""
    assignee = await Assignee.named(deps, cmd.actor, cmd.assignee_id)

    def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
        assignee.assign(
            ticket, caller, reassign=cmd.reassign, note=cmd.reason, policy=deps.policy, now=now
        )
        return summary_of(ticket)

    return await _change(deps, cmd.actor, cmd.ticket_id, decide, read=assignee.read)


async def update(cmd: UpdateTicket, deps: Deps) -> TicketSummary:
    """The composer: the message first (an agent's first reply opens a submitted
    ticket), then priority, assignee and status, each by its own rule, saved as one
    batch — a refused part refuses the whole (docs/workspace.md)."""
    assignee = await Assignee.named(deps, cmd.actor, cmd.assignee_id) if cmd.assignee_id else None

    async def read(uow: UnitOfWork, ticket: Ticket) -> None:
        if assignee is not None:
            await assignee.read(uow, ticket)

    def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
        policy = deps.policy
        if cmd.body is not None:
            ticket.add_message(
                caller,
                body=cmd.body,
                internal=cmd.internal,
                policy=policy,
                now=now,
                stored=cmd.files,
                max_total=deps.attachment_ticket_max_bytes,
            )
        if cmd.priority is not None:
            ticket.change_priority(caller, cmd.priority, policy=policy, now=now)
        if assignee is not None:
            assignee.assign(ticket, caller, reassign=True, note=cmd.reason, policy=policy, now=now)
        elif cmd.unassign:
            ticket.return_to_queue(caller, note=cmd.reason, now=now)
        if cmd.status is not None and cmd.status is not ticket.status:
            ticket.change_status(caller, cmd.status, policy=policy, now=now)
        return summary_of(ticket)

    return await _change(
        deps,
        cmd.actor,
        cmd.ticket_id,
        decide,
        once=Once.of(cmd),
        result_type=TicketSummary,
        read=read,
    )


async def reopen(cmd: ReopenTicket, deps: Deps) -> TicketSummary:
    def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
        ticket.reopen(caller, note=cmd.reason, policy=deps.policy, now=now)
        return summary_of(ticket)

    return await _change(deps, cmd.actor, cmd.ticket_id, decide)


async def rate(cmd: RateTicket, deps: Deps) -> Rated:
    def decide(ticket: Ticket, caller: Caller, now: datetime) -> Rated:
        event = ticket.rate(caller, rating=cmd.rating, comment=cmd.comment, now=now)
        return Rated(ticket_id=ticket.ticket_id, rating=event.rating, resolution=event.resolution)

    return await _change(deps, cmd.actor, cmd.ticket_id, decide)


async def rate_by_link(cmd: RateByLink, deps: Deps) -> Rated:
    """The signed link of a resolution mail rates as its requester, without a sign-in:
    the resolution it names, if it is still the latest and not rated (docs/workspace.md)."""
    link, requester = rating_link_of(deps, cmd.token)

    def decide(ticket: Ticket, caller: Caller, now: datetime) -> Rated:
        ticket.check_rating_link(link.requester_id, link.resolution)
        event = ticket.rate(caller, rating=cmd.rating, comment=cmd.comment, now=now)
        return Rated(ticket_id=ticket.ticket_id, rating=event.rating, resolution=event.resolution)

    return await _change(deps, requester, link.ticket_id, decide)


async def unassign(cmd: UnassignTicket, deps: Deps) -> TicketSummary:
    def decide(ticket: Ticket, caller: Caller, now: datetime) -> TicketSummary:
        ticket.return_to_queue(caller, note=cmd.reason, now=now)
        return summary_of(ticket)

    return await _change(deps, cmd.actor, cmd.ticket_id, decide)


async def _change(
    deps: Deps,
    actor: Actor,
    ticket_id: UUID,
    decide: Callable[[Ticket, Caller, datetime], R],
    *,
    once: Once | None = None,
    result_type: type[BaseModel] | None = None,
    read: Callable[[UnitOfWork, Ticket], Awaitable[None]] | None = None,
) -> R:
    """Load the ticket, let `decide` run one of its commands, save what it recorded
    (or, for a command with an `Idempotency-Key` already answered, that answer).
    `read` gathers, in the same transaction, what `decide` needs besides the ticket."""

    async def attempt() -> R:
        async with deps.uow() as uow:
            if once and result_type:
                first = await once.replay(uow, result_type)
                if first is not None:
                    return cast(R, first)
            caller = await caller_of(uow, actor)
            ticket = await uow.tickets.get(ticket_id)
            if read is not None:
                await read(uow, ticket)
            result = decide(ticket, caller, deps.clock.now())
            await uow.tickets.save(ticket, by=actor.user_id)
            if once and isinstance(result, BaseModel):
                await once.remember(uow, result)
            await uow.commit()
        return result

    return await retry_on_conflict(attempt)


COMMANDS: Table = {
    SubmitTicket: submit,
    AddMessage: add_message,
    ChangeStatus: change_status,
    ChangePriority: change_priority,
    AssignTicket: assign,
    UnassignTicket: unassign,
    UpdateTicket: update,
    ReopenTicket: reopen,
    RateTicket: rate,
    RateByLink: rate_by_link,
}
