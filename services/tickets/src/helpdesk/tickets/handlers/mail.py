"""What a mail becomes: the requests of the mail gateway (`tickets.mail.*`).

A mail carries no access token. The sender is named by address and found in
the users projection (active users only); the proof that the request comes
from the mail gateway is the NATS identity allowed to publish these subjects
(docs/security.md). Whether the sender is an agent therefore comes from the
projection here — the one place it does (`domain/caller.py` explains why the
token is preferred everywhere else).

Each mail is handled once: its Message-ID (`mail_id`) and what it became are
stored in the same transaction as the ticket's events, and a second delivery
gets the first answer back without a second effect.
"""

from __future__ import annotations

from uuid import UUID

from helpdesk.contracts import tickets as contract
from helpdesk.contracts.attachments import (
    AttachFromMail,
    FilesAttached,
    RefusedFile,
    StoredFile,
)
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import Category, Channel, ReplyFromMail, SubmitFromMail, Submitted
from helpdesk.servicekit.handlers import retry_on_conflict
from helpdesk.servicekit.logging import get_logger
from helpdesk.tickets.domain.attachments import total_bytes
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.errors import TicketNotFound
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.commands import open_ticket
from helpdesk.tickets.handlers.deps import Deps, KnownUser, Table, UnitOfWork

log = get_logger(__name__)


class UnknownSender(Refused):
    """No active user has the sender's address: the mailgate explains how to register."""

    code = "unknown_sender"
    default_message = "no active account has this address"


class NotParticipant(Refused):
    """The mail answers a ticket, but its sender is neither the requester nor an agent."""

    code = "not_participant"
    default_message = "only the requester and agents may add to this ticket by mail"


async def _sender(uow: UnitOfWork, address: str) -> KnownUser:
    user = await uow.users.active_by_email(address)
    if user is None:
        raise UnknownSender()
    return user


async def _participant(
    uow: UnitOfWork, sender: KnownUser, ticket_id: UUID
) -> tuple[Ticket, Caller]:
    """The ticket a mail adds to, and its sender as the caller: the ticket's
    requester or an agent, nobody else."""
    ticket = await uow.tickets.get(ticket_id)
    if not ticket.exists:
        raise TicketNotFound()
    caller = Caller(contact=sender.contact, is_agent=sender.is_agent)
    assert ticket.requester is not None
    if not caller.is_agent and ticket.requester.user_id != caller.user_id:
        raise NotParticipant()
    return ticket, caller


async def submit_from_mail(cmd: SubmitFromMail, deps: Deps) -> Submitted:
    """A new ticket from a mail that answers no thread: normal priority, category other."""
    async with deps.uow() as uow:
        seen = await uow.mail_log.result_of(cmd.mail_id)
        if seen is not None:
            return Submitted.model_validate(seen)
        requester = await _sender(uow, cmd.sender)
        now = deps.clock.now()
        ticket, result = await open_ticket(
            uow,
            deps,
            requester=requester.contact,
            subject=cmd.subject,
            description=cmd.description,
            priority=Priority.NORMAL,
            category=Category.OTHER,
            now=now,
            channel=Channel.MAIL,
        )
        # The mailgate keeps the mail under its sender's id, to scrub it on erasure.
        result = result.model_copy(update={"requester_id": requester.contact.user_id})
        await uow.mail_log.record(cmd.mail_id, ticket.ticket_id, result)
        await uow.commit()
    log.info("ticket submitted by mail", ticket_id=str(ticket.ticket_id), number=ticket.number)
    return result


