"""The PostgreSQL unit of work: one pooled connection, one transaction.

Everything a use case does through it — loading and saving tickets (event
store, outbox and projections), taking a ticket number, reading the users
projection and the read models — commits together or not at all.
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
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.servicekit.projections import Projection
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
    agents: PostgresAgents

    def __init__(
        self, pool: asyncpg.Pool, store: EventStore, projections: Sequence[Projection]
    ) -> None:
        self._pool = pool
        self._store = store
        self._projections = projections
        self._stack = AsyncExitStack()
        self._conn: Connection | None = None
        self._transaction: Transaction | None = None

    @classmethod
    def factory(
        cls, pool: asyncpg.Pool, store: EventStore, projections: Sequence[Projection]
    ) -> Callable[[], PostgresUnitOfWork]:
        return lambda: cls(pool, store, projections)

    async def __aenter__(self) -> PostgresUnitOfWork:
        self._conn = await self._stack.enter_async_context(self._pool.acquire())
        self._transaction = self._conn.transaction()
        await self._transaction.start()
        self.tickets = PostgresTickets(self._conn, self._store, self._projections)
        self.agents = PostgresAgents(self._conn, self._store, self._projections)
        return self

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
        assert self._transaction is not None
        await self._transaction.commit()

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "use the unit of work in `async with`"
        return self._conn

    async def first_answer(
        self, user_id: UUID, key: str, fingerprint: str
    ) -> dict[str, Any] | None:
        return await idempotency.first_answer(self.conn, user_id, key, fingerprint)

    async def remember_answer(self, user_id: UUID, key: str, answer: dict[str, Any]) -> None:
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
        # Transaction-scoped: released at commit or rollback.
        return bool(
            await self.conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext($1))", f"sla:{ticket_id}"
            )
        )

    async def settle_deadlines(self, ticket_id: UUID, now: datetime) -> None:
        await projections.settle_deadlines(self.conn, ticket_id, now)
