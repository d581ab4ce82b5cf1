"""No raw mail token outside the mail itself (issue 10 part 3, docs/security.md
"Where secrets live"): the whole system runs register → resend → activate →
forgot password → reset → "not me", and then every message on the IDENTITY
stream, every row of every table of every service (dead letters and the
notifier's mail queue included, mail bytes decoded) and every log file is
searched for the tokens the delivered mails carry. None is found; the scanner
itself finds them in the delivered mails, so it can see them where they are."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg
import nats
import pytest

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.servicekit.sealing import Opener, Unsealable
from tests.e2e.harness import System
from tests.e2e.test_accounts_flow import PASSWORD, client, register, token_in, unique

pytestmark = pytest.mark.e2e


def texts_of(value: Any) -> list[str]:
    """Every readable form of a stored value: text, JSON, bytes, a mail's decoded parts."""
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        found = [raw.decode("utf-8", "replace"), raw.hex()]
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found += mail_texts(message)
        return found
    if isinstance(value, list | tuple):
        return [t for item in value for t in texts_of(item)]
    return [str(value)]


def mail_texts(message: EmailMessage) -> list[str]:
    found = [str(message)]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found.append(str(part.get_content()))
    return found


def leaks(tokens: list[str], texts: list[str]) -> list[str]:
    """Tokens found in `texts` (also URL-safe-base64 encoded, as a careless copy might be)."""
    encoded = {t: base64.urlsafe_b64encode(t.encode()).decode().rstrip("=") for t in tokens}
    return [t for t in tokens if any(t in text or encoded[t] in text for text in texts)]


async def next_mail(
    system: System, to: str, subject_part: str, after: EmailMessage | None = None
) -> EmailMessage:
    def wanted(message: EmailMessage) -> bool:
        fresh = after is None or message["Message-ID"] != after["Message-ID"]
        return fresh and subject_part in str(message["Subject"])

    return await asyncio.to_thread(system.wait_for_mail, to, wanted, 30.0)


async def every_stream_message(system: System, stream: str) -> list[tuple[bytes, str]]:
    """(data, headers) of every message the stream holds, read straight from JetStream."""
    nc = await nats.connect(system.servers.nats_url, **system.servers.nats_options())
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        messages = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            messages.append((msg.data or b"", repr(msg.headers)))
        return messages
    finally:
        await nc.close()


async def every_row(system: System) -> dict[str, list[str]]:
    """`schema.table` -> the text of every value of every row, for every schema."""
    conn = await asyncpg.connect(system.servers.database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        found: dict[str, list[str]] = {}
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            rows = await conn.fetch(f"SELECT * FROM {name}")
            found[name] = [t for row in rows for value in row.values() for t in texts_of(value)]
        return found
    finally:
        await conn.close()


async def test_no_raw_token_on_the_stream_in_a_table_or_in_a_log(system: System) -> None:
    tokens: list[str] = []
    mails: list[EmailMessage] = []
    async with client(system) as http:
        # Maria: register, ask for the link again, activate, forget the password, reset it.
        maria, maria_email = unique("sealed"), f"{unique('sealed')}@example.org"
        assert (await register(http, maria, maria_email, "en")).status_code == 202
        first = await next_mail(system, maria_email, "Activate")
        resend = {"email": maria_email}
        assert (await http.post("/api/v1/accounts/activation/resend", json=resend)).is_success
        second = await next_mail(system, maria_email, "Activate", after=first)
        activation = token_in(second, "activate")
        tokens += [token_in(first, "activate"), activation]
        activated = await http.post(
            "/api/v1/accounts/activate", json={"token": activation, "password": PASSWORD}
        )
        assert activated.status_code == 200, activated.text
        forgot = await http.post("/api/v1/recovery/password", json={"email": maria_email})
        assert forgot.status_code == 202
        reset_mail = await next_mail(system, maria_email, "Reset your")
        reset = token_in(reset_mail, "reset-password")
        tokens.append(reset)
        done = await http.post(
            "/api/v1/recovery/password/reset",
            json={"token": reset, "new_password": "another horse, another battery"},
        )
        assert done.status_code == 200, done.text
        # Someone registers Nikos's address; Nikos says "not me".
        nikos_email = f"{unique('notme')}@example.org"
        assert (await register(http, unique("notme"), nikos_email, "el")).status_code == 202
        not_me = await next_mail(system, nikos_email, "Ενεργοποίηση")
        cancel = token_in(not_me, "activate/cancel")
        tokens.append(cancel)
        cancelled = await http.post("/api/v1/accounts/activation/cancel", json={"token": cancel})
        assert cancelled.json() == {"status": "cancelled"}
        await next_mail(system, maria_email, "password was changed")
        mails = [first, second, reset_mail, not_me]
    assert len(set(tokens)) == 4

    # The scanner sees a token where it is: in the delivered mail's bytes.
    for mail in mails:
        assert leaks(tokens, texts_of(mail.as_bytes()))

    # The IDENTITY stream: every message since the system started, other tests' too.
    messages = await every_stream_message(system, "IDENTITY")
    assert (
        len(messages) >= 7
    )  # registered, resent, activated, recovery, changed, registered, cancelled
    texts = [t for data, headers in messages for t in (data.decode("utf-8", "replace"), headers)]
    assert leaks(tokens, texts) == []
    sealed_fields = 0
    stranger = Opener([system.seal_public_key])  # a key identity holds: opens nothing
    for message, _ in messages:
        data = EventEnvelope.model_validate_json(message).data
        assert not {"activation_token", "reset_token"} & set(data)
        for field in ("sealed_activation_token", "sealed_reset_token"):
            if data.get(field):
                sealed_fields += 1
                with pytest.raises(Unsealable):
                    stranger.open(data[field])
    assert sealed_fields >= 4

    # Every table of every service: dead letters, the mail queue, inboxes, outboxes, ...
    rows = await every_row(system)
    assert any("deliveries" in name for name in rows)
    assert any("dead_letters" in name for name in rows)
    found = {name: leaks(tokens, texts) for name, texts in rows.items()}
    assert {name: hit for name, hit in found.items() if hit} == {}

    # Every log file of every process (services, NATS).
    logs = sorted((system.workdir / "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"identity", "notifier", "tickets", "gateway", "nats"}
    for path in logs:
        assert leaks(tokens, [path.read_text(errors="replace")]) == [], path.name


async def test_streams_keep_events_no_longer_than_their_retention(system: System) -> None:
    nc = await nats.connect(system.servers.nats_url, **system.servers.nats_options())
    try:
        js = nc.jetstream()
        identity, tickets = await js.stream_info("IDENTITY"), await js.stream_info("TICKETS")
    finally:
        await nc.close()
    assert identity.config.max_age == timedelta(days=7).total_seconds()
    assert tickets.config.max_age == timedelta(days=30).total_seconds()
    assert identity.config.max_bytes == 1024**3
    assert tickets.config.max_bytes == 10 * 1024**3
