"""Search and SLA reports: the queries answered from the search and history
projections (docs/search.md, docs/reports.md)."""

from __future__ import annotations

from helpdesk.contracts.reports import GetSlaReport, SlaReport
from helpdesk.contracts.tickets import SearchTickets, TicketSearchResults
from helpdesk.tickets.domain.errors import Forbidden
from helpdesk.tickets.domain.search import parse
from helpdesk.tickets.handlers.deps import Deps, SearchQuery, Table, TicketFilter


async def search_tickets(query: SearchTickets, deps: Deps) -> TicketSearchResults:
    """Agents search every ticket, internal notes included; customers their own
    tickets' public text. Closed tickets are found too (history is what people
    search for)."""
    terms = parse(query.q)
    if terms.empty:
        return TicketSearchResults(items=[])
    agent = query.actor.is_agent
    filters = TicketFilter(
        requester_id=None if agent else query.actor.user_id,
        queue=(query.queue or None) if agent else None,
        assignee_id=query.assignee_id if agent else None,
        unassigned=query.unassigned and agent,
        priority=query.priority,
        status=query.status,
    )
    async with deps.uow() as uow:
        return await uow.views.search(
            SearchQuery(terms, filters, include_notes=agent, cursor=query.cursor, limit=query.limit)
        )


async def sla_report(query: GetSlaReport, deps: Deps) -> SlaReport:
    """Agents only: the SLA figures of [from, to) as the events stood at `as_of`."""
    if not query.actor.is_agent:
        raise Forbidden("only agents may see reports")
    as_of = query.as_of or deps.clock.now()
    async with deps.uow() as uow:
        rows, total = await uow.views.sla_report(
            start=query.from_, end=query.to, as_of=as_of, group_by=query.group_by
        )
    return SlaReport(
        from_=query.from_, to=query.to, as_of=as_of, group_by=query.group_by, rows=rows, total=total
    )


INSIGHT: Table = {
    SearchTickets: search_tickets,
    GetSlaReport: sla_report,
}
