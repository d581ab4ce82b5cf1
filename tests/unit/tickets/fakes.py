"""In-memory stand-ins for the tickets service's ports (`handlers/deps.py`).

`FakeDatabase` is the shared state (ticket streams of private events, the
users projection, the number counters); each `FakeUnitOfWork` stages its
writes and applies them on `commit`, so a refused or failed attempt leaves
nothing behind — as the PostgreSQL transaction does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.agents import (
    AgentAvailabilityChanged,
    QueueMember,
    QueueMembersChanged,
    SavedFilter,
)
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.privacy import TicketsRetentionApplied
from helpdesk.contracts.reports import SlaReportRow
from helpdesk.contracts.tickets import (
    RATING_LINK_KEY_LABEL,
    RATING_TOKEN_MAX,
    Contact,
    TicketList,
    TicketSearchResults,
    TicketStatus,
    TicketSummary,
)
from helpdesk.servicekit.clock import ManualClock
from helpdesk.servicekit.eventstore import ConcurrencyError
from helpdesk.servicekit.privacy import KeyEncryptionKeys, SignedTokens
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.adapters.read_model import decode_cursor, encode_cursor
from helpdesk.tickets.adapters.repository import NUMBER_TIMEZONE
from helpdesk.tickets.domain.assignment import Candidate
from helpdesk.tickets.domain.events import Assigned, TicketEvent
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.ticket import Ticket
from helpdesk.tickets.handlers.deps import Deps, IdempotencyKeyReused, TicketFilter
from helpdesk.tickets.handlers.views import summary_of

POLICY = load_policy()
OPEN_WORK = (TicketStatus.SUBMITTED, TicketStatus.OPEN, TicketStatus.PENDING)


@dataclass(frozen=True)
class FakeUser:
    contact: Contact
    roles: tuple[Role, ...]
    active: bool = True

    @property
    def is_agent(self) -> bool:
        return Role.AGENT in self.roles or Role.ADMIN in self.roles


@dataclass
class FakeDatabase:
    streams: dict[UUID, list[TicketEvent]] = field(default_factory=dict)
    users: dict[UUID, FakeUser] = field(default_factory=dict)
    numbers: dict[int, int] = field(default_factory=dict)
    # Deadlines the SLA monitor settled, and tickets another replica is checking.
    settled: list[UUID] = field(default_factory=list)
    claimed_elsewhere: set[UUID] = field(default_factory=set)
    claimed: set[UUID] = field(default_factory=set)  # by open units of work
    # Runs once, just before the next save: another writer getting in first.
    before_next_save: Callable[[], None] | None = None
    commits: int = 0
    # (user, Idempotency-Key) -> (fingerprint, answer)
    answers: dict[tuple[UUID, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    # What each mail (by its Message-ID) became: the mail channel's idempotency.
    mails: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Queues' members and agents' availability (the agents' events, in order).
    members: dict[str, list[UUID]] = field(default_factory=dict)
    away: dict[UUID, datetime | None] = field(default_factory=dict)
    agent_events: list[EventData] = field(default_factory=list)
    member_since: dict[tuple[str, UUID], datetime] = field(default_factory=dict)
    # When each user's active status was last set (a deactivation's time).
    active_as_of: dict[UUID, datetime] = field(default_factory=dict)
    # Agents' saved filters, by user and name.
    filters: dict[UUID, dict[str, SavedFilter]] = field(default_factory=dict)
    # Privacy: each person's keys (key id -> owner), the tickets whose texts were
    # redacted or read models projected again, the expired ones, retention runs.
    key_owners: dict[UUID, UUID] = field(default_factory=dict)
    redacted: list[UUID] = field(default_factory=list)
    projected_again: list[UUID] = field(default_factory=list)
    expired: dict[UUID, datetime] = field(default_factory=dict)
    retention_runs: list[TicketsRetentionApplied] = field(default_factory=list)

    def add_user(self, name: str, *roles: Role) -> Actor:
        """A user the users projection knows, and their verified actor."""
        user_id = uuid4()
        roles = roles or (Role.CUSTOMER,)
        contact = Contact(user_id=user_id, name=name, email=f"{user_id.hex[:8]}@example.com")
        self.users[user_id] = FakeUser(contact, roles)
        return Actor(user_id=user_id, roles=list(roles))

    def ticket(self, ticket_id: UUID) -> Ticket:
        return Ticket.fold(ticket_id, self.streams.get(ticket_id, []))

    def events_of(self, ticket_id: UUID) -> list[type[TicketEvent]]:
        return [type(e) for e in self.streams.get(ticket_id, [])]

    def event_count(self) -> int:
        return sum(len(events) for events in self.streams.values())


class FakeTickets:
    def __init__(self, db: FakeDatabase, staged: dict[UUID, list[TicketEvent]]) -> None:
        self.db = db
        self.staged = staged

    async def get(self, ticket_id: UUID) -> Ticket:
        return self.db.ticket(ticket_id)

    async def id_of_number(self, number: str) -> UUID | None:
        for ticket_id in self.db.streams:
            if self.db.ticket(ticket_id).number == number:
                return ticket_id
        return None

    async def save(self, ticket: Ticket, *, by: UUID | None = None) -> None:
        if not ticket.pending:
            return
        if self.db.before_next_save is not None:
            interleave, self.db.before_next_save = self.db.before_next_save, None
            interleave()
        stored = self.db.streams.get(ticket.ticket_id, [])
        if len(stored) != ticket.version:
            raise ConcurrencyError(f"ticket-{ticket.ticket_id}", ticket.version)
        self.staged[ticket.ticket_id] = stored + list(ticket.pending)
        ticket.saved()


class FakeAgents:
    """Queues and availability; events are staged and applied at commit."""

    def __init__(self, db: FakeDatabase, staged: list[EventData]) -> None:
        self.db = db
        self.staged = staged

    async def record(self, stream: str, event: EventData, *, by: UUID | None) -> None:
        self.staged.append(event)

    @staticmethod
    def apply(db: FakeDatabase, event: EventData) -> None:
        db.agent_events.append(event)
        if isinstance(event, QueueMembersChanged):
            db.members[event.queue] = list(event.members)
            for user_id in event.members:
                db.member_since.setdefault((event.queue, user_id), event.at)
        elif isinstance(event, AgentAvailabilityChanged):
            if event.available:
                db.away.pop(event.user_id, None)
            else:
                db.away[event.user_id] = event.back_at

    async def members(self, queue: str) -> list[QueueMember]:
        return [
            QueueMember(
                user_id=u,
                name=self.db.users[u].contact.name if u in self.db.users else None,
                available=u not in self.db.away,
                open_tickets=len(await self.open_tickets_of(u)),
            )
            for u in self.db.members.get(queue, [])
        ]

    async def member_ids(self, queue: str) -> list[UUID]:
        return list(self.db.members.get(queue, []))

    async def queues_of(self, user_id: UUID) -> list[str]:
        return sorted(q for q, members in self.db.members.items() if user_id in members)

    async def availability(self, user_id: UUID) -> tuple[bool, datetime | None]:
        return (user_id not in self.db.away, self.db.away.get(user_id))

    async def open_tickets_of(self, user_id: UUID) -> list[UUID]:
        return [
            ticket_id
            for ticket_id in self.db.streams
            if (t := self.db.ticket(ticket_id)).assignee is not None
            and t.assignee.user_id == user_id
            and t.status in OPEN_WORK
        ]

    async def lock_queue(self, queue: str) -> None:
        pass  # one event loop, no interleaving inside a use case

    async def candidates(self, queue: str) -> list[Candidate]:
        found = []
        for user_id in self.db.members.get(queue, []):
            user = self.db.users.get(user_id)
            if user is None or not user.active or not user.is_agent:
                continue
            assigned = [
                (e.at, t.queue)
                for t in map(self.db.ticket, self.db.streams)
                for e in self.db.streams[t.ticket_id]
                if isinstance(e, Assigned) and e.assignee.user_id == user_id
            ]
            found.append(
                Candidate(
                    contact=user.contact,
                    available=user_id not in self.db.away,
                    open_tickets=len(await self.open_tickets_of(user_id)),
                    last_assigned_at=max((at for at, _ in assigned), default=None),
                    last_from_queue_at=max((at for at, q in assigned if q == queue), default=None),
                    member_since=self.db.member_since[(queue, user_id)],
                )
            )
        return sorted(found, key=lambda c: (c.member_since, str(c.user_id)))

    async def waiting(self, queues: Sequence[str], limit: int) -> list[UUID]:
        found = [
            summary_of(self.db.ticket(ticket_id))
            for ticket_id in self.db.streams
            if (t := self.db.ticket(ticket_id)).queue in queues
            and t.assignee is None
            and t.status in OPEN_WORK
        ]
        found.sort(key=lambda s: (_next_due(s) is None, _next_due(s) or s.created_at, s.created_at))
        return [s.ticket_id for s in found[:limit]]

    async def active_agents(self, user_ids: list[UUID]) -> set[UUID]:
        return {u for u in user_ids if u in self.db.users and self.db.users[u].is_agent}

    async def admins_of(self, queue: str) -> list[Contact]:
        admins = sorted(
            (i for i, u in self.db.users.items() if u.active and Role.ADMIN in u.roles), key=str
        )
        members = [i for i in admins if i in self.db.members.get(queue, [])]
        return [self.db.users[i].contact for i in members or admins]

    async def ids_by_username(self, usernames: list[str]) -> dict[str, UUID]:
        by_name = {(u.contact.name or "").lower(): i for i, u in self.db.users.items()}
        return {n.lower(): by_name[n.lower()] for n in usernames if n.lower() in by_name}


class FakeUsers:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def get(self, user_id: UUID) -> FakeUser | None:
        return self.db.users.get(user_id)

    async def active_by_email(self, email: str) -> FakeUser | None:
        for user in self.db.users.values():
            address = (user.contact.email or "").lower()
            if user.active and address == email.strip().lower():
                return user
        return None

    async def active_by_login(self, login: str) -> FakeUser | None:
        """The fake's username is the name (as for `ids_by_username`)."""
        wanted = login.strip().lower()
        for user in self.db.users.values():
            if user.active and (user.contact.name or "").lower() == wanted:
                return user
        return await self.active_by_email(login)

    async def set_active(self, user_id: UUID, active: bool, at: datetime) -> bool:
        user = self.db.users.get(user_id)
        as_of = self.db.active_as_of.get(user_id)
        if as_of is not None and as_of > at:
            return False
        self.db.active_as_of[user_id] = at
        if user is not None:
            self.db.users[user_id] = replace(user, active=active)
        return True


