"""The notifier's composition root: the durable consumers that turn integration
events into recorded mails (the handlers' tables, bound to the real adapters
per event), and the loops that send them and measure the backlog."""

from __future__ import annotations

from functools import partial
from typing import Any

from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.tickets import RATING_LINK_KEY_LABEL, RATING_TOKEN_MAX, TicketEvent
from helpdesk.notifier.adapters.erasure import Concerned, erasure_deps
from helpdesk.notifier.adapters.export import PostgresMailRecords
from helpdesk.notifier.adapters.mail_files import MailFiles
from helpdesk.notifier.adapters.mailer import Mailer
from helpdesk.notifier.adapters.outbox import QueuedMails
from helpdesk.notifier.adapters.queue import MailQueue
from helpdesk.notifier.adapters.queue_names import POLL_SECONDS, QueueKeys, TicketsQueueNames
from helpdesk.notifier.adapters.sender import MailSender
from helpdesk.notifier.adapters.smtp import SmtpConnections
from helpdesk.notifier.adapters.threading import thread_headers
from helpdesk.notifier.adapters.webhook_sender import DnsResolver, WebhookSender, alert_mail_key
from helpdesk.notifier.adapters.webhook_store import PostgresWebhooks, RecordedDeliveries
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.notifier.domain.texts import ONCALL_LOCALE
from helpdesk.notifier.domain.webhooks import parse_allowed
from helpdesk.notifier.handlers.assignment import ASSIGNMENT_HANDLERS
from helpdesk.notifier.handlers.deps import Deps, QueueNames
from helpdesk.notifier.handlers.export import EXPORT_QUERIES, ExportDeps
from helpdesk.notifier.handlers.identity import IDENTITY_HANDLERS
from helpdesk.notifier.handlers.tickets import PAGE_HANDLERS, TICKET_HANDLERS
from helpdesk.notifier.handlers.webhooks import (
    WEBHOOK_COMMANDS,
    WEBHOOK_HANDLERS,
    WebhookAdminDeps,
    WebhookDeps,
)
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit import access_tokens
from helpdesk.servicekit.blobs import NatsBlobStore
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.events import Delivery, on_events
from helpdesk.servicekit.handlers import bind
from helpdesk.servicekit.logging import get_logger
from helpdesk.servicekit.privacy import SignedTokens
from helpdesk.servicekit.runtime import Service, ServiceContext
from helpdesk.servicekit.sealing import Opener

log = get_logger(__name__)

# Events of one consumer handled at once: each only records its mails, keyed by
# (event, recipient, template), so a second run adds nothing: no inbox needed.
CONSUMER_WORKERS = 8
IDENTITY_MAILS = "notifier-identity-mails"
TICKET_MAILS = "notifier-ticket-mails"
ASSIGNMENT_MAILS = "notifier-assignment-mails"
WEBHOOKS = "notifier-webhooks"
PAGE_CONSUMERS = {
    Priority.URGENT: "notifier-page-urgent",
    Priority.CRITICAL: "notifier-page-critical",
}


def deps_factory(mailer: Mailer, queue_names: QueueNames | None = None) -> partial[Deps]:
    """What the handlers get for each event: its outbox and the rest, bound once
    (without `queue_names`, the mails name queues by key)."""
    settings = mailer.settings
    opener = Opener(settings.seal_private_keys())
    return partial(
        _deps,
        mailer=mailer,
        opener=opener,
        oncall=str(settings.oncall_email),
        budget=settings.mail_attachment_max_bytes,
        threading=partial(thread_headers, settings),
        queue_names=queue_names or QueueKeys(),
        rating_links=rating_links(settings),
    )


def rating_links(settings: Settings) -> SignedTokens | None:
    """The rating links' signer (the tickets service verifies them; docs/workspace.md)."""
    return settings.signed_tokens(RATING_LINK_KEY_LABEL, max_chars=RATING_TOKEN_MAX)


