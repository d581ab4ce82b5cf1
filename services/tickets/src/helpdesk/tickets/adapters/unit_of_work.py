"""The PostgreSQL unit of work: one pooled connection, one transaction.

Everything a use case does through it — loading and saving tickets (event
store, outbox and projections), taking a ticket number, reading the users
projection and the read models — commits together or not at all.

`one_statement=True` is the same promise without a transaction, for a use
case whose only write is one `tickets.save` whose projections all `write`
(a submit without an Idempotency-Key): its reads run as they come, and the
save — events, outbox rows, projections — is collected and written at
`commit` as a single statement, which PostgreSQL commits whole or not at
all. That is two round trips (BEGIN, COMMIT) and a statement fewer per
submit. Any other write is refused in that mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime
from types import TracebackType
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.transaction import Transaction
from pydantic import BaseModel

from helpdesk.contracts.reports import GroupBy, SlaReportRow
from helpdesk.contracts.tickets import TicketList, TicketSearchResults
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import ConcurrencyError, EventStore, NewEvent
from helpdesk.servicekit.projections import Projection
from helpdesk.servicekit.statements import Write, merged
from helpdesk.tickets.adapters import (
    history,
    idempotency,
    projections,
    read_model,
    search,
    users,
)
from helpdesk.tickets.adapters.agents import PostgresAgents
from helpdesk.tickets.adapters.repository import PostgresTickets, next_number, user_and_number
from helpdesk.tickets.domain.search import SearchTerms
from helpdesk.tickets.handlers.deps import KnownUser, TicketFilter


class PostgresUnitOfWork:
    tickets: PostgresTickets

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        one_statement: bool = False,
    ) -> None:
        self._pool = pool
        self._store = store
        self._projections = projections
        self._one_statement = one_statement
        self._stack = AsyncExitStack()
        self._conn: Connection | None = None
        self._transaction: Transaction | None = None
        self._agents: PostgresAgents | None = None
        # One-statement mode: the collected save.
        self._save: tuple[str, int, list[NewEvent], list[Write]] | None = None

    @classmethod
    def factory(
        cls, pool: asyncpg.Pool, store: EventStore, projections: Sequence[Projection]
    ) -> Callable[..., PostgresUnitOfWork]:
        def make(*, one_statement: bool = False) -> PostgresUnitOfWork:
            return cls(pool, store, projections, one_statement=one_statement)

        return make

    async def __aenter__(self) -> PostgresUnitOfWork:
        self._conn = await self._stack.enter_async_context(self._pool.acquire())
        if self._one_statement:
            self.tickets = PostgresTickets(self._conn, self._store, self._projections, self)
            return self
        self._transaction = self._conn.transaction()
        await self._transaction.start()
        self.tickets = PostgresTickets(self._conn, self._store, self._projections)
        self._agents = PostgresAgents(self._conn, self._store, self._projections)
        return self

    @property
    def agents(self) -> PostgresAgents:
        if self._agents is None:
            raise RuntimeError("a one-statement unit of work has no agents")
        return self._agents

    def collect(
        self, stream_id: str, expected_version: int, events: list[NewEvent], writes: list[Write]
    ) -> None:
        """The one save of a one-statement unit, written at `commit`."""
        if self._save is not None:
            raise RuntimeError("a one-statement unit of work saves once")
        self._save = (stream_id, expected_version, events, writes)

    def _needs_transaction(self) -> None:
        if self._one_statement:
            raise RuntimeError("this write needs a transaction: not a one-statement unit")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._conn is not None and self._conn.is_in_transaction():
                assert self._transaction is not None
                await self._transaction.rollback()  # whatever was not committed
        finally:
            self._transaction = None
            await self._stack.aclose()

    async def commit(self) -> None:
        if not self._one_statement:
            assert self._transaction is not None
            await self._transaction.commit()
            return
        if self._save is None:
            return
        stream_id, expected_version, events, writes = self._save
        try:
            await merged(writes).run(self.conn)
        except asyncpg.IntegrityConstraintViolationError as exc:
            if not EventStore.conflict(exc):
                raise
            if await EventStore.stored(self.conn, events):
                return  # the same save, retried: it was written whole the first time
            raise ConcurrencyError(stream_id, expected_version) from exc
        finally:
            self._save = None

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "use the unit of work in `async with`"
        return self._conn

    async def first_answer(
        self, user_id: UUID, key: str, fingerprint: str
    ) -> dict[str, Any] | None:
        self._needs_transaction()
        return await idempotency.first_answer(self.conn, user_id, key, fingerprint)

    async def remember_answer(self, user_id: UUID, key: str, answer: dict[str, Any]) -> None:
        self._needs_transaction()
        await idempotency.remember_answer(self.conn, user_id, key, answer)

    async def user(self, user_id: UUID) -> KnownUser | None:
        return await users.find_user(self.conn, user_id)

    async def next_number(self, now: datetime) -> str:
        return await next_number(self.conn, now)

    async def user_and_number(self, user_id: UUID, now: datetime) -> tuple[KnownUser | None, str]:
        return await user_and_number(self.conn, user_id, now)

    async def active_user_by_email(self, email: str) -> KnownUser | None:
        return await users.find_active_user_by_email(self.conn, email)

    async def ticket_by_number(self, number: str) -> UUID | None:
        found = await self.conn.fetchval("SELECT ticket_id FROM tickets WHERE number = $1", number)
        return found if isinstance(found, UUID) else None

    async def mail_result(self, mail_id: str) -> dict[str, Any] | None:
        found = await self.conn.fetchval(
            "SELECT result FROM mail_intake WHERE mail_id = $1", mail_id
        )
        return found if isinstance(found, dict) else None

    async def record_mail(self, mail_id: str, ticket_id: UUID, result: BaseModel) -> None:
        self._needs_transaction()
        await self.conn.execute(
            "INSERT INTO mail_intake (mail_id, ticket_id, result) VALUES ($1, $2, $3)",
            mail_id,
            ticket_id,
            result.model_dump(mode="json"),
        )

    async def ticket_list(
        self, filters: TicketFilter, *, cursor: str | None, limit: int
    ) -> TicketList:
        return await read_model.ticket_list(self.conn, filters, cursor=cursor, limit=limit)

    async def search(
        self,
        terms: SearchTerms,
        filters: TicketFilter,
        *,
        include_notes: bool,
        cursor: str | None,
        limit: int,
    ) -> TicketSearchResults:
        return await search.search(
            self.conn, terms, filters, include_notes=include_notes, cursor=cursor, limit=limit
        )

    async def ticket_list_as_of(
        self, filters: TicketFilter, as_of: datetime, *, cursor: str | None, limit: int
    ) -> TicketList:
        return await history.list_as_of(self.conn, filters, as_of, cursor=cursor, limit=limit)

    async def sla_report(
        self, *, start: datetime, end: datetime, as_of: datetime, group_by: GroupBy
    ) -> tuple[list[SlaReportRow], SlaReportRow]:
        return await history.sla_report(
            self.conn, start=start, end=end, as_of=as_of, group_by=group_by
        )

    async def tickets_due(self, now: datetime, limit: int) -> list[UUID]:
        return await projections.tickets_due(self.conn, now, limit)

    async def claim_sla_check(self, ticket_id: UUID) -> bool:
        self._needs_transaction()
        # Transaction-scoped: released at commit or rollback.
        return bool(
            await self.conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1))", f"sla:{ticket_id}"
            )
        )

    async def settle_deadlines(self, ticket_id: UUID, now: datetime) -> None:
        self._needs_transaction()
        await projections.settle_deadlines(self.conn, ticket_id, now)
