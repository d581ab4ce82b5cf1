"""The new assignee is told: one mail per assignment, automatic or manual, in
the assignee's language (docs/assignment.md). An agent who takes a ticket
themselves gets none; the requester gets none (no spam for an internal move)."""

from __future__ import annotations

from helpdesk.contracts.tickets import AUTOMATIC, TicketAssigned
from helpdesk.notifier.domain.texts import POLICY_TEXT
from helpdesk.notifier.handlers.deps import Deps
from helpdesk.servicekit.events import EventHandlers


async def on_assigned(event: TicketAssigned, deps: Deps) -> None:
    assignee = event.assignee
    if event.by == assignee.user_id:
        return  # they took it themselves
    policy = event.reason.policy.value if event.reason else None
    await deps.mail_about_ticket(
        assignee,
        "ticket_assigned",
        event,
        event.subject_line,
        lambda locale: {
            "automatic": event.by == AUTOMATIC,
            "policy": POLICY_TEXT[policy][locale] if policy in POLICY_TEXT else "",
        },
        thread=False,
    )


ASSIGNMENT_HANDLERS: EventHandlers[Deps] = {TicketAssigned: on_assigned}