def _deps(
    delivery: Delivery,
    *,
    mailer: Mailer,
    opener: Opener,
    oncall: str,
    budget: int,
    threading: partial[dict[str, str]],
    queue_names: QueueNames,
    rating_links: SignedTokens | None,
) -> Deps:
    return Deps(
        outbox=QueuedMails(
            mailer, delivery.conn, delivery.event_id, Concerned.of(delivery.envelope)
        ),
        links=mailer,
        received=delivery.envelope,
        opener=opener,
        oncall=oncall,
        attachment_budget=budget,
        thread_headers=threading,
        queue_names=queue_names,
        rating_links=rating_links,
        erasure=erasure_deps(delivery.conn, mailer.settings),
    )


def all_consumers(mailer: Mailer, queue_names: QueueNames | None = None) -> list[EventConsumer]:
    deps = deps_factory(mailer, queue_names)
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
    queue_names = TicketsQueueNames(ctx.nats)
    ctx.periodically("queue-names", queue_names.refresh, POLL_SECONDS)
    for consumer in all_consumers(mailer, queue_names):
        ctx.consume(consumer)
    queue = MailQueue(ctx.pool)
    files = MailFiles(NatsBlobStore(ctx.js))
    sender = mail_sender(ctx.settings, queue, ctx.name, files)
    ctx.background("mail-sender", sender.run)
    ctx.degraded_when("smtp", sender.degradation)
    ctx.background("mail-backlog", queue.watch)
    serve_webhooks(ctx, mailer)


def serve_webhooks(ctx: ServiceContext[Settings], mailer: Mailer) -> None:
    """The ticket events the endpoints chose, recorded in the consumer's statement
    (keyed per endpoint, event and type: no inbox needed), the admins' commands, and
    the sender that signs and posts after commit."""
    settings = ctx.settings
    store = PostgresWebhooks(ctx.pool)  # type: ignore[arg-type]  # None only without servers

    def deps(delivery: Delivery) -> WebhookDeps:
        outbox = RecordedDeliveries(
            delivery.conn,
            delivery.event_id,
            delivery.envelope.occurred_at,
            settings.webhook_retry_seconds,
            Concerned.of(delivery.envelope).people,
        )
        return WebhookDeps(outbox=outbox)

    ctx.consume(on_events(WEBHOOKS, WEBHOOK_HANDLERS, deps=deps, inbox=False))
    resolver = DnsResolver()
    if settings.jwt_public_key is not None:  # the commands name an admin, proved by
        ctx.verify_token = access_tokens.verifier(settings.jwt_public_key)  # their token
    if ctx.verify_token is None:
        log.warning("webhook and export requests not served: HELPDESK_JWT_PUBLIC_KEY is unset")
    else:
        admin = WebhookAdminDeps(
            store=store, resolver=resolver, allowed=parse_allowed(settings.webhook_allowed_hosts)
        )
        ctx.serve(bind(admin, WEBHOOK_COMMANDS))
        ctx.serve(bind(ExportDeps(mails=PostgresMailRecords(store.pool)), EXPORT_QUERIES))

    async def alert(conn: Connection, disabled: dict[str, Any]) -> None:
        """Tell the admin who registered the endpoint (their address, their language)
        and the helpdesk's on-call address (HELPDESK_ONCALL_EMAIL) that it stopped."""
        context = {k: disabled[k] for k in ("url", "reason", "webhook_id")}
        told = [(settings.oncall_email, ONCALL_LOCALE)]
        if disabled.get("alert_email"):
            told.insert(0, (disabled["alert_email"], disabled["alert_locale"]))
        for address, locale in told:
            mail = OutgoingMail(
                to=address, template="webhook_disabled", locale=locale, context=context
            )
            await mailer.queue(conn, alert_mail_key(), mail)

    sender = WebhookSender(store, settings, resolver, alert)
    ctx.background("webhook-sender", sender.run)


SERVICE = Service(
    name="notifier", settings=Settings, build=build, migrations="helpdesk.notifier.migrations"
)
