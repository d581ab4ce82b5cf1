"""The notifier's mail queue against a real PostgreSQL and a real SMTP server
(aiosmtpd with per-recipient answers): per-recipient outcomes, temporary
failures retried, permanent ones bounced, expiry, and two replicas sending
from one queue without sending anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from importlib.resources import files
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from helpdesk.devstack.servers import free_port
from helpdesk.notifier.adapters.compose import MailComposer
from helpdesk.notifier.adapters.queue import MailQueue
from helpdesk.notifier.adapters.sender import MailSender
from helpdesk.notifier.adapters.smtp import SmtpConnections
from helpdesk.notifier.bootstrap import mail_sender
from helpdesk.notifier.settings import Settings
from helpdesk.servicekit.db import KIT_MIGRATIONS, apply_migrations, create_pool, migration_files
from tests.servers import Servers
from tests.tokens import seal_private_key

pytestmark = pytest.mark.integration


class Answering:
    """Accepts every mail except for the recipients given an answer in `refuse`."""

    def __init__(self) -> None:
        self.refuse: dict[str, str] = {}
        self.accepted: list[tuple[str, str]] = []  # (recipient, Message-ID)
        self.rcpt_attempts: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.rcpt_attempts[address] += 1
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or b""
        message_id = next(
            (
                line.split(b":", 1)[1].strip().decode()
                for line in content.splitlines()
                if line.lower().startswith(b"message-id:")
            ),
            "",
        )
        for rcpt in envelope.rcpt_tos:
            self.accepted.append((rcpt, message_id))
        return "250 accepted"


class AnsweringTogether(Answering):
    """Holds every mail's final answer until `count` mails wait for theirs."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.waiting = 0
        self.everyone: asyncio.Event | None = None  # made on the server's own loop

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.everyone = self.everyone or asyncio.Event()
        self.waiting += 1
        if self.waiting >= self.count:
            self.everyone.set()
        await self.everyone.wait()
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp() -> Iterator[tuple[Answering, int]]:
    with serving(Answering()) as answering:
        yield answering


@contextlib.contextmanager
def serving(handler: Answering, port: int | None = None) -> Iterator[tuple[Answering, int]]:
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def queue_db(servers: Servers) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    schema = f"nq_{uuid.uuid4().hex[:10]}"
    pool = await create_pool(servers.database_url, schema, min_size=1, max_size=10)
    await apply_migrations(
        pool, schema, migration_files(files(KIT_MIGRATIONS), files("helpdesk.notifier.migrations"))
    )
    yield schema, pool
    await pool.close()


def settings_for(port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 2.0,
        "mail_retry_first_seconds": 0.1,
        "mail_retry_max_seconds": 0.5,
        "notifier_seal_private_key": seal_private_key(),
        **overrides,
    }
    return Settings(**values)


async def queue_mails(pool: asyncpg.Pool, recipients: list[str]) -> uuid.UUID:
    """One event's mails to several recipients, recorded in one transaction."""
    composer = MailComposer(Settings(notifier_seal_private_key=seal_private_key()))
    event_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        for to in recipients:
            mail = composer.compose(
                event_id=event_id,
                to=to,
                to_name=None,
                template="username_reminder",
                locale="en",
                context={"name": "N", "username": "n", "link": "http://x/login"},
            )
            assert await MailQueue.enqueue(
                conn, event_id=event_id, template="username_reminder", mail=mail
            )
    return event_id


def sender_with(settings: Settings, pool: asyncpg.Pool, schema: str, **options: Any) -> MailSender:
    """A sender of `schema`'s queue over four SMTP sessions, with `options` set."""
    smtp = SmtpConnections(settings, size=4)
    return MailSender(MailQueue(pool), smtp, settings, channel=f"{schema}_mail", **options)


