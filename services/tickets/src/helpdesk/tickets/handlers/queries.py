"""The tickets service's queries: one ticket with its timeline, the lists, the priorities."""

from __future__ import annotations

from helpdesk.contracts.priorities import PRIORITY_TEXT, Priority
from helpdesk.contracts.tickets import (
    GetRatingLink,
    GetTicket,
    ListPriorities,
    ListTickets,
    PriorityInfo,
    PriorityList,
    RatingLinkInfo,
    SlaTargetInfo,
    TicketDetail,
    TicketList,
)
from helpdesk.tickets.handlers.deps import Deps, Table, TicketFilter, caller_of, rating_link_of
from helpdesk.tickets.handlers.views import counted_down, detail_of


async def get_ticket(query: GetTicket, deps: Deps) -> TicketDetail:
    """Someone else's ticket is `not_found` for a customer, as if it did not exist."""
    async with deps.uow() as uow:
        caller = await caller_of(uow, query.actor)
        ticket = await uow.tickets.get(query.ticket_id)
    ticket.ensure_visible_to(caller)
    return detail_of(ticket, for_agent=caller.is_agent, policy=deps.policy, now=deps.clock.now())


async def list_tickets(query: ListTickets, deps: Deps) -> TicketList:
    """Customers: their own tickets, newest first, whatever else they filter on.
    Agents: their queues (all with `all_queues`), soonest due first, closed ones
    only when asked for. With `as_of`: the same list as it stood at that instant
    (from the history)."""
    async with deps.uow() as uow:
        await caller_of(uow, query.actor)  # a deactivated caller is refused
        own = await uow.agents.queues_of(query.actor.user_id) if query.actor.is_agent else []
    if query.actor.is_agent:
        # Agents see their own queues unless they ask for another or for all.
        everything = query.all_queues or query.requester_id is not None
        mine = tuple(own) if own and not query.queue and not everything else None
        filters = TicketFilter(
            requester_id=query.requester_id,
            queue=query.queue or None,
            queues=mine,
            assignee_id=query.assignee_id,
            unassigned=query.unassigned,
            priority=query.priority,
            status=query.status,
            hide_closed=query.status is None,
            soonest_due_first=True,
        )
    else:
        filters = TicketFilter(
            requester_id=query.actor.user_id, priority=query.priority, status=query.status
        )
    async with deps.uow() as uow:
        if query.as_of is not None:
            return await uow.views.page_as_of(
                filters, query.as_of, cursor=query.cursor, limit=query.limit
            )
        found = await uow.views.page(filters, cursor=query.cursor, limit=query.limit)
    now = deps.clock.now()
    items = [counted_down(item, deps.policy, now) for item in found.items]
    return found.model_copy(update={"items": items})


async def priorities(query: ListPriorities, deps: Deps) -> PriorityList:
    """The five levels with their labels (from the FAQ) and the policy's SLA targets."""
    items = []
    for priority in Priority:
        route = deps.policy.route(priority)
        targets = deps.policy.targets(priority)
        texts = PRIORITY_TEXT[priority]
        items.append(
            PriorityInfo(
                key=priority,
                label={locale: t.label for locale, t in texts.items()},
                description={locale: t.description for locale, t in texts.items()},
                queue=route.queue,
                queue_label=deps.policy.queue_label(route.queue),
                page=route.page,
                sla=SlaTargetInfo(
                    first_response_minutes=round(targets.first_response / 60),
                    resolution_minutes=round(targets.resolution / 60),
                    clock=route.clock,
                    first_response=route.first_response,
                    resolution=route.resolution,
                ),
            )
        )
    return PriorityList(items=items)


async def rating_link(query: GetRatingLink, deps: Deps) -> RatingLinkInfo:
    """What the rating page shows to whoever holds a link: the ticket's number, no text;
    refused as the rating itself would be (`RateByLink`)."""
    link, _ = rating_link_of(deps, query.token)
    async with deps.uow() as uow:
        ticket = await uow.tickets.get(link.ticket_id)
    ticket.check_rating_link(link.requester_id, link.resolution)
    return RatingLinkInfo(
        number=ticket.number, resolution=link.resolution, expires_at=link.expires_at
    )


QUERIES: Table = {
    GetTicket: get_ticket,
    ListTickets: list_tickets,
    ListPriorities: priorities,
    GetRatingLink: rating_link,
}