class FakeNumbers:
    def __init__(self, db: FakeDatabase, staged: dict[int, int]) -> None:
        self.db = db
        self.staged = staged

    async def next(self, now: datetime) -> str:
        year = now.astimezone(NUMBER_TIMEZONE).year
        number = self.staged.get(year, self.db.numbers.get(year, 0)) + 1
        self.staged[year] = number
        return f"HD-{year}-{number:06d}"

    async def next_with_requester(
        self, user_id: UUID, now: datetime
    ) -> tuple[FakeUser | None, str]:
        return self.db.users.get(user_id), await self.next(now)


class FakeAnswers:
    def __init__(
        self, db: FakeDatabase, staged: dict[tuple[UUID, str], tuple[str, dict[str, Any]]]
    ) -> None:
        self.db = db
        self.staged = staged
        self.claims: dict[tuple[UUID, str], str] = {}

    async def first(self, user_id: UUID, key: str, fingerprint: str) -> dict[str, Any] | None:
        stored = self.db.answers.get((user_id, key))
        if stored is None:
            self.claims[(user_id, key)] = fingerprint
            return None
        if stored[0] != fingerprint:
            raise IdempotencyKeyReused()
        return stored[1]

    async def remember(self, user_id: UUID, key: str, answer: dict[str, Any]) -> None:
        self.staged[(user_id, key)] = (self.claims[(user_id, key)], answer)


