"""The new assignee is told: one mail per assignment, automatic or manual, in
the assignee's language (docs/assignment.md). An agent who takes a ticket
themselves gets none; the requester gets none (no spam for an internal move).
Recorded once per event like every mail (`Mailer.queue`)."""

from __future__ import annotations

from helpdesk.contracts.envelope import EventEnvelope
from helpdesk.contracts.tickets import AUTOMATIC, TicketAssigned
from helpdesk.notifier.mailer import CONSUMER_WORKERS, Mailer
from helpdesk.servicekit.consumer import EventConsumer
from helpdesk.servicekit.db import Connection

CONSUMER = "notifier-assignment-mails"

POLICY_TEXT = {
    "round_robin": {"el": "εκ περιτροπής ανάθεση", "en": "round robin"},
    "least_open": {
        "el": "ανάθεση στον λιγότερο φορτωμένο",
        "en": "to the agent with the fewest open requests",
    },
}


class AssignmentMails:
    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer

    async def assigned(self, conn: Connection, envelope: EventEnvelope) -> None:
        event = envelope.open(TicketAssigned)
        assignee = event.assignee
        if not assignee.email or event.by == assignee.user_id:
            return  # no address, or they took it themselves
        locale = assignee.locale if assignee.locale in ("el", "en") else "el"
        policy = event.reason.policy.value if event.reason else None
        await self.mailer.queue(
            conn,
            event_id=envelope.event_id,
            to=assignee.email,
            to_name=assignee.name,
            template="ticket_assigned",
            locale=locale,
            context={
                "name": assignee.name or "",
                "number": event.number,
                "subject": event.subject_line or "",
                "automatic": event.by == AUTOMATIC,
                "policy": POLICY_TEXT[policy][locale] if policy in POLICY_TEXT else "",
                "link": self.mailer.link(locale, f"tickets/{event.ticket_id}"),
            },
        )


def consumers(mailer: Mailer) -> list[EventConsumer]:
    mails = AssignmentMails(mailer)
    return [
        EventConsumer(
            name=CONSUMER,
            subject=TicketAssigned.subject_filter(),
            handler=mails.assigned,
            max_workers=CONSUMER_WORKERS,
            inbox=False,
        )
    ]
