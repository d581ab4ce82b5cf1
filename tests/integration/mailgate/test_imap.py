"""IMAP polling against a real dovecot: unseen mails are kept, then flagged; a mail
seen again (a crash between keeping and flagging) is recognised, not doubled."""

from __future__ import annotations

from collections.abc import Iterator

import aioimaplib
import asyncpg
import pytest

from helpdesk.mailgate.adapters.imap import ImapMailbox, ImapPoller
from helpdesk.mailgate.adapters.store import PostgresMailStore
from tests.integration.mailgate.dovecot import Dovecot, unavailable
from tests.integration.mailgate.test_intake import a_mail

pytestmark = pytest.mark.integration


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"no IMAP server for the poller's test: {reason}")
    server = Dovecot().start()
    yield server
    server.stop()


async def unseen(server: Dovecot) -> int:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=server.port, timeout=5)
    await client.wait_hello_from_server()
    await client.login(server.user, server.password)
    await client.select("INBOX")
    found = await client.uid_search("UNSEEN", charset=None)
    await client.logout()
    return len(found.lines[0].split())


def test_the_mailbox_url_names_server_user_and_folder_and_hides_the_password() -> None:
    box = ImapMailbox.from_url(
        "imaps://help%40company.example:s3cr%2Ft@outlook.office365.com/Inbox"
    )
    assert (box.host, box.port, box.user, box.password, box.mailbox, box.tls) == (
        "outlook.office365.com",
        993,
        "help@company.example",
        "s3cr/t",
        "Inbox",
        True,
    )
    assert "s3cr" not in repr(box)
    with pytest.raises(ValueError, match="imaps://"):
        ImapMailbox.from_url("http://example.org")


async def test_unseen_mails_are_kept_then_flagged_and_never_doubled(
    dovecot: Dovecot, store: PostgresMailStore, mail_pool: asyncpg.Pool
) -> None:
    dovecot.deliver(a_mail("<one@client.example>"), "one")
    dovecot.deliver(a_mail("<two@client.example>"), "two")
    poller = ImapPoller(ImapMailbox.from_url(dovecot.url), store, interval=60)
    assert await poller.poll() == 2
    ids = {r["message_id"] for r in await mail_pool.fetch("SELECT message_id FROM mails")}
    assert ids == {"<one@client.example>", "<two@client.example>"}
    assert await unseen(dovecot) == 0
    assert await poller.poll() == 0
    # The same mail arriving again (or fetched again after a crash before the flag).
    dovecot.deliver(a_mail("<one@client.example>"), "one-again")
    assert await poller.poll() == 0
    assert await unseen(dovecot) == 0
    assert await mail_pool.fetchval("SELECT count(*) FROM mails") == 2
    source = await mail_pool.fetchval("SELECT DISTINCT source FROM mails")
    assert source == "imap"


async def test_a_wrong_password_keeps_nothing_and_says_so(
    dovecot: Dovecot, store: PostgresMailStore
) -> None:
    box = ImapMailbox.from_url(dovecot.url.replace(dovecot.password, "wrong"))
    with pytest.raises(Exception, match="LOGIN"):
        await ImapPoller(box, store, interval=60).poll()