class FakeMailLog:
    def __init__(self, db: FakeDatabase, staged: dict[str, dict[str, Any]]) -> None:
        self.db = db
        self.staged = staged

    async def result_of(self, mail_id: str) -> dict[str, Any] | None:
        return self.db.mails.get(mail_id)

    async def record(self, mail_id: str, ticket_id: UUID, result: BaseModel) -> None:
        if mail_id in self.db.mails or mail_id in self.staged:
            raise AssertionError("unique violation: mail_intake")
        self.staged[mail_id] = result.model_dump(mode="json")


class FakeViews:
    """The tickets list; search and history are PostgreSQL's full-text and
    window queries, tested against PostgreSQL only (tests/integration/tickets)."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def page(self, filters: TicketFilter, *, cursor: str | None, limit: int) -> TicketList:
        offset = decode_cursor(cursor)
        found = [summary_of(self.db.ticket(t)) for t in self.db.streams]
        found = [s for s in found if _matches(s, filters)]
        if filters.soonest_due_first:
            found.sort(key=lambda s: (_next_due(s) is None, _next_due(s) or s.created_at, s.number))
        else:
            found.sort(key=lambda s: (s.created_at, s.number), reverse=True)
        page = found[offset : offset + limit]
        more = len(found) > offset + limit
        return TicketList(items=page, next_cursor=encode_cursor(offset + limit) if more else None)

    async def search(self, *args: Any, **kwargs: Any) -> TicketSearchResults:
        raise NotImplementedError("full-text search: tests/integration/tickets/test_search.py")

    async def page_as_of(self, *args: Any, **kwargs: Any) -> TicketList:
        raise NotImplementedError("history: tests/integration/tickets/test_reports.py")

    async def sla_report(
        self, *args: Any, **kwargs: Any
    ) -> tuple[list[SlaReportRow], SlaReportRow]:
        raise NotImplementedError("history: tests/integration/tickets/test_reports.py")


class FakeEventLog:
    """The tickets' events (as the contract publishes them) and the agents' events,
    by their time (the fake keeps no global order of its own)."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    async def since(self, at: datetime) -> list[EventData]:
        found: list[EventData] = list(self.db.agent_events)
        for ticket_id in self.db.streams:
            ticket = self.db.ticket(ticket_id)
            if ticket.created_at is not None and ticket.created_at >= at:
                found += contract_events(ticket, start=0)
        return sorted(found, key=lambda e: e.at)  # type: ignore[attr-defined]


