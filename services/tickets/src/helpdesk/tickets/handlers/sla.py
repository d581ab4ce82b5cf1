"""The SLA monitor: emits TicketSlaWarning, TicketSlaBreached and TicketEscalated
when their deadlines pass — exactly once per ticket and target — and closes a
resolved ticket whose `auto_close_at` passed (TicketStatusChanged by AUTOMATIC).

"Once" holds across restarts and replicas because the decision is the
aggregate's: an emitted warning is an event in the ticket's stream, so a
second monitor (or the same one after a restart) folds it and finds nothing
left to emit; two monitors racing on one ticket append at the same expected
version and one of them gets a ConcurrencyError and writes nothing. The
`sla_deadlines` projection only tells the monitor which tickets to look at;
it reads and settles it through the unit of work, never by SQL of its own.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.logging import bind_correlation_id, get_logger
from helpdesk.servicekit.loops import every, repeat
from helpdesk.tickets.domain.events import SlaAlarm, StatusChanged
from helpdesk.tickets.handlers.deps import Deps

log = get_logger(__name__)


class SlaMonitor:
    def __init__(self, deps: Deps, *, interval: float = 5.0, batch_size: int = 200) -> None:
        self.deps = deps
        self.interval = interval
        self.batch_size = batch_size

    async def run(self) -> None:
        await repeat(self.run_once, pause=every(self.interval), failed="SLA monitor pass failed")

    async def run_once(self) -> int:
        """Check every ticket with a passed, unfired deadline; returns events emitted."""
        now = self.deps.clock.now()
        async with self.deps.uow() as uow:
            due = await uow.deadlines.due(now, self.batch_size)
        emitted = 0
        for ticket_id in due:
            emitted += await self.check(ticket_id)
        return emitted

    async def check(self, ticket_id: UUID) -> int:
        now = self.deps.clock.now()
        bind_correlation_id(f"sla-{uuid4()}")
        events: list[SlaAlarm | StatusChanged] = []
        try:
            async with self.deps.uow() as uow:
                # Replicas skip a ticket another one is checking right now.
                if not await uow.deadlines.claim(ticket_id):
                    return 0
                ticket = await uow.tickets.get(ticket_id)
                events = [*ticket.check_sla(now)]
                if closed := ticket.close_if_due(now):
                    events.append(closed)
                if events:
                    await uow.tickets.save(ticket)
                else:
                    # Nothing left to emit (already fired before a reopen, say).
                    await uow.deadlines.settle(ticket_id, now)
                await uow.commit()
        except ConcurrencyError:
            return 0  # someone else wrote first; the next pass looks again
        finally:
            bind_correlation_id(None)
        for event in events:
            log.info(
                "SLA event emitted",
                event_type=type(event).__name__,
                ticket_id=str(ticket_id),
                number=ticket.number,
                target=getattr(event, "target", None),
            )
        return len(events)
