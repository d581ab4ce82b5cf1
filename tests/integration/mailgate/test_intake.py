"""The SMTP/LMTP listener against a real PostgreSQL: 250 only once the mail is kept,
refusals by recipient and size, the same mail twice kept once, 451 when the
database is away (the sender's MTA keeps it and retries)."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib
import asyncpg
import pytest

from helpdesk.mailgate.adapters.store import PostgresMailStore
from tests.integration.mailgate.conftest import MAX_BYTES, start_listener

pytestmark = pytest.mark.integration


def a_mail(message_id: str = "<m1@client.example>", body: str = "Ο εκτυπωτής χάλασε.") -> bytes:
    mail = EmailMessage()
    mail["From"] = "Μαρία <maria@company.example>"
    mail["To"] = "helpdesk@company.example"
    mail["Subject"] = "Εκτυπωτής"
    mail["Message-ID"] = message_id
    mail.set_content(body)
    return mail.as_bytes()


async def send(port: int, raw: bytes, *, to: str = "helpdesk@company.example",
               sender: str = "maria@company.example") -> tuple[int, str]:  # fmt: skip
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
    await client.connect()
    try:
        errors, message = await client.sendmail(sender, [to], raw)
        assert not errors
        return 250, message
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return exc.recipients[0].code, exc.recipients[0].message
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code, exc.message
    finally:
        client.close()


async def rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM mails ORDER BY received_at")


async def test_a_mail_is_answered_250_only_once_it_is_kept(
    smtp_port: int, mail_pool: asyncpg.Pool
) -> None:
    raw = a_mail()
    code, message = await send(smtp_port, raw)
    assert code == 250
    kept = await rows(mail_pool)
    assert len(kept) == 1
    assert bytes(kept[0]["raw"]).replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert str(kept[0]["mail_id"]) in message
    assert kept[0]["message_id"] == "<m1@client.example>"
    assert kept[0]["status"] == "received"
    assert kept[0]["recipients"] == ["helpdesk@company.example"]


async def test_the_same_mail_twice_or_the_same_message_id_is_kept_once(
    smtp_port: int, mail_pool: asyncpg.Pool
) -> None:
    assert (await send(smtp_port, a_mail()))[0] == 250
    assert (await send(smtp_port, a_mail()))[0] == 250  # the same bytes again
    # Delivered a second way: other bytes (another Received line), the same Message-ID.
    assert (await send(smtp_port, b"Received: by relay2\r\n" + a_mail()))[0] == 250
    assert len(await rows(mail_pool)) == 1
    # A mail without a Message-ID is recognised by its bytes.
    bare = b"From: maria@company.example\r\nSubject: x\r\n\r\nno id\r\n"
    assert (await send(smtp_port, bare))[0] == 250
    assert (await send(smtp_port, bare))[0] == 250
    assert len(await rows(mail_pool)) == 2


async def test_only_support_addresses_and_their_plus_forms_are_accepted(
    smtp_port: int, mail_pool: asyncpg.Pool
) -> None:
    code, _ = await send(smtp_port, a_mail("<a@x>"), to="someone@company.example")
    assert code == 550
    code, _ = await send(smtp_port, a_mail("<b@x>"), to="helpdesk@elsewhere.example")
    assert code == 550
    assert await rows(mail_pool) == []
    code, _ = await send(smtp_port, a_mail("<c@x>"), to="HelpDesk+printers@Company.example")
    assert code == 250
    assert len(await rows(mail_pool)) == 1


async def test_a_mail_over_the_size_limit_is_refused_with_552(
    smtp_port: int, mail_pool: asyncpg.Pool
) -> None:
    code, _ = await send(smtp_port, a_mail(body="x" * (MAX_BYTES + 1000)))
    assert code == 552
    assert await rows(mail_pool) == []


async def test_a_bounce_with_a_null_sender_is_kept_for_screening(
    smtp_port: int, mail_pool: asyncpg.Pool
) -> None:
    assert (await send(smtp_port, a_mail("<dsn@x>"), sender=""))[0] == 250
    assert (await rows(mail_pool))[0]["envelope_from"] == ""


async def test_the_database_away_means_451_and_nothing_claimed_kept(
    mail_pool: asyncpg.Pool, servers: object
) -> None:
    closed = PostgresMailStore(mail_pool)
    server = await start_listener(closed)
    port = server.sockets[0].getsockname()[1]
    await mail_pool.close()  # the database is unreachable from the listener now
    try:
        code, message = await send(port, a_mail())
    finally:
        server.close()
    assert code == 451
    assert "try again" in message


async def test_lmtp_answers_data_once_per_recipient(
    store: PostgresMailStore, mail_pool: asyncpg.Pool
) -> None:
    """RFC 2033: after DATA, one status per accepted recipient (Python's smtplib.LMTP
    reads only one, so the conversation is spoken here by hand)."""
    server = await start_listener(store, lmtp=True)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def say(line: bytes) -> bytes:
        writer.write(line + b"\r\n")
        await writer.drain()
        return await reader.readline()

    try:
        assert (await reader.readline()).startswith(b"220")
        writer.write(b"LHLO client\r\n")
        while not (await reader.readline()).startswith(b"250 "):
            pass
        assert (await say(b"MAIL FROM:<maria@company.example>")).startswith(b"250")
        assert (await say(b"RCPT TO:<helpdesk@company.example>")).startswith(b"250")
        assert (await say(b"RCPT TO:<helpdesk+x@company.example>")).startswith(b"250")
        assert (await say(b"DATA")).startswith(b"354")
        writer.write(a_mail() + b"\r\n.\r\n")
        await writer.drain()
        answers = [await reader.readline(), await reader.readline()]
        await say(b"QUIT")
    finally:
        writer.close()
        server.close()
    assert all(a.startswith(b"250 2.0.0 Kept as") for a in answers), answers
    assert len(await rows(mail_pool)) == 1
