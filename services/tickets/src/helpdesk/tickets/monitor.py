"""The SLA monitor: emits TicketSlaWarning, TicketSlaBreached and TicketEscalated
when their deadlines pass — exactly once per ticket and target.

"Once" holds across restarts and replicas because the decision is the
aggregate's: an emitted warning is an event in the ticket's stream, so a
second monitor (or the same one after a restart) folds it and finds nothing
left to emit; two monitors racing on one ticket append at the same expected
version and one of them gets a ConcurrencyError and writes nothing. The
`sla_deadlines` projection only tells the monitor which tickets to look at.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import asyncpg

from helpdesk.servicekit.clock import Clock
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.logging import bind_correlation_id, get_logger
from helpdesk.tickets.repository import TicketRepository

log = get_logger(__name__)

_DUE = (
    "SELECT ticket_id, min(due_at) AS due_at FROM sla_deadlines"
    " WHERE NOT fired AND due_at <= $1 GROUP BY ticket_id ORDER BY min(due_at) LIMIT $2"
)


class SlaMonitor:
    def __init__(
        self,
        pool: asyncpg.Pool,
        repository: TicketRepository,
        clock: Clock,
        *,
        interval: float = 5.0,
        batch_size: int = 200,
    ) -> None:
        self.pool = pool
        self.repository = repository
        self.clock = clock
        self.interval = interval
        self.batch_size = batch_size

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SLA monitor pass failed")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """Check every ticket with a passed, unfired deadline; returns events emitted."""
        now = self.clock.now()
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(_DUE, now, self.batch_size)
        emitted = 0
        for row in rows:
            emitted += await self.check(row["ticket_id"])
        return emitted

    async def check(self, ticket_id: UUID) -> int:
        now = self.clock.now()
        correlation_id = f"sla-{uuid4()}"
        bind_correlation_id(correlation_id)
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                # Replicas skip a ticket another one is checking right now.
                if not await conn.fetchval(
                    "SELECT pg_try_advisory_xact_lock(hashtext($1))", f"sla:{ticket_id}"
                ):
                    return 0
                ticket = await self.repository.load(conn, ticket_id)
                events = ticket.check_sla(now)
                if events:
                    await self.repository.save(conn, ticket, correlation_id=correlation_id)
                else:
                    # Nothing left to emit (already fired before a reopen, say).
                    await conn.execute(
                        "UPDATE sla_deadlines SET fired = true"
                        " WHERE ticket_id = $1 AND NOT fired AND due_at <= $2",
                        ticket_id,
                        now,
                    )
        except ConcurrencyError:
            return 0  # someone else wrote first; the next pass looks again
        finally:
            bind_correlation_id(None)
        for event in events:
            log.info(
                "SLA event emitted",
                event_type=event.event_type,
                ticket_id=str(ticket_id),
                number=ticket.number,
                target=getattr(event, "target", None),
            )
        return len(events)
