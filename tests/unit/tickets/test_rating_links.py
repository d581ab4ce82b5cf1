"""The signed rating link of a resolution mail (issue 29, docs/workspace.md) against
the in-memory fakes: it rates the resolution it names once, as the requester,
without a sign-in; a forged, damaged, expired or someone else's link is refused
alike, and a link of an earlier resolution gives way to the next mail's."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.tickets import (
    RATING_LINK_KEY_LABEL,
    RATING_LINK_LIFETIME,
    RATING_TOKEN_MAX,
    ChangeStatus,
    GetRatingLink,
    RateByLink,
    Rated,
    RatingLink,
    RatingLinkInfo,
    ReopenTicket,
    SubmitTicket,
    TicketStatus,
    TicketStatusChanged,
)
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.privacy import KeyEncryptionKeys, SignedTokens
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.handlers import commands, queries
from helpdesk.tickets.handlers.deps import Deps
from tests.unit.tickets.fakes import RATING_LINKS, TEST_KEKS, FakeDatabase

S = TicketStatus


async def _refused(code: str, call: Awaitable[object]) -> Refused:
    with pytest.raises(Refused) as caught:
        await call
    assert caught.value.error.code == code, caught.value.error
    return caught.value


class Resolved:
    """A ticket of Μαρία's that Smith resolved, and the links its mails would carry."""

    def __init__(self, db: FakeDatabase, deps: Deps, clock: ManualClock) -> None:
        self.db, self.deps, self.clock = db, deps, clock
        self.maria = db.add_user("Μαρία")
        self.smith = db.add_user("Smith", Role.AGENT)

    async def submit_and_resolve(self) -> UUID:
        cmd = SubmitTicket(
            actor=self.maria, subject="VPN", description="x", priority=Priority.NORMAL
        )
        self.ticket_id = (await commands.submit(cmd, self.deps)).ticket_id
        await self.status(self.smith, S.RESOLVED)
        return self.ticket_id

    async def status(self, actor: Actor, status: TicketStatus) -> None:
        cmd = ChangeStatus(actor=actor, ticket_id=self.ticket_id, status=status)
        await commands.change_status(cmd, self.deps)

    def link(self, resolution: int = 1, *, requester: UUID | None = None) -> RatingLink:
        return RatingLink(
            ticket_id=self.ticket_id,
            resolution=resolution,
            requester_id=requester or self.maria.user_id,
            expires_at=self.clock.now() + RATING_LINK_LIFETIME,
        )

    def rate(self, token: str, rating: int = 5, comment: str | None = None) -> Awaitable[Rated]:
        return commands.rate_by_link(
            RateByLink(token=token, rating=rating, comment=comment), self.deps
        )

    def show(self, token: str) -> Awaitable[RatingLinkInfo]:
        return queries.rating_link(GetRatingLink(token=token), self.deps)


@pytest.fixture
async def resolved(db: FakeDatabase, deps: Deps, clock: ManualClock) -> Resolved:
    ticket = Resolved(db, deps, clock)
    await ticket.submit_and_resolve()
    return ticket


async def test_a_signed_link_rates_its_resolution_once_without_a_sign_in(
    resolved: Resolved, db: FakeDatabase
) -> None:
    token = RATING_LINKS.sign(resolved.link().to_bytes())
    assert len(token) == 103  # well under RATING_TOKEN_MAX
    info = await resolved.show(token)
    assert (info.number, info.resolution) == (db.ticket(resolved.ticket_id).number, 1)

    rated = await resolved.rate(token, 4, "Ευχαριστώ")
    assert (rated.ticket_id, rated.rating, rated.resolution) == (resolved.ticket_id, 4, 1)
    assert db.ticket(resolved.ticket_id).rated == 1
    # The second time, and the page after it: "already rated" (409 conflict).
    await _refused("conflict", resolved.rate(token))
    await _refused("conflict", resolved.show(token))


