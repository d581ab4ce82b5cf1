"""The notifier's handler of PersonalDataErased against fakes: it forgets the
person's keys at once, and scrubs only once every key cache has expired
(before that `NotYet`, with the time left)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.privacy import PersonalDataErased
from helpdesk.notifier.handlers.deps import ErasureDeps
from helpdesk.notifier.handlers.identity import IDENTITY_HANDLERS
from helpdesk.servicekit import keystore
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.erasure import MARGIN_SECONDS, NotYet
from helpdesk.servicekit.events import on_events
from tests.unit.notifier.fakes import deps_for

ERASED_AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Scrubs:
    def __init__(self) -> None:
        self.people: list[UUID] = []

    async def scrub(self, person_id: UUID) -> None:
        self.people.append(person_id)


async def test_the_scrub_waits_for_the_key_caches_and_the_keys_are_forgotten_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forgotten: list[UUID] = []
    monkeypatch.setattr(keystore, "forget", forgotten.append)
    person = uuid4()
    envelope = EventEnvelope.wrap(
        PersonalDataErased(user_id=person, erased_at=ERASED_AT, reason="request"),
        correlation_id="c",
    )
    scrubs, clock = Scrubs(), ManualClock(ERASED_AT + timedelta(seconds=10))
    erasure = ErasureDeps(store=scrubs, key_cache_seconds=30, clock=clock)
    deps = dataclasses.replace(deps_for(envelope), erasure=erasure)
    consumer = on_events("test", IDENTITY_HANDLERS, lambda _: deps)

    with pytest.raises(NotYet) as wait:
        await consumer.handler(None, envelope)  # type: ignore[arg-type]
    assert wait.value.delay == pytest.approx(20 + MARGIN_SECONDS)
    assert (forgotten, scrubs.people) == ([person], [])

    clock.advance(timedelta(seconds=20 + MARGIN_SECONDS))
    await consumer.handler(None, envelope)  # type: ignore[arg-type]
    assert scrubs.people == [person]
