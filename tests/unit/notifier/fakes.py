"""The notifier's ports in memory, for use-case tests of its handlers.

`RecordingOutbox` composes each mail with the real templates (so a test reads
what would be sent) and records it once per (recipient, template), as the
queue's key does; `run` hands an event to a handlers table the way the kit's
consumer does (the envelope opened as its key's type)."""

from __future__ import annotations

from functools import partial
from typing import Any

from helpdesk.contracts.envelope import EventData, EventEnvelope
from helpdesk.notifier.adapters.compose import ComposedMail, MailComposer
from helpdesk.notifier.adapters.threading import thread_headers
from helpdesk.notifier.domain.mail import OutgoingMail
from helpdesk.notifier.handlers.deps import Deps
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.events import EventHandlers, on_events
from helpdesk.servicekit.sealing import Opener
from tests.tokens import seal_private_key


class RecordingOutbox:
    def __init__(self, composer: MailComposer, envelope: EventEnvelope) -> None:
        self.composer = composer
        self.envelope = envelope
        self.queued: list[ComposedMail] = []
        self.templates: list[str] = []

    async def mail(self, mail: OutgoingMail) -> bool:
        if any(m.recipient == mail.to and t == mail.template for m, t in self.recorded()):
            return False
        self.queued.append(self.composer.compose(event_id=self.envelope.event_id, **mail.parts()))
        self.templates.append(mail.template)
        return True

    def recorded(self) -> list[tuple[ComposedMail, str]]:
        return list(zip(self.queued, self.templates, strict=True))


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"notifier_seal_private_key": seal_private_key(), **overrides}
    return Settings(**values)


def deps_for(envelope: EventEnvelope, configured: Settings | None = None) -> Deps:
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
    )


async def run(
    handlers: EventHandlers[Deps], event: EventData, configured: Settings | None = None
) -> RecordingOutbox:
    """The mails `event` makes when a consumer of `handlers` gets it."""
    envelope = EventEnvelope.wrap(event, correlation_id="c")
    deps = deps_for(envelope, configured)
    consumer = on_events("test", handlers, lambda _: deps)
    if envelope.event_type in (consumer.handles or ()):
        await consumer.handler(None, envelope)  # type: ignore[arg-type]
    outbox = deps.outbox
    assert isinstance(outbox, RecordingOutbox)
    return outbox
