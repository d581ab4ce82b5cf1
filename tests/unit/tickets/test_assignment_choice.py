"""The assignment policies' choices and their exact tie-breaks (docs/assignment.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from helpdesk.contracts.tickets import AssignmentPolicy, Contact
from helpdesk.tickets.domain.assignment import Candidate, choose

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def agent(
    n: int,
    *,
    open_tickets: int = 0,
    available: bool = True,
    last: datetime | None = None,
    last_here: datetime | None = None,
    joined: int = 0,
) -> Candidate:
    return Candidate(
        contact=Contact(user_id=UUID(int=n), name=f"agent {n}"),
        available=available,
        open_tickets=open_tickets,
        last_assigned_at=last,
        last_from_queue_at=last_here,
        member_since=T0 + timedelta(minutes=joined),
    )


def chosen(policy: AssignmentPolicy, *members: Candidate) -> int | None:
    choice = choose(policy, members, trigger="submitted")
    return None if choice is None else choice.candidate.user_id.int


def test_manual_never_chooses() -> None:
    assert chosen(AssignmentPolicy.MANUAL, agent(1)) is None


def test_nobody_available_means_nobody() -> None:
    assert chosen(AssignmentPolicy.LEAST_OPEN, agent(1, available=False)) is None
    assert chosen(AssignmentPolicy.ROUND_ROBIN) is None


def test_least_open_takes_the_fewest_open_among_the_available() -> None:
    members = (agent(1, open_tickets=3), agent(2, open_tickets=1), agent(3, available=False))
    assert chosen(AssignmentPolicy.LEAST_OPEN, *members) == 2


def test_least_open_ties_go_to_the_longest_idle_never_assigned_first() -> None:
    recent, older = T0 + timedelta(hours=2), T0 + timedelta(hours=1)
    assert chosen(AssignmentPolicy.LEAST_OPEN, agent(1, last=recent), agent(2, last=older)) == 2
    assert chosen(AssignmentPolicy.LEAST_OPEN, agent(1, last=older), agent(2)) == 2


def test_least_open_then_earlier_member_then_smaller_id() -> None:
    assert chosen(AssignmentPolicy.LEAST_OPEN, agent(1, joined=5), agent(2, joined=1)) == 2
    assert chosen(AssignmentPolicy.LEAST_OPEN, agent(2), agent(1)) == 1


def test_round_robin_goes_to_whoever_waited_longest_for_this_queue() -> None:
    members = (
        agent(1, last_here=T0 + timedelta(minutes=3), open_tickets=0),
        agent(2, last_here=T0 + timedelta(minutes=1), open_tickets=9),
        agent(3, last_here=T0 + timedelta(minutes=2)),
    )
    assert chosen(AssignmentPolicy.ROUND_ROBIN, *members) == 2


def test_the_reason_names_policy_candidates_and_open_count() -> None:
    choice = choose(
        AssignmentPolicy.LEAST_OPEN,
        [agent(1, open_tickets=2), agent(2, available=False)],
        trigger="agent_available",
    )
    assert choice is not None
    assert choice.reason.policy is AssignmentPolicy.LEAST_OPEN
    assert choice.reason.candidates == [UUID(int=1)]
    assert (choice.reason.open_tickets, choice.reason.trigger) == (2, "agent_available")
