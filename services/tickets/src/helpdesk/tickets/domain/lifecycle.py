"""Who may move a ticket from which status to which (docs/tickets.md, "Lifecycle").

submitted -> open -> pending (waiting on the requester) -> resolved -> closed,
with reopen (resolved -> open). Closed is final.
"""

from __future__ import annotations

from helpdesk.contracts.tickets import TicketStatus

S = TicketStatus

# What an agent may set, from each status.
AGENT_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.SUBMITTED: frozenset({S.OPEN, S.PENDING, S.RESOLVED}),
    S.OPEN: frozenset({S.PENDING, S.RESOLVED}),
    S.PENDING: frozenset({S.OPEN, S.RESOLVED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}
# The requester may close at any time, and reopen what was resolved.
REQUESTER_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.SUBMITTED: frozenset({S.CLOSED}),
    S.OPEN: frozenset({S.CLOSED}),
    S.PENDING: frozenset({S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}


def allowed_moves(status: TicketStatus, *, by_agent: bool) -> frozenset[TicketStatus]:
    return (AGENT_TRANSITIONS if by_agent else REQUESTER_TRANSITIONS)[status]
