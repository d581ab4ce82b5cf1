"""The refusals of the tickets domain: each names its reply code once."""

from __future__ import annotations

from helpdesk.contracts.replies import FieldError, Refused


class TicketNotFound(Refused):
    """Also what a customer gets for somebody else's ticket: no existence leak."""

    code = "not_found"
    default_message = "no such ticket"


class Forbidden(Refused):
    code = "forbidden"


class InvalidTransition(Refused):
    code = "invalid_transition"


class TicketClosed(Refused):
    code = "ticket_closed"


class AlreadyAssigned(Refused):
    code = "already_assigned"


class InvalidAssignee(Refused):
    code = "validation_error"

    def __init__(self, message: str = "not an agent") -> None:
        super().__init__(
            "tickets can only be assigned to agents",
            field_errors=[FieldError(field="assignee_id", message=message)],
        )


class AlreadyRated(Refused):
    """The requester rated this resolution already (once per resolution)."""

    code = "conflict"


class InvalidRatingLink(Refused):
    """A rating link that is forged, damaged, expired, or not this ticket's requester's:
    one answer for all, so the link says nothing about the ticket (docs/workspace.md)."""

    code = "invalid_token"
    default_message = "This rating link is not valid or has expired."
