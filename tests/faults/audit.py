"""After a fault run: count what the client was told, what PostgreSQL
stored, what JetStream carries and what reached the mail sink, and name every
loss or duplicate."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from helpdesk.contracts.tickets import TicketSubmitted
from tests.faults.load import LoadResult
from tests.servers import Servers

PAGED = {"urgent", "critical"}


@dataclass
class Audit:
    acknowledged: int = 0
    given_up: int = 0
    stored: int = 0
    stored_unacknowledged: int = 0
    on_stream: int = 0
    stream_duplicates: int = 0
    confirmations: Counter[int] = field(default_factory=Counter)  # mails per ticket -> tickets
    pages: Counter[int] = field(default_factory=Counter)
    duplicates_same_id: int = 0
    duplicates_different_id: int = 0
    dead_letters: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    http_5xx: int = 0
    http_errors: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"tickets acknowledged (201)      {self.acknowledged}",
            f"tickets given up by the client  {self.given_up}",
            f"tickets stored (event store)    {self.stored}"
            f"  (of which never acknowledged: {self.stored_unacknowledged})",
            f"tickets on the TICKETS stream   {self.on_stream}"
            f"  (duplicate events: {self.stream_duplicates})",
            "confirmations per ticket        "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.confirmations.items())),
            "pages per urgent/critical       "
            + ", ".join(f"{k}: {v}" for k, v in sorted(self.pages.items())),
            f"duplicated mails, same Msg-ID   {self.duplicates_same_id}",
            f"duplicated mails, other Msg-ID  {self.duplicates_different_id}",
            f"dead letters (all services)     {self.dead_letters}",
            f"deliveries by status            {self.deliveries}",
            f"HTTP 5xx answers (retried)      {self.http_5xx}",
            f"client errors (retried)         {dict(self.http_errors)}",
            f"problems                        {self.problems or 'none'}",
        ]


async def stream_submissions(servers: Servers) -> list[dict[str, Any]]:
    """Every TicketSubmitted envelope on the TICKETS stream, in order."""
    nc = await nats.connect(servers.nats_url, **servers.nats_options())
    try:
        js = nc.jetstream()
        info = await js.stream_info(TicketSubmitted.stream())
        total = info.state.messages
        sub = await js.pull_subscribe(
            TicketSubmitted.subject_filter(),
            stream=TicketSubmitted.stream(),
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=60
            ),
        )
        found: list[dict[str, Any]] = []
        seen = 0
        while seen < total:
            try:
                batch = await sub.fetch(500, timeout=2)
            except TimeoutError:
                break
            for msg in batch:
                found.append(json.loads(msg.data))
                seen = max(seen, msg.metadata.sequence.stream)
        return found
    finally:
        await nc.close()


def read_mails(directory: Path) -> list[tuple[str, str]]:
    """(To, Message-ID) of every mail in the sink."""
    parser = BytesHeaderParser()
    mails = []
    for path in directory.glob("*.eml"):
        headers = parser.parsebytes(path.read_bytes())
        mails.append((str(headers["To"]), str(headers["Message-ID"])))
    return mails


async def audit(
    database_url: str, servers: Servers, mail_dir: Path, load: LoadResult, oncall: str
) -> Audit:
    result = Audit(acknowledged=len(load.acknowledged), given_up=len(load.given_up))
    result.http_5xx = sum(n for status, n in load.statuses.items() if status >= 500)
    result.http_errors = load.errors
    conn = await asyncpg.connect(database_url)
    try:
        stored = {
            str(r["ticket"])
            for r in await conn.fetch(
                "SELECT data->>'ticket_id' AS ticket FROM tickets.events"
                " WHERE event_type = 'TicketSubmitted'"
            )
        }
        for schema in ("identity", "tickets", "notifier"):
            query = f"SELECT count(*) FROM {schema}.dead_letters"
            result.dead_letters += await conn.fetchval(query)
        result.deliveries = {
            r["status"]: r["n"]
            for r in await conn.fetch(
                "SELECT status, count(*) AS n FROM notifier.deliveries GROUP BY status"
            )
        }
    finally:
        await conn.close()
    result.stored = len(stored)
    acknowledged = set(load.acknowledged.values())
    result.stored_unacknowledged = len(stored - acknowledged)
    if result.stored_unacknowledged > result.given_up:
        result.problems.append(
            f"{result.stored_unacknowledged - result.given_up} tickets stored twice:"
            " a retry with the same Idempotency-Key made a second ticket"
        )
    missing = acknowledged - stored
    if missing:
        result.problems.append(f"{len(missing)} acknowledged tickets not stored")

    envelopes = await stream_submissions(servers)
    event_ids = Counter(e["event_id"] for e in envelopes)
    result.stream_duplicates = sum(n - 1 for n in event_ids.values())
    ticket_of = {e["event_id"]: e["data"]["ticket_id"] for e in envelopes}
    priority_of = {e["data"]["ticket_id"]: e["data"]["priority"] for e in envelopes}
    on_stream = set(ticket_of.values())
    result.on_stream = len(on_stream)
    if on_stream != stored:
        result.problems.append(
            f"stream and store differ: {len(stored - on_stream)} stored only,"
            f" {len(on_stream - stored)} on the stream only"
        )

    confirmations: dict[str, list[str]] = defaultdict(list)
    pages: dict[str, list[str]] = defaultdict(list)
    for to, message_id in await asyncio.to_thread(read_mails, mail_dir):
        event_id = message_id.strip("<>").split(".", 1)[0]
        ticket = ticket_of.get(event_id)
        if ticket is None:
            continue  # not a submission mail
        (pages if oncall in to.lower() else confirmations)[ticket].append(message_id)
    for ticket in stored:
        result.confirmations[len(confirmations[ticket])] += 1
        if priority_of.get(ticket) in PAGED:
            result.pages[len(pages[ticket])] += 1
    for mails in [*confirmations.values(), *pages.values()]:
        result.duplicates_same_id += len(mails) - len(set(mails))
        result.duplicates_different_id += max(0, len(set(mails)) - 1)
    lost = result.confirmations.get(0, 0) + result.pages.get(0, 0)
    if lost:
        result.problems.append(f"{lost} mails lost")
    if result.duplicates_different_id:
        different = result.duplicates_different_id
        result.problems.append(f"{different} duplicates with another Message-ID")
    if result.dead_letters:
        result.problems.append(f"{result.dead_letters} dead letters")
    for status in ("pending", "bounced", "expired"):
        if result.deliveries.get(status):
            result.problems.append(f"{result.deliveries[status]} deliveries {status}")
    if load.given_up:
        result.problems.append(f"{len(load.given_up)} tickets never answered 201")
    return result
