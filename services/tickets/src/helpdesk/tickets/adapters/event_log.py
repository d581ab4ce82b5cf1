"""The `EventLog` port in PostgreSQL: the stored events an assignment replay reads
(docs/workspace.md) — the streams of the tickets submitted since an instant, and
every queue's and agent's stream (membership and availability from the start),
in the order they were stored."""

from __future__ import annotations

from datetime import datetime

from helpdesk.contracts.agents import AgentAvailabilityChanged, QueueMembersChanged
from helpdesk.contracts.envelope import EventData
from helpdesk.servicekit.db import Connection
from helpdesk.tickets.adapters.contract_events import stored_event

_AGENTS_EVENTS: dict[str, type[EventData]] = {
    cls.event_type: cls for cls in (QueueMembersChanged, AgentAvailabilityChanged)
}

_SINCE = (
    "SELECT event_type, data FROM events"
    " WHERE stream_id LIKE 'queue-%' OR stream_id LIKE 'agent-%' OR stream_id IN ("
    "   SELECT stream_id FROM events WHERE event_type = 'TicketSubmitted'"
    "   AND (data->>'at')::timestamptz >= $1)"
    " ORDER BY position"
)


class PostgresEventLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def since(self, at: datetime) -> list[EventData]:
        found: list[EventData] = []
        for row in await self.conn.fetch(_SINCE, at):
            kind, data = row["event_type"], row["data"]
            agents_event = _AGENTS_EVENTS.get(kind)
            event = agents_event.model_validate(data) if agents_event else stored_event(kind, data)
            if event is not None:
                found.append(event)
        return found
