"""Mails about files: an agent's files to the requester (a reply's files go
with the reply's own mail: `mail_files`, used by tickets.on_message_added), and
to the sender of a mail, the files that were not taken and why (issue 26).

Internal notes' files and the requester's own files send nothing. The delivery
row stores references (SHA-256, name, type); the sender puts the bytes in when
it sends (`adapters/mail_files.py`), so an object store outage delays the mail
(retried like an SMTP outage), never drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from helpdesk.contracts.attachments import (
    StoredFile,
    TicketAttachmentsAdded,
    TicketAttachmentsRefused,
)
from helpdesk.contracts.tickets import Contact
from helpdesk.notifier.domain.files import MailFile, split_by_budget
from helpdesk.notifier.domain.texts import reason_text
from helpdesk.notifier.handlers.deps import Deps


def mail_files(
    deps: Deps, stored: Sequence[StoredFile], ticket_id: UUID, locale: str
) -> tuple[list[MailFile], list[tuple[str, str]]]:
    """The files a mail carries, up to the budget, and (name, portal link) of the rest."""
    return split_by_budget(
        stored,
        deps.attachment_budget,
        lambda f: deps.link(locale, f"tickets/{ticket_id}/attachments/{f.attachment_id}"),
    )


async def mail_with_files(
    deps: Deps,
    contact: Contact,
    template: str,
    context: dict[str, Any],
    stored: Sequence[StoredFile],
    ticket_id: UUID,
) -> None:
    """Mail `contact` about ticket `ticket_id` with `stored` files: attached up to the
    budget, linked beyond it; threaded, so that answering it lands on the ticket."""

    def files(locale: str) -> tuple[list[MailFile], list[tuple[str, str]]]:
        return mail_files(deps, stored, ticket_id, locale)

    await deps.mail_contact(
        contact,
        template,
        lambda locale: {
            **context,
            "attached": [a.file_name for a in files(locale)[0]],
            "linked": files(locale)[1],
            "link": deps.ticket_link(locale, ticket_id),
        },
        thread=ticket_id,
        attachments=lambda locale: tuple(files(locale)[0]),
    )


async def on_files_added(event: TicketAttachmentsAdded, deps: Deps) -> None:
    if event.internal or not event.by_agent or event.with_message:
        return  # a note's, the requester's own, or a reply's (its own mail carries them)
    context = {
        "name": event.requester.name or "",
        "number": event.number,
        "author": event.by.name or "",
    }
    await mail_with_files(
        deps, event.requester, "ticket_files", context, event.files, event.ticket_id
    )


async def on_files_refused(event: TicketAttachmentsRefused, deps: Deps) -> None:
    """The sender is told each refused file and why, in their language."""
    if not event.files:
        return
    await deps.mail_about_ticket(
        event.by,
        "ticket_files_refused",
        event,
        event.subject_line,
        lambda locale: {"files": [(f.name, reason_text(f.code, locale)) for f in event.files]},
    )