class FakeSavedFilters:
    """Reads see this unit's own writes; the writes reach the database at commit."""

    def __init__(self, db: FakeDatabase, staged: dict[UUID, dict[str, SavedFilter]]) -> None:
        self.db = db
        self.staged = staged

    def _mine(self, user_id: UUID) -> dict[str, SavedFilter]:
        if user_id not in self.staged:
            self.staged[user_id] = dict(self.db.filters.get(user_id, {}))
        return self.staged[user_id]

    async def of(self, user_id: UUID) -> list[SavedFilter]:
        return sorted(self._mine(user_id).values(), key=lambda f: f.name)

    async def save(self, user_id: UUID, saved: SavedFilter, *, limit: int) -> bool:
        mine = self._mine(user_id)
        if len([n for n in mine if n != saved.name]) >= limit:
            return False
        mine[saved.name] = saved
        return True

    async def delete(self, user_id: UUID, name: str) -> None:
        self._mine(user_id).pop(name, None)


class FakeDeadlines:
    def __init__(self, db: FakeDatabase, staged: list[UUID]) -> None:
        self.db = db
        self.staged = staged
        self.held: set[UUID] = set()

    async def due(self, now: datetime, limit: int) -> list[UUID]:
        due = []
        for ticket_id in self.db.streams:
            sla = self.db.ticket(ticket_id).sla
            times = [
                t
                for t in (
                    sla.first_response_warning_at,
                    sla.first_response_due,
                    sla.resolution_warning_at,
                    sla.resolution_due,
                    sla.escalate_at,
                    sla.auto_close_at,
                )
                if t is not None and t <= now
            ]
            if times and ticket_id not in self.db.settled:
                due.append(ticket_id)
        return due[:limit]

    async def claim(self, ticket_id: UUID) -> bool:
        """Held by this unit until it ends, as PostgreSQL's transaction-scoped lock."""
        if ticket_id in self.db.claimed_elsewhere or ticket_id in self.db.claimed - self.held:
            return False
        self.db.claimed.add(ticket_id)
        self.held.add(ticket_id)
        return True

    def release(self) -> None:
        self.db.claimed -= self.held
        self.held.clear()

    async def settle(self, ticket_id: UUID, now: datetime) -> None:
        self.staged.append(ticket_id)


