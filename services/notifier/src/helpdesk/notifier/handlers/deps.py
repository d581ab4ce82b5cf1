"""What the notifier's handlers need, as ports: the outbox of the event being
handled, the portal's links, the thread headers of a ticket, the opener of
sealed tokens, the signer of rating links, the queues' names, an erasure's
scrub and a few settings. `bootstrap.py` binds the
real adapters per event; use-case tests (`tests/unit/notifier/fakes.py`) pass
in-memory ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.tickets import Contact, TicketEvent
from helpdesk.notifier.domain.files import MailFile
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.notifier.domain.texts import ONCALL_LOCALE, locale_of
from helpdesk.servicekit.clock import Clock


class Outbox(Protocol):
    """Records a mail of the event being handled; False if it already was."""

    async def mail(self, mail: OutgoingMail) -> bool: ...


class Links(Protocol):
    def link(self, locale: str, page: str) -> str:
        """An absolute link to a portal page in `locale`."""
        ...


class Erasure(Protocol):
    """Scrubs, in one transaction, what the notifier stores of a person in plaintext
    (adapters/erasure.py)."""

    async def scrub(self, person_id: UUID) -> object: ...


@dataclass(frozen=True)
class ErasureDeps:
    """What the handler of PersonalDataErased needs besides the event."""

    store: Erasure  # on the event's connection
    key_cache_seconds: float  # HELPDESK_PRIVACY_KEY_CACHE_SECONDS: how long to wait
    clock: Clock


class TokenOpener(Protocol):
    def open(self, sealed: str) -> str:
        """The raw token sealed for the notifier (`Unsealable` if no key opens it)."""
        ...


class LinkSigner(Protocol):
    def sign(self, payload: bytes) -> str:
        """A token carrying `payload` that the tickets service can verify
        (servicekit.privacy.SignedTokens under the rating links' key)."""
        ...


class QueueNames(Protocol):
    def label(self, queue: str, locale: str) -> str:
        """The queue's name for people in `locale` (the routing policy's label), or
        its key when no name is known; never waits (adapters/queue_names.py)."""
        ...


@dataclass(frozen=True)
class Deps:
    outbox: Outbox  # the mails of the event being handled
    links: Links
    received: EventEnvelope  # the event's metadata: when it happened, schema-1 tokens
    opener: TokenOpener
    oncall: str  # HELPDESK_ONCALL_EMAIL
    attachment_budget: int  # HELPDESK_MAIL_ATTACHMENT_MAX_BYTES
    thread_headers: Callable[[UUID], dict[str, str]]  # a ticket's Reply-To and thread
    queue_names: QueueNames
    rating_links: LinkSigner | None  # None without HELPDESK_PRIVACY_KEK: the page's #rate
    erasure: ErasureDeps | None = None  # bound for the identity events (tests of mails: None)

    @property
    def occurred_at(self) -> datetime:
        return self.received.occurred_at

    def link(self, locale: str, page: str) -> str:
        return self.links.link(locale, page)

    def ticket_link(self, locale: str, ticket_id: UUID) -> str:
        return self.links.link(locale, f"tickets/{ticket_id}")

    def queue_label(self, queue: str, locale: str) -> str:
        return self.queue_names.label(queue, locale)

    def ticket_facts(self, event: TicketEvent, subject: str | None, locale: str) -> dict[str, Any]:
        """What every mail about a ticket says of it: number, subject (`subject_line`,
        which each event type declares itself), link in `locale`."""
        return {
            "number": event.number,
            "subject": subject or "",
            "link": self.ticket_link(locale, event.ticket_id),
        }

    async def mail_about_ticket(
        self,
        contact: Contact,
        template: str,
        event: TicketEvent,
        subject: str | None,
        context: Callable[[str], dict[str, Any]],
        *,
        thread: bool = True,
    ) -> bool:
        """Mail `contact` about the ticket of `event`: by name, with its `ticket_facts` and
        `context(locale)`; `thread` (unless False) so that an answer lands on the ticket."""
        return await self.mail_contact(
            contact,
            template,
            lambda locale: {
                **self.ticket_facts(event, subject, locale),
                "name": contact.name or "",
                **context(locale),
            },
            thread=event.ticket_id if thread else None,
        )

    async def mail_oncall(self, template: str, context: dict[str, Any]) -> bool:
        """Mail the on-call address (HELPDESK_ONCALL_EMAIL), in the service desk's Greek."""
        return await self.outbox.mail(
            OutgoingMail(to=self.oncall, template=template, locale=ONCALL_LOCALE, context=context)
        )

    async def mail_contact(
        self,
        contact: Contact,
        template: str,
        context: Callable[[str], dict[str, Any]],
        *,
        thread: UUID | None = None,
        attachments: Callable[[str], tuple[MailFile, ...]] | None = None,
    ) -> bool:
        """Mail `contact` in their language (nothing without an address):
        `context(locale)` and `attachments(locale)` are made for that language;
        `thread` adds the ticket's thread headers, so an answer threads to it."""
        if not contact.email:
            return False
        locale = locale_of(contact)
        return await self.outbox.mail(
            OutgoingMail(
                to=contact.email,
                to_name=contact.name,
                template=template,
                locale=locale,
                context=context(locale),
                headers=self.thread_headers(thread) if thread is not None else None,
                attachments=attachments(locale) if attachments is not None else (),
            )
        )