async def statuses(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT recipient, status FROM deliveries")
    return {r["recipient"]: r["status"] for r in rows}


async def send_until_settled(sender: MailSender, pool: asyncpg.Pool, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'"):
        assert asyncio.get_running_loop().time() < deadline, await statuses(pool)
        await sender.drain()
        await asyncio.sleep(0.05)


async def test_one_refusing_recipient_bounces_and_never_resends_to_the_others(
    smtp: tuple[Answering, int], queue_db: tuple[str, asyncpg.Pool]
) -> None:
    handler, port = smtp
    schema, pool = queue_db
    handler.refuse["gone@example.org"] = "550 5.1.1 no such mailbox"
    handler.refuse["full@example.org"] = "452 4.2.2 mailbox full"
    await queue_mails(pool, ["a@example.org", "gone@example.org", "full@example.org"])
    sender = mail_sender(settings_for(port), MailQueue(pool), schema)

    await sender.drain()
    assert await statuses(pool) == {
        "a@example.org": "sent",
        "gone@example.org": "bounced",
        "full@example.org": "pending",  # 4xx: tried again after a back-off
    }
    del handler.refuse["full@example.org"]
    await send_until_settled(sender, pool)

    assert await statuses(pool) == {
        "a@example.org": "sent",
        "gone@example.org": "bounced",
        "full@example.org": "sent",
    }
    assert sorted(r for r, _ in handler.accepted) == ["a@example.org", "full@example.org"]
    assert handler.rcpt_attempts["a@example.org"] == 1
    assert handler.rcpt_attempts["gone@example.org"] == 1
    assert handler.rcpt_attempts["full@example.org"] >= 2
    error = await pool.fetchval(
        "SELECT last_error FROM deliveries WHERE recipient = 'gone@example.org'"
    )
    assert "550" in error
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE message IS NOT NULL") == 0


async def test_mails_accepted_together_are_marked_sent_in_one_statement(
    queue_db: tuple[str, asyncpg.Pool],
) -> None:
    """Six mails sent over six sessions and accepted at the same moment: the sender
    marks them `sent` in fewer statements than mails (`sent_at` is each
    statement's time), and every one forgets its message bytes."""
    schema, pool = queue_db
    recipients = [f"r{i}@example.org" for i in range(6)]
    with serving(AnsweringTogether(len(recipients))) as (handler, port):
        await queue_mails(pool, recipients)
        sender = mail_sender(settings_for(port), MailQueue(pool), schema)
        await sender.drain()
        assert sorted(r for r, _ in handler.accepted) == recipients
    assert set((await statuses(pool)).values()) == {"sent"}
    assert await pool.fetchval("SELECT count(DISTINCT sent_at) FROM deliveries") < len(recipients)
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE message IS NOT NULL") == 0


async def test_a_mail_refused_temporarily_for_too_long_expires(
    queue_db: tuple[str, asyncpg.Pool],
) -> None:
    schema, pool = queue_db
    await queue_mails(pool, ["late@example.org"])
    nobody_listens = free_port()
    sender = mail_sender(
        settings_for(nobody_listens, mail_retry_seconds=0.5), MailQueue(pool), schema
    )
    await send_until_settled(sender, pool)
    row = await pool.fetchrow("SELECT status, attempts, last_error FROM deliveries")
    assert row is not None
    assert row["status"] == "expired"
    assert row["attempts"] >= 2
    assert "Connect" in row["last_error"]


async def test_two_replicas_send_every_mail_exactly_once(
    smtp: tuple[Answering, int], queue_db: tuple[str, asyncpg.Pool]
) -> None:
    handler, port = smtp
    schema, pool = queue_db
    recipients = [f"u{n}@example.org" for n in range(120)]
    for start in range(0, len(recipients), 4):
        await queue_mails(pool, recipients[start : start + 4])
    settings = settings_for(port, mail_workers=4)
    replicas = [mail_sender(settings, MailQueue(pool), schema) for _ in range(2)]
    tasks = [asyncio.create_task(r.run()) for r in replicas]
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while len(handler.accepted) < len(recipients):
            assert asyncio.get_running_loop().time() < deadline, len(handler.accepted)
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # anything sent twice would arrive by now
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    per_recipient = Counter(r for r, _ in handler.accepted)
    assert set(per_recipient) == set(recipients)
    assert max(per_recipient.values()) == 1
    assert set((await statuses(pool)).values()) == {"sent"}
    assert len({m for _, m in handler.accepted}) == len(recipients)  # one Message-ID each


async def test_a_stopping_sender_gives_its_unsent_mails_back_at_once(
    queue_db: tuple[str, asyncpg.Pool],
) -> None:
    """Stopped mid-send (the server stalls), the sender releases its claims:
    the next replica or start sends them now, not after the lease."""
    schema, pool = queue_db
    stall = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    try:
        await queue_mails(pool, ["a@example.org", "b@example.org"])
        settings = settings_for(stall.getsockname()[1], smtp_timeout=30.0)
        sender = sender_with(settings, pool, schema, shutdown_grace=0.2)
        task = asyncio.create_task(sender.run())
        deadline = asyncio.get_running_loop().time() + 5
        while not await pool.fetchval("SELECT bool_and(attempts = 1) FROM deliveries"):
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        leased = await pool.fetchval("SELECT bool_and(next_attempt_at > now()) FROM deliveries")
        assert leased  # claimed: other replicas keep off
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        stall.close()
    rows = await pool.fetch("SELECT status, next_attempt_at <= now() AS due FROM deliveries")
    assert [(r["status"], r["due"]) for r in rows] == [("pending", True), ("pending", True)]


async def accepted(handler: Answering, count: int, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while len(handler.accepted) < count:
        assert asyncio.get_running_loop().time() < deadline, handler.accepted
        await asyncio.sleep(0.01)


async def test_mails_recorded_soon_after_a_claim_are_claimed_together(
    smtp: tuple[Answering, int], queue_db: tuple[str, asyncpg.Pool]
) -> None:
    """Claims start at most every `min_round_seconds` (1 s here, to see it):
    two mails recorded right after a claim, each with its NOTIFY, are claimed by
    one statement (one lease time) when the spacing has passed."""
    handler, port = smtp
    schema, pool = queue_db
    settings = settings_for(port)
    sender = sender_with(settings, pool, schema, min_round_seconds=1.0)
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.sleep(1.1)  # listening, and quiet: the first mail goes at once
        await queue_mails(pool, ["first@example.org"])
        await accepted(handler, 1)
        await queue_mails(pool, ["second@example.org"])
        await asyncio.sleep(0.05)
        await queue_mails(pool, ["third@example.org"])
        await accepted(handler, 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    leases = {
        r["recipient"]: r["next_attempt_at"]
        for r in await pool.fetch("SELECT recipient, next_attempt_at FROM deliveries")
    }
    assert leases["second@example.org"] == leases["third@example.org"]
    assert leases["first@example.org"] != leases["second@example.org"]


async def test_mail_resumes_within_seconds_of_the_server_returning(
    queue_db: tuple[str, asyncpg.Pool],
) -> None:
    """Eight workers that fail together count one server failure, not eight
    (counted per mail, the production back-off reached its 10-minute cap at
    once: issue 26); while the server is away the sender says so (readiness
    detail) and probes it; when the server answers again, every waiting mail
    goes out within seconds, long before the sender's pause (30 s here) ends."""
    schema, pool = queue_db
    port = free_port()
    recipients = [f"w{n}@example.org" for n in range(12)]
    await queue_mails(pool, recipients)
    settings = settings_for(
        port, mail_retry_first_seconds=30.0, mail_retry_max_seconds=600.0, mail_workers=8
    )
    sender = mail_sender(settings, MailQueue(pool), schema)
    task = asyncio.create_task(sender.run())
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while await pool.fetchval("SELECT count(*) FROM deliveries WHERE attempts > 0") < 8:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        assert sender.server_failures == 1
        assert sender.unreachable_since is not None
        assert (sender.degradation() or "").startswith("SMTP server unreachable since ")
        # The failed mails are due again at once: the pause, not each mail, waits.
        assert await pool.fetchval(
            "SELECT bool_and(next_attempt_at <= now()) FROM deliveries WHERE attempts > 0"
        )
        await asyncio.sleep(3.0)  # a few failed probes
        with serving(Answering(), port) as (handler, _):
            returned = asyncio.get_running_loop().time()
            await accepted(handler, len(recipients), timeout=20.0)
            waited = asyncio.get_running_loop().time() - returned
        assert waited < 20.0  # the pause alone would hold them 27 s or more
        assert sorted(r for r, _ in handler.accepted) == sorted(recipients)
        assert sender.unreachable_since is None
        assert sender.degradation() is None
        assert sender.server_failures == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