class FakePersonalRecords:
    """What a scrub did, as lists the tests read (staged until commit); the stored
    events themselves are the aggregate's, so what redacting and projecting again
    write is PostgreSQL's alone (tests/integration/tickets/test_erasure.py,
    test_retention.py)."""

    def __init__(self, db: FakeDatabase, staged: list[Callable[[], None]]) -> None:
        self.db = db
        self.staged = staged

    async def requested_by(self, user_id: UUID) -> list[UUID]:
        tickets = map(self.db.ticket, self.db.streams)
        return sorted(
            t.ticket_id for t in tickets if t.requester and t.requester.user_id == user_id
        )

    async def sealed_under(self, key_ids: Sequence[UUID]) -> list[UUID]:
        """The tickets with an event naming one of the keys' owners (a person's name is
        sealed under their key wherever a contact of theirs is stored)."""
        owners = {self.db.key_owners[k] for k in key_ids if k in self.db.key_owners}
        return sorted(
            ticket_id
            for ticket_id, events in self.db.streams.items()
            if any(
                isinstance(value, Contact) and value.user_id in owners
                for event in events
                for value in vars(event).values()
            )
        )

    async def closed_before(self, at: datetime, limit: int) -> list[UUID]:
        closed = [
            ticket
            for ticket in map(self.db.ticket, self.db.streams)
            if ticket.status is TicketStatus.CLOSED
            and ticket.updated_at is not None
            and ticket.updated_at < at
            and ticket.ticket_id not in self.db.expired
        ]
        return [t.ticket_id for t in sorted(closed, key=lambda t: t.updated_at or at)][:limit]

    async def redact_requester_texts(self, ticket_id: UUID) -> int:
        self.staged.append(lambda: self.db.redacted.append(ticket_id))
        return len(self.db.streams.get(ticket_id, []))

    async def project_again(self, ticket_ids: Sequence[UUID]) -> None:
        self.staged.append(lambda: self.db.projected_again.extend(ticket_ids))

    async def forget_person(self, user_id: UUID, ticket_ids: Sequence[UUID]) -> None:
        named = {str(t) for t in ticket_ids}

        def forget() -> None:
            if (user := self.db.users.get(user_id)) is not None:
                self.db.users[user_id] = replace(user, contact=Contact(user_id=user_id))
            self.db.answers = {
                (owner, key): answer
                for (owner, key), answer in self.db.answers.items()
                if owner != user_id and answer[1].get("ticket_id") not in named
            }

        self.staged.append(forget)

    async def mark_expired(self, ticket_id: UUID, at: datetime) -> None:
        def expire() -> None:
            self.db.expired.setdefault(ticket_id, at)

        self.staged.append(expire)

    async def record_retention(self, run: TicketsRetentionApplied) -> None:
        self.staged.append(lambda: self.db.retention_runs.append(run))


