"""Which agent a queue's policy gives a ticket to: pure, with its exact tie-breaks
(docs/assignment.md). The adapter gathers the members as `Candidate`s; this
module only decides.

* `least_open`: the fewest open tickets (submitted, open or pending, in any
  queue); ties go to the longest idle — whose last assignment (any queue,
  automatic or manual) is oldest, never assigned first; then the earlier
  member of the queue; then the smaller user id.
* `round_robin`: the member whose last ticket *from this queue* is oldest
  (never first); then the earlier member; then the smaller user id. In steady
  state this visits the members in turn; a member who joins goes next.
* `manual`: nobody.

Only available members are candidates: members who are active agents and not
away. Nobody available: the ticket waits (unassigned) until someone is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from helpdesk.contracts.tickets import AssignmentPolicy, AssignmentReason, Contact

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """A member of the queue as the assignment sees them."""

    contact: Contact
    available: bool
    open_tickets: int
    last_assigned_at: datetime | None  # any queue, automatic or manual
    last_from_queue_at: datetime | None  # this queue only
    member_since: datetime

    @property
    def user_id(self) -> UUID:
        return self.contact.user_id


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    reason: AssignmentReason


def choose(
    policy: AssignmentPolicy, members: Sequence[Candidate], *, trigger: str
) -> Choice | None:
    """The member `policy` gives the next ticket to, with the reason; None if nobody."""
    if policy is AssignmentPolicy.MANUAL:
        return None
    candidates = [m for m in members if m.available]
    if not candidates:
        return None
    if policy is AssignmentPolicy.LEAST_OPEN:
        chosen = min(
            candidates,
            key=lambda c: (
                c.open_tickets,
                c.last_assigned_at or _NEVER,
                c.member_since,
                str(c.user_id),
            ),
        )
    else:
        chosen = min(
            candidates,
            key=lambda c: (c.last_from_queue_at or _NEVER, c.member_since, str(c.user_id)),
        )
    reason = AssignmentReason(
        policy=policy,
        trigger=trigger,
        candidates=[c.user_id for c in candidates],
        open_tickets=chosen.open_tickets,
    )
    return Choice(candidate=chosen, reason=reason)
