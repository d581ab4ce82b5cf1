"""The notifier's ports in memory, for use-case tests of its handlers.

`RecordingOutbox` composes each mail with the real templates (so a test reads
what would be sent) and records it once per (recipient, template), as the
queue's key does; `run` hands an event to a handlers table the way the kit's
consumer does (the envelope opened as its key's type)."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.notifier.adapters.compose import ComposedMail, MailComposer
from helpdesk.notifier.adapters.threading import thread_headers
from helpdesk.notifier.bootstrap import rating_links
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.notifier.handlers.deps import Deps
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.events import EventHandlers, on_events
from helpdesk.servicekit.sealing import Opener
from tests.tokens import seal_private_key
from tests.unit.tickets.fakes import TEST_KEK


class RecordingOutbox:
    """The outbox of one event, over `recorded` (shared by every event, as the
    queue's table is): a mail is kept once per (event, recipient, template), the
    recipient compared without case, as the queue's key does."""

    def __init__(
        self,
        composer: MailComposer,
        envelope: EventEnvelope,
        recorded: dict[tuple[UUID, str, str], ComposedMail] | None = None,
    ) -> None:
        self.composer = composer
        self.envelope = envelope
        self.recorded = {} if recorded is None else recorded
        self.queued: list[ComposedMail] = []  # this event's, in order

    async def mail(self, mail: OutgoingMail) -> bool:
        key = (self.envelope.event_id, mail.to.lower(), mail.template)
        if key in self.recorded:
            return False
        composed = self.composer.compose(event_id=self.envelope.event_id, **mail.parts())
        self.recorded[key] = composed
        self.queued.append(composed)
        return True


class FakeQueueNames:
    """The queues' names as the tickets service would give them (`names`), by key
    for any other queue or language, like the real adapter."""

    def __init__(self, names: dict[str, dict[str, str]] | None = None) -> None:
        self.names = names or {}

    def label(self, queue: str, locale: str) -> str:
        return self.names.get(queue, {}).get(locale, queue)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "notifier_seal_private_key": seal_private_key(),
        "privacy_kek": TEST_KEK,  # the tickets tests' KEK: their fakes verify our links
        **overrides,
    }
    return Settings(**values)


def deps_for(
    envelope: EventEnvelope,
    configured: Settings | None = None,
    queue_names: FakeQueueNames | None = None,
) -> Deps:
    configured = configured or settings()
    composer = MailComposer(configured)
    return Deps(
        outbox=RecordingOutbox(composer, envelope),
        links=composer,
        received=envelope,
        opener=Opener(configured.seal_private_keys()),
        oncall=str(configured.oncall_email),
        attachment_budget=configured.mail_attachment_max_bytes,
        thread_headers=partial(thread_headers, configured),
        queue_names=queue_names or FakeQueueNames(),
        rating_links=rating_links(configured),
    )


async def run(
    handlers: EventHandlers[Deps],
    event: EventData,
    configured: Settings | None = None,
    queue_names: FakeQueueNames | None = None,
) -> RecordingOutbox:
    """The mails `event` makes when a consumer of `handlers` gets it (queues named
    by `queue_names`, by key without)."""
    envelope = EventEnvelope.wrap(event, correlation_id="c")
    deps = deps_for(envelope, configured, queue_names)
    consumer = on_events("test", handlers, lambda _: deps)
    if envelope.event_type in (consumer.handles or ()):
        await consumer.handler(None, envelope)  # type: ignore[arg-type]
    outbox = deps.outbox
    assert isinstance(outbox, RecordingOutbox)
    return outbox
