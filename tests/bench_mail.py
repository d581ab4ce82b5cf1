"""`make bench`, (e): mail intake -> ticket stored, through the whole system.

Mails go in over SMTP to the mailgate's listener as a company MTA would send
them (one session per mail); a mail counts as done when the mailgate records
the ticket the tickets service stored for it (`mails.processed_at`, written
after the tickets transaction committed). Saturation: mails/s with 8 senders;
latency: SMTP send -> ticket stored at 20 mails/s. The portal submit path of
the same run (bench (d)) is the baseline.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg

from tests import operator
from tests.e2e.harness import System, create_database, with_database
from tests.servers import Servers

MAIL_SENDERS, MAIL_SATURATION_SECONDS = 8, 8.0
MAIL_RATE, MAIL_SECONDS, MAIL_WARM_UP = 20, 10, 3
SUPPORT = "helpdesk@helpdesk.example"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def a_mail(sender: str, n: int) -> tuple[str, bytes]:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = SUPPORT
    mail["Subject"] = f"Printer {n}"
    message_id = f"<bench-{uuid.uuid4().hex}@client.example>"
    mail["Message-ID"] = message_id
    mail.set_content("It jams on every second page.\n\nThanks")
    return message_id, mail.as_bytes()


async def send(port: int, sender: str, raw: bytes) -> None:
    await aiosmtplib.send(
        raw, sender=sender, recipients=[SUPPORT], hostname="127.0.0.1", port=port, timeout=30
    )


async def processed_at(url: str, ids: list[str], timeout: float = 120.0) -> dict[str, float]:
    """Message-ID -> when the mailgate recorded its ticket (epoch seconds)."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = await conn.fetch(
                "SELECT message_id, extract(epoch FROM processed_at) AS at, status"
                " FROM mailgate.mails WHERE message_id = ANY($1) AND status <> 'received'",
                ids,
            )
            if len(rows) == len(ids):
                bad = [r for r in rows if r["status"] != "done"]
                if bad:
                    raise RuntimeError(f"{len(bad)} bench mails not made tickets")
                return {r["message_id"]: float(r["at"]) for r in rows}
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    raise TimeoutError("the mailgate did not process every bench mail")


async def bench_mail(workdir: Path, servers: Servers) -> dict[str, float]:
    database = f"bench_mail_{uuid.uuid4().hex[:8]}"
    await create_database(servers.database_url, database)
    url = with_database(servers.database_url, database)
    system = System(workdir / "mail-bench", servers, url, mail_process=True)
    # One sender sends all the bench mails: lift the per-sender hourly limit.
    system.env["HELPDESK_MAILGATE_SENDER_HOURLY_LIMIT"] = "1000000"
    await asyncio.to_thread(system.start)
    figures: dict[str, float] = {}
    try:
        sender = f"bench{uuid.uuid4().hex[:6]}@example.com"
        username = sender.split("@")[0]
        await operator.create_user(
            servers, username, name="Bench", email=sender, nats_url=system.nats.url
        )
        port = system.mailgate_port
        # Until identity's events reached the tickets service: one mail becomes a ticket.
        for _ in range(100):
            message_id, raw = a_mail(sender, 0)
            await send(port, sender, raw)
            try:
                await processed_at(url, [message_id], timeout=5)
                break
            except (RuntimeError, TimeoutError):
                await asyncio.sleep(0.2)

        # Latency at MAIL_RATE: SMTP send -> ticket stored.
        sent: dict[str, float] = {}
        start = time.perf_counter()

        async def one(i: int) -> None:
            await asyncio.sleep(max(0.0, start + i / MAIL_RATE - time.perf_counter()))
            message_id, raw = a_mail(sender, i)
            at = time.time()
            await send(port, sender, raw)
            if i >= MAIL_RATE * MAIL_WARM_UP:
                sent[message_id] = at

        await asyncio.gather(*(one(i) for i in range(MAIL_RATE * (MAIL_WARM_UP + MAIL_SECONDS))))
        done = await processed_at(url, list(sent))
        latency = [(done[m] - at) * 1000 for m, at in sent.items()]
        figures["mail_p50_ms"], figures["mail_p99_ms"] = pct(latency, 0.5), pct(latency, 0.99)
        figures["mails_paced"] = len(latency)

        # Saturation: senders as fast as the listener takes them, until all are tickets.
        ids: list[str] = []
        deadline = time.perf_counter() + MAIL_SATURATION_SECONDS

        async def worker() -> None:
            n = 0
            while time.perf_counter() < deadline:
                message_id, raw = a_mail(sender, n)
                n += 1
                await send(port, sender, raw)
                ids.append(message_id)

        begin = time.time()
        await asyncio.gather(*(worker() for _ in range(MAIL_SENDERS)))
        finished = await processed_at(url, ids, timeout=300)
        figures["mails_per_s"] = len(ids) / (max(finished.values()) - begin)
    finally:
        await asyncio.to_thread(system.stop)
    return figures


def report_rows(m: dict[str, Any], t: dict[str, float]) -> str:
    """The table rows of (e), beside the portal path of (d) measured in the same run."""
    ok = "met" if m["mail_p99_ms"] < 1000 else "NOT met"
    return (
        f"| (e) mails made tickets/s, SMTP intake → ticket stored, {MAIL_SENDERS} senders at"
        f" saturation | {m['mails_per_s']:,.1f} | {t['tickets_per_s']:,.0f} portal tickets/s"
        f" (d) | {m['mails_per_s'] / t['tickets_per_s']:.2f}× | |\n"
        f"| (e) SMTP send → ticket stored at {MAIL_RATE} mails/s ({m['mails_paced']:.0f} mails)"
        f" | p50 {m['mail_p50_ms']:.0f} ms, p99 {m['mail_p99_ms']:.0f} ms | portal submit → 201:"
        f" p99 {t['submit_p99_ms']:.1f} ms (d) | | p99 < 1 s — {ok} |\n"
    )
