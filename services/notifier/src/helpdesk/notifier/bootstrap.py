"""The notifier's composition root: the durable consumers that turn integration
events into recorded mails (the handlers' tables, bound to the real adapters
per event), and the loops that send them and measure the backlog."""

from __future__ import annotations

from functools import partial

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import TicketEvent
from helpdesk.notifier.adapters.mail_files import MailFiles
from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.adapters.outbox import QueuedMails
from helpdesk.notifier.adapters.queue import MailQueue
from helpdesk.notifier.adapters.sender import MailSender
from helpdesk.notifier.adapters.smtp import SmtpConnections
from helpdesk.notifier.adapters.threading import thread_headers
from helpdesk.notifier.handlers.assignment import ASSIGNMENT_HANDLERS
from helpdesk.notifier.handlers.deps import Deps
from helpdesk.notifier.handlers.identity import IDENTITY_HANDLERS
from helpdesk.notifier.handlers.tickets import PAGE_HANDLERS, TICKET_HANDLERS
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.blobs import NatsBlobStore
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.events import Delivery, on_events
from helpdesk.servicekit.runtime import Service, ServiceContext
from helpdesk.servicekit.sealing import Opener

# Events of one consumer handled at once: each only records its mails, keyed by
# (event, recipient, template), so a second run adds nothing: no inbox needed.
CONSUMER_WORKERS = 8
IDENTITY_MAILS = "notifier-identity-mails"
TICKET_MAILS = "notifier-ticket-mails"
ASSIGNMENT_MAILS = "notifier-assignment-mails"
PAGE_CONSUMERS = {
    Priority.URGENT: "notifier-page-urgent",
    Priority.CRITICAL: "notifier-page-critical",
}


def deps_factory(mailer: Mailer) -> partial[Deps]:
    """What the handlers get for each event: its outbox and the rest, bound once."""
    settings = mailer.settings
    opener = Opener(settings.seal_private_keys())
    return partial(
        _deps,
        mailer=mailer,
        opener=opener,
        oncall=str(settings.oncall_email),
        budget=settings.mail_attachment_max_bytes,
        threading=partial(thread_headers, settings),
    )


def _deps(
    delivery: Delivery,
    *,
    mailer: Mailer,
    opener: Opener,
    oncall: str,
    budget: int,
    threading: partial[dict[str, str]],
) -> Deps:
    return Deps(
        outbox=QueuedMails(mailer, delivery.conn, delivery.event_id),
        links=mailer,
        received=delivery.envelope,
        opener=opener,
        oncall=oncall,
        attachment_budget=budget,
        thread_headers=threading,
    )


def all_consumers(mailer: Mailer) -> list[EventConsumer]:
    deps = deps_factory(mailer)
    mails = partial(on_events, deps=deps, max_workers=CONSUMER_WORKERS, inbox=False)
    consumers = [
        mails(IDENTITY_MAILS, IDENTITY_HANDLERS),
        mails(TICKET_MAILS, TICKET_HANDLERS),
        mails(ASSIGNMENT_MAILS, ASSIGNMENT_HANDLERS),
    ]
    for priority, name in PAGE_CONSUMERS.items():
        # Subscribed to one priority's subjects only: nothing else reaches them.
        consumers.append(mails(name, PAGE_HANDLERS, subject=TicketEvent.any_with(priority)))
    return consumers


def mail_sender(
    settings: Settings, queue: MailQueue, schema: str, files: MailFiles | None = None
) -> MailSender:
    """The sender of the mails queued in `schema` (NOTIFY channel `<schema>_mail`)."""
    smtp = SmtpConnections(settings, size=settings.mail_workers)
    return MailSender(queue, smtp, settings, channel=f"{schema}_mail", files=files)


def build(ctx: ServiceContext[Settings]) -> None:
    mailer = Mailer(ctx.settings)
    for consumer in all_consumers(mailer):
        ctx.consume(consumer)
    queue = MailQueue(ctx.pool)
    files = MailFiles(NatsBlobStore(ctx.js))
    sender = mail_sender(ctx.settings, queue, ctx.name, files)
    ctx.background("mail-sender", sender.run)
    ctx.degraded_when("smtp", sender.degradation)
    ctx.background("mail-backlog", queue.watch)


SERVICE = Service(
    name="notifier", settings=Settings, build=build, migrations="helpdesk.notifier.migrations"
)