class FakeUnitOfWork:
    """Stages every port's writes and applies them at `commit`."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self._streams: dict[UUID, list[TicketEvent]] = {}
        self._numbers: dict[int, int] = {}
        self._settled: list[UUID] = []
        self._answers: dict[tuple[UUID, str], tuple[str, dict[str, Any]]] = {}
        self._mails: dict[str, dict[str, Any]] = {}
        self._agent_events: list[EventData] = []
        self._filters: dict[UUID, dict[str, SavedFilter]] = {}
        self.tickets = FakeTickets(db, self._streams)
        self.agents = FakeAgents(db, self._agent_events)
        self.users = FakeUsers(db)
        self.numbers = FakeNumbers(db, self._numbers)
        self.views = FakeViews(db)
        self.events = FakeEventLog(db)
        self.filters = FakeSavedFilters(db, self._filters)
        self.answers = FakeAnswers(db, self._answers)
        self.mail_log = FakeMailLog(db, self._mails)
        self.deadlines = FakeDeadlines(db, self._settled)
        self._scrubs: list[Callable[[], None]] = []
        self.records = FakePersonalRecords(db, self._scrubs)

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    def _unstage(self) -> None:
        for staged in (
            self._streams,
            self._numbers,
            self._settled,
            self._answers,
            self._mails,
            self._agent_events,
            self._filters,
            self._scrubs,
        ):
            staged.clear()

    async def __aexit__(self, *exc_info: object) -> None:
        self._unstage()  # what was not committed is gone
        self.answers.claims.clear()
        self.deadlines.release()

    async def commit(self) -> None:
        for ticket_id, events in self._streams.items():
            if len(self.db.streams.get(ticket_id, [])) >= len(events):
                raise ConcurrencyError(f"ticket-{ticket_id}", len(events))
            self.db.streams[ticket_id] = events
        self.db.numbers.update(self._numbers)
        self.db.settled += self._settled
        self.db.answers.update(self._answers)
        self.db.mails.update(self._mails)
        self.db.filters.update(self._filters)
        for event in self._agent_events:
            FakeAgents.apply(self.db, event)
        for scrub in self._scrubs:
            scrub()
        self._unstage()
        self.deadlines.release()
        self.db.commits += 1


def _next_due(summary: TicketSummary) -> datetime | None:
    times = [t for t in (summary.first_response_due, summary.resolution_due) if t is not None]
    return min(times) if times else None


def _matches(s: TicketSummary, f: TicketFilter) -> bool:
    assignee_id = s.assignee.user_id if s.assignee else None
    return (
        (f.requester_id is None or s.requester.user_id == f.requester_id)
        and (not f.queue or s.queue == f.queue)
        and (f.queues is None or s.queue in f.queues)
        and (not f.assignee_id or assignee_id == f.assignee_id)
        and (not f.unassigned or assignee_id is None)
        and (not f.hide_closed or s.status is not TicketStatus.CLOSED)
        and (f.priority is None or s.priority is f.priority)
        and (f.status is None or s.status is f.status)
    )


# The rating links' keys, from a KEK of the tests (the notifier's tests sign with them).
TEST_KEK = KeyEncryptionKeys.generate()
TEST_KEKS = KeyEncryptionKeys.parse(TEST_KEK)
RATING_LINKS = SignedTokens.of(TEST_KEKS, RATING_LINK_KEY_LABEL, max_chars=RATING_TOKEN_MAX)


def fake_deps(db: FakeDatabase, clock: ManualClock, policy: RoutingPolicy = POLICY) -> Deps:
    return Deps(
        uow=lambda one_statement=False: FakeUnitOfWork(db),
        policy=policy,
        clock=clock,
        rating_links=RATING_LINKS,
    )