async def reply_from_mail(cmd: ReplyFromMail, deps: Deps) -> contract.MessageAdded:
    """A public message on the ticket the mail answers, by its requester or an agent
    (an agent's first one stops the first-response clock; the requester's reopens a
    pending or resolved ticket, as a portal reply does)."""

    async def attempt() -> contract.MessageAdded:
        async with deps.uow() as uow:
            seen = await uow.mail_log.result_of(cmd.mail_id)
            if seen is not None:
                return contract.MessageAdded.model_validate(seen)
            sender = await _sender(uow, cmd.sender)
            ticket_id = cmd.ticket_id
            if ticket_id is None and cmd.number is not None:
                ticket_id = await uow.tickets.id_of_number(cmd.number)
            if ticket_id is None:
                raise TicketNotFound()
            ticket, caller = await _participant(uow, sender, ticket_id)
            event = ticket.add_message(
                caller, body=cmd.body, internal=False, policy=deps.policy, now=deps.clock.now()
            )
            await uow.tickets.save(ticket, by=caller.user_id)
            assert ticket.requester is not None
            result = contract.MessageAdded(
                ticket_id=ticket.ticket_id,
                message_id=event.message_id,
                status=ticket.status,
                author_id=caller.user_id,  # the mailgate scrubs the mail with either
                requester_id=ticket.requester.user_id,
            )
            await uow.mail_log.record(cmd.mail_id, ticket.ticket_id, result)
            await uow.commit()
        log.info("mail added to ticket", ticket_id=str(ticket.ticket_id), by_agent=caller.is_agent)
        return result

    return await retry_on_conflict(attempt)


def _fitting(
    ticket: Ticket, files: list[StoredFile], max_total: int
) -> tuple[list[StoredFile], list[RefusedFile]]:
    """The files the ticket takes, in the mail's order, and those past its total."""
    if ticket.status is contract.TicketStatus.CLOSED:
        closed = "the ticket is closed"
        return [], [
            RefusedFile(name=f.original_name, code="ticket_closed", detail=closed, size=f.size)
            for f in files
        ]
    room = max_total - total_bytes(ticket.attachments)
    taken: list[StoredFile] = []
    full: list[RefusedFile] = []
    for file in files:
        if file.attachment_id in ticket.attachments:
            continue  # recorded by an earlier attempt
        if file.size <= room:
            taken.append(file)
            room -= file.size
        else:
            detail = f"the ticket's attachments may total at most {max_total} bytes"
            full.append(
                RefusedFile(
                    name=file.original_name,
                    code="ticket_attachments_full",
                    detail=detail,
                    size=file.size,
                )
            )
    return taken, full


async def attach_from_mail(cmd: AttachFromMail, deps: Deps) -> FilesAttached:
    """The files of a mail that became a ticket or a message: the ones the ticket takes
    are recorded (as a portal upload's are), the others are named on the timeline
    (`TicketAttachmentsRefused`, which the notifier explains to the sender)."""
    key = f"files:{cmd.mail_id}"

    async def attempt() -> FilesAttached:
        async with deps.uow() as uow:
            seen = await uow.mail_log.result_of(key)
            if seen is not None:
                return FilesAttached.model_validate(seen)
            sender = await _sender(uow, cmd.sender)
            ticket, caller = await _participant(uow, sender, cmd.ticket_id)
            now = deps.clock.now()
            taken, full = _fitting(ticket, cmd.files, deps.attachment_ticket_max_bytes)
            if taken:
                ticket.add_attachments(
                    caller,
                    taken,
                    internal=False,
                    message_id=cmd.message_id,
                    max_total=deps.attachment_ticket_max_bytes,
                    now=now,
                )
            refused = [*cmd.refused, *full]
            ticket.refuse_files(caller, refused, message_id=cmd.message_id, now=now)
            if ticket.pending:
                await uow.tickets.save(ticket, by=caller.user_id)
            result = FilesAttached(
                ticket_id=ticket.ticket_id,
                added=[f.attachment_id for f in taken],
                refused=refused,
            )
            await uow.mail_log.record(key, ticket.ticket_id, result)
            await uow.commit()
        log.info(
            "mail files attached",
            ticket_id=str(cmd.ticket_id),
            added=len(result.added),
            refused=len(result.refused),
        )
        return result

    return await retry_on_conflict(attempt)


MAIL: Table = {
    SubmitFromMail: submit_from_mail,
    ReplyFromMail: reply_from_mail,
    AttachFromMail: attach_from_mail,
}
