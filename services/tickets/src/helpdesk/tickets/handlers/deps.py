"""What the use cases need, as ports: `Deps` (bound once in `bootstrap.py`) and
the `UnitOfWork` they open for each attempt.

A unit of work is one transaction over named ports: the tickets repository,
the agent directory, the users projection, the per-year ticket numbers, the
read models, the records that make requests and mails idempotent, and what
an erasure or the retention of closed tickets scrubs. What is not committed
is rolled back when the `async with` block ends. The PostgreSQL
implementation is `adapters/unit_of_work.py`; use-case tests use the
in-memory one in `tests/unit/tickets/fakes.py`, and one contract suite
(`tests/integration/tickets/test_port_contracts.py`) runs against both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeAlias
from uuid import UUID

from pydantic import BaseModel

from helpdesk.contracts.actors import Actor, Role
from helpdesk.contracts.agents import QueueMember, SavedFilter
from helpdesk.contracts.attachments import DEFAULT_TICKET_MAX_BYTES
from helpdesk.contracts.envelope import EventData
from helpdesk.contracts.messages import Request
from helpdesk.contracts.priorities import Priority
from helpdesk.contracts.privacy import TicketsRetentionApplied
from helpdesk.contracts.replies import Refused
from helpdesk.contracts.reports import GroupBy, SlaReportRow
from helpdesk.contracts.tickets import (
    Contact,
    RatingLink,
    TicketList,
    TicketSearchResults,
    TicketStatus,
)
from helpdesk.servicekit.clock import Clock
from helpdesk.tickets.domain.assignment import Candidate
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.errors import InvalidRatingLink
from helpdesk.tickets.domain.routing import RoutingPolicy
from helpdesk.tickets.domain.search import SearchTerms
from helpdesk.tickets.domain.ticket import Ticket


class TicketRepository(Protocol):
    async def get(self, ticket_id: UUID) -> Ticket:
        """The ticket folded from its stream; `exists` is False if there is none."""

    async def save(self, ticket: Ticket, *, by: UUID | None = None) -> None:
        """Store the ticket's new events, publish them, update the read models.

        Raises `ConcurrencyError` if its stream moved on since it was loaded.
        """

    async def id_of_number(self, number: str) -> UUID | None:
        """The ticket with this number (`HD-2026-000042`), None if there is none."""


class KnownUser(Protocol):
    """A user as the users projection knows them (from identity's events)."""

    @property
    def contact(self) -> Contact: ...

    @property
    def is_agent(self) -> bool: ...


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets a list shows, and in which order."""

    requester_id: UUID | None = None  # only this requester's
    queue: str | None = None
    queues: tuple[str, ...] | None = None  # only these queues (an agent's own)
    assignee_id: UUID | None = None
    unassigned: bool = False
    priority: Priority | None = None
    status: TicketStatus | None = None
    hide_closed: bool = False
    soonest_due_first: bool = False  # the agents' working order; else newest first


@dataclass(frozen=True)
class SearchQuery:
    """A search: its words, the list's filters, whether internal notes count, a page."""

    terms: SearchTerms
    filters: TicketFilter
    include_notes: bool = False
    cursor: str | None = None
    limit: int = 20


class IdempotencyKeyReused(Refused):
    """The same `Idempotency-Key` with a different request (the IETF draft's 422)."""

    code = "validation_error"
    default_message = "This Idempotency-Key was used for a different request."
    field_error = ("Idempotency-Key", "already used with another request body; send a new key")


class AgentDirectory(Protocol):
    """Queues' members and agents' availability (`adapters/agents.py`)."""

    async def record(self, stream: str, event: EventData, *, by: UUID | None) -> None:
        """Append a queue's or an agent's event, publish it, project it."""

    async def members(self, queue: str) -> list[QueueMember]: ...

    async def member_ids(self, queue: str) -> list[UUID]: ...

    async def queues_of(self, user_id: UUID) -> list[str]: ...

    async def availability(self, user_id: UUID) -> tuple[bool, datetime | None]: ...

    async def open_tickets_of(self, user_id: UUID) -> list[UUID]: ...

    async def lock_queue(self, queue: str) -> None:
        """Serialise the assignments of one queue until the transaction ends."""

    async def active_agents(self, user_ids: list[UUID]) -> set[UUID]:
        """Those of `user_ids` the users projection knows as active agents."""

    async def ids_by_username(self, usernames: list[str]) -> dict[str, UUID]:
        """Lower-cased username -> user id, for those known."""

    async def candidates(self, queue: str) -> list[Candidate]:
        """The queue's active agents with what the assignment policies weigh."""

    async def waiting(self, queues: Sequence[str], limit: int) -> list[UUID]:
        """Unassigned open tickets of `queues`, soonest due first."""

    async def admins_of(self, queue: str) -> list[Contact]:
        """Who answers for the queue: its members who are active admins, else every
        active admin (a queue without an admin among its members), by user id."""


class UserDirectory(Protocol):
    """The users projection (from identity's events, `adapters/users.py`)."""

    async def get(self, user_id: UUID) -> KnownUser | None:
        """The user's record, None if identity's events have not arrived."""

    async def active_by_email(self, email: str) -> KnownUser | None:
        """The active user with this address (case-insensitive), None if there is none."""

    async def active_by_login(self, login: str) -> KnownUser | None:
        """The active user with this username or, failing that, this e-mail address
        (both without case), None if there is none."""

    async def set_active(self, user_id: UUID, active: bool, at: datetime) -> bool:
        """Record a status of `at`; False if a newer one is held already."""


class TicketNumbers(Protocol):
    """The per-year ticket numbers (a rolled-back submit leaves a gap)."""

    async def next(self, now: datetime) -> str:
        """The next ticket number of `now`'s year."""

    async def next_with_requester(
        self, user_id: UUID, now: datetime
    ) -> tuple[KnownUser | None, str]:
        """The requester's record and the next number in one round trip (a submit);
        the number is taken even when the user is unknown."""


class Answers(Protocol):
    """Answers to requests with an `Idempotency-Key` (`adapters/idempotency.py`)."""

    async def first(self, user_id: UUID, key: str, fingerprint: str) -> dict[str, Any] | None:
        """Claim (`user_id`, `key`) for this transaction; if a request with that key
        committed within the last 24 hours, its answer instead. Waits for a
        concurrent request with the same key to end. Raises `IdempotencyKeyReused`
        if that request was a different one (`fingerprint`)."""

    async def remember(self, user_id: UUID, key: str, answer: dict[str, Any]) -> None:
        """The answer to the claimed key, committed with what the request did."""


class MailLog(Protocol):
    """What each mail became (the mail channel's exactly-once, `handlers/mail.py`)."""

    async def result_of(self, mail_id: str) -> dict[str, Any] | None:
        """What the mail `mail_id` became the first time (its result as JSON), if seen."""

    async def record(self, mail_id: str, ticket_id: UUID, result: BaseModel) -> None:
        """Remember what the mail became, in this transaction."""


class TicketViews(Protocol):
    """The read models: lists, search and history (docs/search.md, docs/reports.md)."""

    async def page(self, filters: TicketFilter, *, cursor: str | None, limit: int) -> TicketList:
        """A page of the tickets read model; raises `BadCursor` for a foreign cursor."""

    async def search(self, query: SearchQuery) -> TicketSearchResults:
        """Ranked hits of the search projection; internal notes only if asked."""

    async def page_as_of(
        self, filters: TicketFilter, as_of: datetime, *, cursor: str | None, limit: int
    ) -> TicketList:
        """A page of the list as it stood at `as_of` (the history projection)."""

    async def sla_report(
        self, *, start: datetime, end: datetime, as_of: datetime, group_by: GroupBy
    ) -> tuple[list[SlaReportRow], SlaReportRow]:
        """The report's rows per group and its total, as the history stood at `as_of`."""


class Deadlines(Protocol):
    """The SLA monitor's questions (`handlers/sla.py`)."""

    async def due(self, now: datetime, limit: int) -> list[UUID]:
        """Tickets with an SLA deadline passed by `now` and not yet fired."""

    async def claim(self, ticket_id: UUID) -> bool:
        """Claim the ticket for this transaction; False if another replica holds it."""

    async def settle(self, ticket_id: UUID, now: datetime) -> None:
        """Mark its passed deadlines fired: the aggregate had nothing left to emit."""


class SavedFilterStore(Protocol):
    """Agents' named views of the queue (a preference, not a fact of the domain:
    kept as rows, not events)."""

    async def of(self, user_id: UUID) -> list[SavedFilter]:
        """The agent's saved filters, by name."""

    async def save(self, user_id: UUID, saved: SavedFilter, *, limit: int) -> bool:
        """Keep `saved` (replacing one of the same name); False when the agent has
        `limit` others already."""

    async def delete(self, user_id: UUID, name: str) -> None: ...


class EventLog(Protocol):
    """The stored events themselves, for the operator's assignment replay."""

    async def since(self, at: datetime) -> list[EventData]:
        """The events of the tickets submitted at or after `at`, and of every queue and
        agent from the start, in the order they were stored (contract events)."""


class PersonalRecords(Protocol):
    """What the service keeps of people beside the aggregate's own folding: the
    stored events' texts, the per-ticket read models, the users row and stored
    answers. An erasure and the retention of closed tickets scrub them
    (docs/privacy.md); the aggregate removes the files itself."""

    async def requested_by(self, user_id: UUID) -> list[UUID]:
        """The tickets `user_id` is the requester of."""

    async def sealed_under(self, key_ids: Sequence[UUID]) -> list[UUID]:
        """The tickets whose stored events hold a value sealed under one of `key_ids`
        (their own, and those where their name appears as an agent's)."""

    async def closed_before(self, at: datetime, limit: int) -> list[UUID]:
        """Up to `limit` tickets closed (and untouched) since before `at` whose texts
        are not yet redacted, the oldest first."""

    async def redact_requester_texts(self, ticket_id: UUID) -> int:
        """The ticket's stored events with every value of its requester's (its texts)
        erased; how many events changed."""

    async def project_again(self, ticket_ids: Sequence[UUID]) -> None:
        """The tickets' rows of the per-ticket read models, written anew from their
        events: exactly what a full rebuild would write."""

    async def forget_person(self, user_id: UUID, ticket_ids: Sequence[UUID]) -> None:
        """Their users row without name, username and e-mail; the stored answers to
        their requests, and those naming `ticket_ids`, gone."""

    async def mark_expired(self, ticket_id: UUID, at: datetime) -> None:
        """The ticket's retention is done (`closed_before` passes it over)."""

    async def record_retention(self, run: TicketsRetentionApplied) -> None:
        """A retention run, stored as an event of its own stream and published."""


class UnitOfWork(Protocol):
    """One transaction over the service's repositories and read ports."""

    @property
    def tickets(self) -> TicketRepository: ...

    @property
    def agents(self) -> AgentDirectory:
        """Read-only in a one-statement unit (no `record`, no `lock_queue`)."""

    @property
    def users(self) -> UserDirectory: ...

    @property
    def numbers(self) -> TicketNumbers: ...

    @property
    def views(self) -> TicketViews: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def filters(self) -> SavedFilterStore: ...

    # These need a transaction: a one-statement unit refuses them.

    @property
    def answers(self) -> Answers: ...

    @property
    def mail_log(self) -> MailLog: ...

    @property
    def deadlines(self) -> Deadlines: ...

    @property
    def records(self) -> PersonalRecords: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc_info: object) -> None:
        """Rolls back whatever was not committed."""

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, one_statement: bool = False) -> UnitOfWork:
        """A unit of work: a transaction, or with `one_statement` none at all —
        its reads run as they come and its one `tickets.save` is written as a
        single statement at `commit` (a submit: docs/platform.md)."""
        ...


