"""Reused SMTP sessions against a real SMTP server (the aiosmtpd sink)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from helpdesk.devstack.servers import MailSink
from helpdesk.notifier.adapters.compose import ComposedMail, MailComposer
from helpdesk.notifier.adapters.smtp import SmtpConnections
from helpdesk.notifier.settings import Settings
from tests.tokens import seal_private_key

pytestmark = pytest.mark.integration


def smtp_for(port: int) -> SmtpConnections:
    return SmtpConnections(
        Settings(
            smtp_host="127.0.0.1", smtp_port=port, notifier_seal_private_key=seal_private_key()
        ),
        size=8,
    )


def compose(to: str) -> ComposedMail:
    return MailComposer(Settings(notifier_seal_private_key=seal_private_key())).compose(
        event_id=uuid.uuid4(),
        to=to,
        to_name="Μαρία",
        template="username_reminder",
        locale="el",
        context={"name": "Μαρία", "username": "maria", "link": "http://x/login"},
    )


async def test_one_session_carries_many_mails_and_survives_a_server_restart(
    tmp_path: Path,
) -> None:
    sink = MailSink(tmp_path / "mail").start()
    smtp = smtp_for(sink.port)
    try:
        await asyncio.gather(*(smtp.send(compose(f"u{n}@example.org")) for n in range(20)))
        assert len(sink.messages()) == 20
        # The server goes away and comes back: the idle pooled sessions are dead.
        sink.stop()
        sink = MailSink(tmp_path / "mail", port=sink.port).start()
        await smtp.send(compose("after@example.org"))
    finally:
        sink.stop()
    recipients = [str(m["To"]) for m in sink.messages()]
    assert len(recipients) == 21
    assert any("after@example.org" in r for r in recipients)
