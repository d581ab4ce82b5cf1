"""Every time in a mail is Athens time: the password-changed mail said
"2026-12-06 23:43 UTC", another day for a reader in Greece (issue 26)."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from helpdesk.contracts.identity import PasswordChanged
from helpdesk.notifier.domain.texts import local_time
from helpdesk.notifier.handlers.identity import IDENTITY_HANDLERS
from tests.unit.notifier.fakes import run


def test_a_utc_moment_is_written_in_athens_time() -> None:
    assert local_time(datetime(2026, 12, 6, 23, 43, tzinfo=UTC)) == "07/12/2026 01:43"
    assert local_time(datetime(2026, 7, 1, 9, 0, tzinfo=UTC)) == "01/07/2026 12:00"  # EEST
    assert local_time(None) == "-"


@pytest.mark.parametrize("locale", ["el", "en"])
async def test_the_password_changed_mail_says_athens_time(locale: str) -> None:
    """23:43 UTC on 6 December is 01:43 on the 7th for the reader in Greece."""
    event = PasswordChanged(
        user_id=uuid4(),
        name="Μαρία",
        username="maria",
        email="maria@example.org",
        locale=locale,
        changed_at=datetime(2026, 12, 6, 23, 43, tzinfo=UTC),
    )
    [mail] = (await run(IDENTITY_HANDLERS, event)).queued
    message = email.message_from_bytes(mail.data, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "07/12/2026 01:43" in text
    assert "UTC" not in text
