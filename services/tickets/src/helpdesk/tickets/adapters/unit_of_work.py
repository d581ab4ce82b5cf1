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
from uuid import UUID

import asyncpg
from asyncpg.transaction import Transaction

from helpdesk.contracts.tickets import TicketList
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore
from helpdesk.servicekit.projections import Projection
from helpdesk.tickets.adapters import projections, read_model, users
from helpdesk.tickets.adapters.agents import PostgresAgents
from helpdesk.tickets.adapters.repository import PostgresTickets, next_number
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

    async def user(self, user_id: UUID) -> KnownUser | None:
        return await users.find_user(self.conn, user_id)

    async def next_number(self, now: datetime) -> str:
        return await next_number(self.conn, now)

    async def ticket_list(
        self, filters: TicketFilter, *, cursor: str | None, limit: int
    ) -> TicketList:
        return await read_model.ticket_list(self.conn, filters, cursor=cursor, limit=limit)

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
