"""The notifier's composition root: durable consumers of integration events
that record mails, and the loops that send them and measure the backlog.

Nothing here knows about users or tickets: each mail module (`identity_mails`,
`ticket_mails`) returns its consumers, and the sender only sees rows."""

from __future__ import annotations

from helpdesk.notifier import assignment_mails, identity_mails, ticket_mails
from helpdesk.notifier.attachment_mails import MailFiles
from helpdesk.notifier.mailer import Mailer
from helpdesk.notifier.queue import MailQueue
from helpdesk.notifier.sender import MailSender
from helpdesk.notifier.settings import Settings
from helpdesk.notifier.smtp import SmtpConnections
from helpdesk.servicekit.blobs import NatsBlobStore
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.runtime import Service, ServiceContext


def all_consumers(mailer: Mailer) -> list[EventConsumer]:
    # One line per domain module; each returns the consumers of its events.
    consumers: list[EventConsumer] = []
    consumers += identity_mails.consumers(mailer)
    consumers += ticket_mails.consumers(mailer)
    consumers += assignment_mails.consumers(mailer)
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