async def test_forged_damaged_expired_and_foreign_links_are_refused_alike(
    resolved: Resolved, clock: ManualClock
) -> None:
    good = RATING_LINKS.sign(resolved.link().to_bytes())
    other_keys = KeyEncryptionKeys.parse(KeyEncryptionKeys.generate())
    other_signer = SignedTokens.of(other_keys, RATING_LINK_KEY_LABEL, max_chars=RATING_TOKEN_MAX)
    payload = resolved.link().to_bytes()
    flipped = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    bad = {
        "forged with another key": other_signer.sign(payload),
        "one character changed": flipped,
        "cut short": good[:40],
        "another person's": RATING_LINKS.sign(resolved.link(requester=uuid4()).to_bytes()),
        "a payload of another layout": RATING_LINKS.sign(payload + b"\x00"),
        "signed for another use": SignedTokens.of(
            TEST_KEKS, b"another use", max_chars=RATING_TOKEN_MAX
        ).sign(payload),
    }
    for what, token in bad.items():
        refusal = await _refused("invalid_token", resolved.rate(token))
        assert "not valid or has expired" in refusal.message, what
        await _refused("invalid_token", resolved.show(token))
    clock.advance(RATING_LINK_LIFETIME)  # the last moment is past too
    await _refused("invalid_token", resolved.rate(good))
    # Hostile input is bounded by the contract before any handler sees it.
    for token in ("x" * (RATING_TOKEN_MAX + 1), "not/base64url=", ""):
        with pytest.raises(ValidationError):
            RateByLink(token=token, rating=5)


async def test_a_link_of_an_earlier_resolution_gives_way_to_the_next_mails(
    resolved: Resolved,
) -> None:
    first = RATING_LINKS.sign(resolved.link(1).to_bytes())
    await commands.reopen(
        ReopenTicket(actor=resolved.maria, ticket_id=resolved.ticket_id), resolved.deps
    )
    await _refused("invalid_transition", resolved.show(first))  # reopened: nothing to rate
    await resolved.status(resolved.smith, S.RESOLVED)
    await _refused("invalid_transition", resolved.rate(first))
    second = RATING_LINKS.sign(resolved.link(2).to_bytes())
    await resolved.status(resolved.maria, S.CLOSED)  # closing keeps the resolution rateable
    assert (await resolved.rate(second)).resolution == 2


async def test_a_rotated_kek_still_verifies_the_links_it_signed(resolved: Resolved) -> None:
    """The first KEK signs, every listed one verifies: links mailed before a rotation
    still rate after it."""
    new = KeyEncryptionKeys.generate()
    old = KeyEncryptionKeys.generate()
    before = SignedTokens.of(
        KeyEncryptionKeys.parse(old), RATING_LINK_KEY_LABEL, max_chars=RATING_TOKEN_MAX
    )
    after = SignedTokens.of(
        KeyEncryptionKeys.parse(f"{new},{old}"), RATING_LINK_KEY_LABEL, max_chars=RATING_TOKEN_MAX
    )
    payload = resolved.link().to_bytes()
    assert after.open(before.sign(payload)) == payload
    assert after.sign(payload) != before.sign(payload)  # the new key signs
    assert before.open(after.sign(payload)) is None


async def test_the_status_change_names_the_resolution_its_mail_links_to(
    resolved: Resolved, db: FakeDatabase
) -> None:
    def last_change() -> TicketStatusChanged:
        ticket = db.ticket(resolved.ticket_id)
        (event,) = contract_events(ticket, start=ticket.version - 1)
        assert isinstance(event, TicketStatusChanged)
        return event

    assert last_change().resolution == 1
    await commands.reopen(
        ReopenTicket(actor=resolved.maria, ticket_id=resolved.ticket_id), resolved.deps
    )
    assert last_change().resolution is None
    await resolved.status(resolved.smith, S.RESOLVED)
    assert last_change().resolution == 2
    await resolved.status(resolved.maria, S.CLOSED)
    assert last_change().resolution == 2


def test_a_link_reads_back_as_it_was_signed() -> None:
    link = RatingLink(
        ticket_id=uuid4(),
        resolution=3,
        requester_id=uuid4(),
        expires_at=datetime.fromisoformat("2027-01-01T10:00:00+00:00") + timedelta(seconds=1),
    )
    assert RatingLink.from_bytes(link.to_bytes()) == link
    assert RatingLink.from_bytes(b"\x02" + link.to_bytes()[1:]) is None  # another version
