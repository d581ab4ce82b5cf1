"""`helpdesk assignment-replay` (the operator's `tickets.admin.assignment.replay`):
the stored events since an instant, run through a queue policy by
`domain/replay.py`, beside what really happened. Reads only; changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from statistics import fmean
from typing import Any

from helpdesk.contracts.agents import (
    AgentAvailabilityChanged,
    AssignmentReplay,
    OperatorReplayAssignment,
    QueueMembersChanged,
    ReplayRow,
)
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.tickets import (
    TicketAssigned,
    TicketMessageAdded,
    TicketStatusChanged,
    TicketSubmitted,
    TicketUnassigned,
)
from helpdesk.tickets.domain import replay as r
from helpdesk.tickets.handlers.agents import ensure_queue
from helpdesk.tickets.handlers.deps import Deps, Table

# What each stored event is to the replay (events not listed do not matter to it).
HAPPENINGS: dict[type[EventData], Callable[[Any], r.Happening]] = {
    TicketSubmitted: lambda e: r.Arrival(e.at, e.ticket_id, e.queue),
    TicketAssigned: lambda e: r.Assignment(e.at, e.ticket_id, e.assignee.user_id),
    TicketUnassigned: lambda e: r.Unassignment(e.at, e.ticket_id),
    TicketStatusChanged: lambda e: r.StatusIs(e.at, e.ticket_id, e.to_status),
    TicketMessageAdded: lambda e: r.StatusIs(e.at, e.ticket_id, e.status),
    QueueMembersChanged: lambda e: r.Members(e.at, e.queue, tuple(e.members)),
    AgentAvailabilityChanged: lambda e: r.Availability(e.at, e.user_id, e.available),
}


def happenings(events: Iterable[EventData]) -> list[r.Happening]:
    return [HAPPENINGS[type(e)](e) for e in events if type(e) in HAPPENINGS]


async def replay_assignment(query: OperatorReplayAssignment, deps: Deps) -> AssignmentReplay:
    if query.queue is not None:
        ensure_queue(deps, query.queue)
    async with deps.uow() as uow:
        events = await uow.events.since(query.since)
        result = r.replay(happenings(events), query.policy, since=query.since, queue=query.queue)
        names = {u: await uow.users.get(u) for u in result.agents}
    rows = [
        ReplayRow(
            user_id=user_id,
            name=known.contact.name if (known := names[user_id]) else None,
            replayed=figures.replayed,
            actual=figures.actual,
            replayed_peak_open=figures.replayed_peak_open,
            actual_peak_open=figures.actual_peak_open,
        )
        for user_id, figures in result.agents.items()
    ]
    rows.sort(key=lambda row: (row.name or "", str(row.user_id)))
    return AssignmentReplay(
        policy=query.policy,
        since=query.since,
        queue=query.queue,
        tickets=result.tickets,
        unassigned=result.unassigned,
        rows=rows,
        replayed_spread_mean=round(fmean(result.replayed_spreads or [0]), 2),
        replayed_spread_max=max(result.replayed_spreads or [0]),
        actual_spread_mean=round(fmean(result.actual_spreads or [0]), 2),
        actual_spread_max=max(result.actual_spreads or [0]),
    )


REPLAY: Table = {OperatorReplayAssignment: replay_assignment}