async def caller_of(uow: UnitOfWork, actor: Actor) -> Caller:
    """The verified actor of a request, with the contact the users projection has for
    them; their roles come from the actor alone (`domain/caller.py` says why)."""
    known = await uow.users.get(actor.user_id)
    if known is not None and getattr(known, "deactivated", False):
        raise Deactivated()
    return Caller.of(actor, known.contact if known else Contact(user_id=actor.user_id))


def rating_link_of(deps: Deps, token: str) -> tuple[RatingLink, Actor]:
    """The verified rating link in `token` and the requester it lets rate (as a
    customer: the link proves who they are, as an access token would); forged,
    damaged and expired links are refused alike (`invalid_token`)."""
    payload = deps.rating_links.open(token) if deps.rating_links is not None else None
    link = RatingLink.from_bytes(payload) if payload is not None else None
    if link is None or link.expires_at <= deps.clock.now():
        raise InvalidRatingLink()
    return link, Actor(user_id=link.requester_id, roles=[Role.CUSTOMER])


class Deactivated(Refused):
    """An admin deactivated the caller: their still unexpired token acts no more."""

    code = "unauthenticated"
    default_message = "This account has been deactivated."


class SignedLinks(Protocol):
    """Verifies the rating links the notifier signs (servicekit.privacy.SignedTokens)."""

    def open(self, token: str) -> bytes | None:
        """The signed payload; None for a token no key signed."""
        ...


@dataclass(frozen=True)
class Deps:
    """The service's dependencies, the second argument of every handler."""

    uow: UnitOfWorkFactory
    policy: RoutingPolicy
    clock: Clock
    attachment_ticket_max_bytes: int = DEFAULT_TICKET_MAX_BYTES
    # Bound by the composition root; None only where no link is served (benchmarks).
    rating_links: SignedLinks | None = None


# `{Command: handler(command, deps)}`, the shape the kit's `bind` takes.
Table: TypeAlias = dict[type[Request[Any]], Callable[[Any, Deps], Awaitable[BaseModel]]]
