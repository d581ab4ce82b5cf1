"""A second factor added or removed: its owner is mailed in their language, with
the "forgot password" link in case it was not them (issue 28)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from uuid import uuid4

from helpdesk.contracts.factors import SecondFactorAdded, SecondFactorRemoved
from helpdesk.notifier.handlers.identity import IDENTITY_HANDLERS
from tests.unit.notifier.fakes import run

PERSON = {"user_id": uuid4(), "name": "Μαρία", "username": "maria", "email": "maria@example.gr"}


def mail_of(data: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(data, policy=email.policy.default)
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return str(message["Subject"]), plain


async def test_the_owner_is_told_of_an_added_factor_in_greek() -> None:
    event = SecondFactorAdded(**PERSON, locale="el", factor="totp", added_at=datetime.now(UTC))
    (mail,) = (await run(IDENTITY_HANDLERS, event)).queued
    subject, plain = mail_of(mail.data)
    assert (mail.recipient, subject) == (
        "maria@example.gr",
        "Προστέθηκε δεύτερος παράγοντας σύνδεσης",
    )
    assert "εφαρμογή ελέγχου ταυτότητας (TOTP)" in plain
    assert "/helpdesk/el/forgot-password" in plain


async def test_the_owner_is_told_of_a_removed_factor_in_english() -> None:
    event = SecondFactorRemoved(**PERSON, locale="en", factor="totp", removed_at=datetime.now(UTC))
    (mail,) = (await run(IDENTITY_HANDLERS, event)).queued
    subject, plain = mail_of(mail.data)
    assert subject == "A second factor was removed from your IPtech Helpdesk account"
    assert "authenticator app (TOTP)" in plain
