"""`helpdesk assignment-replay` (issue 29): a seeded October replayed through
least_open, checked against counts worked out by hand (domain/replay.py).

Agents A, B, C (ids ...1, ...2, ...3: ties go to A, then B) are members of
service-desk since 30 September. In reality nearly everything went to A.

    when      what                      replayed (open A B C)        actual (A B C)
    1 Oct 09  T1 arrives                -> A    1 0 0                -> A  1 0 0
    1 Oct 10  T2 arrives                -> B    1 1 0                -> A  2 0 0
    2 Oct 09  T3 arrives                -> C    1 1 1                -> A  3 0 0
    2 Oct 12  T1 resolved                       0 1 1                      2 0 0
    5 Oct 09  B away
    5 Oct 10  T4 arrives                -> A    1 1 1                -> C  2 0 1
    6 Oct 09  T5 arrives (A, C at 1: C idle longer) -> C  1 1 2      -> A  3 0 1
    7 Oct 09  T2 closed                         1 0 2                      2 0 1
    8 Oct 09  B back
    8 Oct 10  T6 arrives                -> B    1 1 2                -> A  3 0 1
    9 Oct 09  T3 resolved, 12 Oct reopened      1 1 2                      3 0 1
   20 Oct 09  T7 arrives (A, B at 1: A idle longer) -> A  2 1 2      -> B  3 1 1

Received: replayed A 3, B 2, C 2; actual A 5, B 1, C 1. Peak open: replayed
A 2, B 1, C 2; actual A 3, B 1, C 1. Spread as each ticket after the first
arrives (T2..T7): replayed 1 1 1 0 2 1 (mean 1.0, max 2), actual 1 2 2 2 2 3
(mean 2.0, max 3). A ticket of September and one of another queue count for
neither side.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from helpdesk.cli import replay as replay_cli
from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.agents import OperatorReplayAssignment, SetAvailability, SetQueueMembers
from helpdesk.contracts.tickets import AssignmentPolicy, AssignTicket, ChangeStatus, TicketStatus
from helpdesk.servicekit.clock import ManualClock
from helpdesk.tickets.domain.replay import (
    Arrival,
    Assignment,
    Availability,
    Happening,
    Members,
    StatusIs,
    replay,
)
from helpdesk.tickets.handlers import agents, commands
from helpdesk.tickets.handlers.deps import Deps
from helpdesk.tickets.handlers.replay import replay_assignment
from tests.unit.tickets.fakes import FakeDatabase
from tests.unit.tickets.test_handlers_assignment import members, submit

ATHENS = ZoneInfo("Europe/Athens")
A, B, C = (UUID(int=n) for n in (1, 2, 3))
T = {n: UUID(int=100 + n) for n in range(1, 10)}
S = TicketStatus
DESK = "service-desk"


def at(day: int, hour: int, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=ATHENS)


def october() -> list[Happening]:
    def arrives(
        n: int, day: int, hour: int, to: UUID, queue: str = "service-desk"
    ) -> list[Happening]:
        when = at(day, hour)
        return [Arrival(when, T[n], queue), Assignment(when, T[n], to)]

    return [
        Members(at(30, 9, month=9), "service-desk", (A, B, C)),
        Arrival(at(29, 9, month=9), T[8], "service-desk"),  # before the period
        Assignment(at(29, 9, month=9), T[8], A),
        *arrives(1, 1, 9, A),
        *arrives(2, 1, 10, A),
        *arrives(3, 2, 9, A),
        StatusIs(at(2, 12), T[1], S.RESOLVED),
        Availability(at(5, 9), B, available=False),
        *arrives(4, 5, 10, C),
        *arrives(9, 5, 11, B, queue="incidents"),  # another queue
        *arrives(5, 6, 9, A),
        StatusIs(at(7, 9), T[2], S.CLOSED),
        Availability(at(8, 9), B, available=True),
        *arrives(6, 8, 10, A),
        StatusIs(at(9, 9), T[3], S.RESOLVED),
        StatusIs(at(12, 9), T[3], S.OPEN),
        *arrives(7, 20, 9, B),
    ]


def test_least_open_over_a_seeded_october_matches_the_hand_computed_figures() -> None:
    result = replay(october(), AssignmentPolicy.LEAST_OPEN, since=at(1, 0), queue="service-desk")
    assert result.tickets == 7
    assert result.unassigned == 0
    received = {u: (f.replayed, f.actual) for u, f in result.agents.items()}
    assert received == {A: (3, 5), B: (2, 1), C: (2, 1)}
    peaks = {u: (f.replayed_peak_open, f.actual_peak_open) for u, f in result.agents.items()}
    assert peaks == {A: (2, 3), B: (1, 1), C: (2, 1)}
    assert result.replayed_spreads == [1, 1, 1, 0, 2, 1]
    assert result.actual_spreads == [1, 2, 2, 2, 2, 3]


def test_round_robin_visits_the_available_members_in_turn() -> None:
    result = replay(october(), AssignmentPolicy.ROUND_ROBIN, since=at(1, 0), queue="service-desk")
    # T1 A, T2 B, T3 C, T4 A (B away; A served longest ago), T5 C, T6 B, T7 A.
    assert {u: f.replayed for u, f in result.agents.items()} == {A: 3, B: 2, C: 2}


def test_without_a_queue_every_queue_counts_and_nobody_available_waits() -> None:
    result = replay(october(), AssignmentPolicy.LEAST_OPEN, since=at(1, 0))
    assert result.tickets == 8  # T9 of incidents too, whose queue has no members
    assert result.unassigned == 1
    assert result.agents[B].actual == 2


async def test_the_operator_s_replay_reads_the_stored_events_and_changes_nothing(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    admin = db.add_user("Admin", Role.ADMIN)
    alpha, beta = db.add_user("Alpha", Role.AGENT), db.add_user("Beta", Role.AGENT)
    maria = db.add_user("Maria")
    start = clock.now()
    await members(db, deps, admin, alpha, beta)
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        done = await submit(db, deps, maria)
        await commands.assign(AssignTicket(actor=alpha, ticket_id=done.ticket_id), deps)
    before = db.event_count()
    query = OperatorReplayAssignment(policy=AssignmentPolicy.LEAST_OPEN, since=start, queue=DESK)
    found = await replay_assignment(query, deps)
    assert db.event_count() == before
    assert (found.tickets, found.unassigned) == (3, 0)
    rows = {row.name: (row.replayed, row.actual, row.actual_peak_open) for row in found.rows}
    assert rows["Alpha"][1:] == (3, 3)
    assert sorted(r[0] for r in rows.values()) == [1, 2]  # least_open shares them out
    assert (found.actual_spread_max, found.replayed_spread_max) == (2, 1)


async def test_the_cli_prints_the_hand_computed_table_for_the_seeded_october(
    db: FakeDatabase, deps: Deps, clock: ManualClock
) -> None:
    """The same October, made through the service's own commands (on the fakes),
    read back by the operator's query and printed by the CLI."""
    admin = db.add_user("Admin", Role.ADMIN)
    alpha, beta, gamma = (db.add_user(n, Role.AGENT) for n in ("Alpha", "Beta", "Gamma"))
    maria = db.add_user("Maria")
    tickets: dict[int, UUID] = {}

    async def on(day: int, hour: int, month: int = 10) -> None:
        clock.set(at(day, hour, month))

    async def arrives(n: int, day: int, hour: int, agent: Actor) -> None:
        await on(day, hour)
        tickets[n] = (await submit(db, deps, maria)).ticket_id
        await commands.assign(AssignTicket(actor=agent, ticket_id=tickets[n]), deps)

    async def status(n: int, day: int, to: TicketStatus, hour: int = 9) -> None:
        await on(day, hour)
        change = ChangeStatus(actor=alpha, ticket_id=tickets[n], status=to)
        await commands.change_status(change, deps)

    async def available(agent: Actor, day: int, now: bool) -> None:
        await on(day, 9)
        await agents.set_availability(SetAvailability(actor=agent, available=now), deps)

    for minute, team in enumerate(([alpha], [alpha, beta], [alpha, beta, gamma])):
        clock.set(at(30, 9, month=9) + timedelta(minutes=minute))  # joined in this order
        await agents.set_queue_members(
            SetQueueMembers(actor=admin, queue=DESK, agent_ids=[a.user_id for a in team]), deps
        )
    await arrives(1, 1, 9, alpha)
    await arrives(2, 1, 10, alpha)
    await arrives(3, 2, 9, alpha)
    await status(1, 2, S.RESOLVED, hour=12)
    await available(beta, 5, now=False)
    await arrives(4, 5, 10, gamma)
    await arrives(5, 6, 9, alpha)
    await status(2, 7, S.RESOLVED)
    await available(beta, 8, now=True)
    await arrives(6, 8, 10, alpha)
    await status(3, 9, S.RESOLVED)
    await status(3, 12, S.OPEN)
    await arrives(7, 20, 9, beta)

    query = OperatorReplayAssignment(
        policy=AssignmentPolicy.LEAST_OPEN, since=replay_cli.since_of("2026-10-01"), queue=DESK
    )
    async with deps.uow() as uow:
        evs = await uow.events.since(query.since)
    from helpdesk.tickets.handlers.replay import happenings

    res = replay(happenings(evs), query.policy, since=query.since, queue=DESK)
    print("SPREADS", res.replayed_spreads, res.actual_spreads)
    for h in happenings(evs):
        print(h)
    printed = replay_cli.table(await replay_assignment(query, deps)).splitlines()
    assert printed[1:5] == [
        "agent  would receive  received  peak open (replay)  peak open (actual)",
        "Alpha              3         5                   2                   3",
        "Beta               2         1                   1                   1",
        "Gamma              2         1                   2                   1",
    ]
    assert printed[0].startswith("least_open replayed over 7 tickets submitted since 2026-10-01")
    assert printed[-1].endswith("replay mean 1.00, max 2; actual mean 2.00, max 3")
