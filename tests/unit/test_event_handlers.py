"""The kit's event-handler binding: the subject filter, the handled types and the
opened event come from the `EVENT_HANDLERS` table's keys."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.identity import RolesChanged, UserActivated
from helpdesk.servicekit.events import Delivery, covering_filter, on_events


def test_the_filter_covers_every_handled_subject_and_no_more() -> None:
    assert covering_filter(["a.events.user.x"]) == "a.events.user.x"
    assert covering_filter(["a.events.user.x", "a.events.user.y.*"]) == "a.events.user.>"
    assert covering_filter(["a.events.user.x", "a.events.queue.y"]) == "a.events.>"
    with pytest.raises(ValueError, match="no common subject"):
        covering_filter(["a.events.x", "b.events.y"])


async def test_each_event_goes_to_its_handler_opened_as_its_type() -> None:
    seen: list[tuple[str, object]] = []

    async def on_activated(event: UserActivated, deps: str) -> None:
        seen.append((deps, event))

    async def on_roles(event: RolesChanged, deps: str) -> None:
        seen.append((deps, event))

    consumer = on_events(
        "test-users",
        {UserActivated: on_activated, RolesChanged: on_roles},
        deps=lambda delivery: f"deps of {delivery.event_id}",
        max_workers=2,
    )
    assert consumer.subject == "identity.events.user.>"
    assert consumer.handles == {"UserActivated", "RolesChanged"}
    assert consumer.max_workers == 2

    activated = UserActivated(user_id=uuid4(), username="maria", activated_at=datetime.now(UTC))
    envelope = EventEnvelope.wrap(activated, correlation_id="c")
    await consumer.handler(None, envelope)  # type: ignore[arg-type]
    assert seen == [(f"deps of {envelope.event_id}", activated)]


def test_a_delivery_names_the_envelopes_metadata() -> None:
    envelope = EventEnvelope.wrap(
        UserActivated(user_id=uuid4(), username="m", activated_at=datetime.now(UTC)),
        correlation_id="c",
    )
    delivery = Delivery(conn=None, envelope=envelope)  # type: ignore[arg-type]
    assert (delivery.event_id, delivery.occurred_at) == (envelope.event_id, envelope.occurred_at)
