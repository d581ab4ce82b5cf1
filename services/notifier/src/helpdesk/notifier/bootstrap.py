"""The notifier: durable consumers of integration events that send e-mail."""

from __future__ import annotations

from helpdesk.notifier import identity_mails, ticket_mails
from helpdesk.notifier.mailer import Mailer
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.runtime import Service, ServiceContext


def all_consumers(mailer: Mailer) -> list[EventConsumer]:
    # One line per domain module; each returns the consumers of its events.
    consumers: list[EventConsumer] = []
    consumers += identity_mails.consumers(mailer)
    consumers += ticket_mails.consumers(mailer)
    return consumers


def build(ctx: ServiceContext[Settings]) -> None:
    mailer = Mailer(ctx.settings)
    for consumer in all_consumers(mailer):
        ctx.consume(consumer)


SERVICE = Service(
    name="notifier", settings=Settings, build=build, migrations="helpdesk.notifier.migrations"
)
