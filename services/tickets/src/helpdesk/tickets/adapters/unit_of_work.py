"""The PostgreSQL unit of work: one connection, one transaction, and the
service's ports on it (`handlers/deps.py`).

Everything a use case does through it — loading and saving tickets (event
store, outbox and projections), taking a ticket number, reading the users
projection and the read models — commits together or not at all.

`one_statement=True` is the same promise without a transaction, for a use
case whose only write is one `tickets.save` whose projections all `write`
(a submit without an Idempotency-Key): its reads run as they come, and the
save — events, outbox rows, projections — is collected and written at
`commit` as a single statement, which PostgreSQL commits whole or not at
all. That is two round trips (BEGIN, COMMIT) and a statement fewer per
submit. The ports that write outside the save (answers, the mail log,
deadlines, personal records, the agents' events and locks) are refused in
that mode.

A unit is either on a pooled connection of its own (`factory`) or on a
connection it is given (`on_connection`: a consumer's delivery; inside its
inbox transaction the unit is a savepoint).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, nullcontext

import asyncpg
from asyncpg.transaction import Transaction

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import ConcurrencyError, EventStore, NewEvent
from helpdesk.servicekit.projections import Projection
from helpdesk.servicekit.statements import Write, merged
from helpdesk.tickets.adapters.agents import PostgresAgents
from helpdesk.tickets.adapters.event_log import PostgresEventLog
from helpdesk.tickets.adapters.idempotency import PostgresAnswers
from helpdesk.tickets.adapters.mail_log import PostgresMailLog
from helpdesk.tickets.adapters.personal_records import PostgresPersonalRecords
from helpdesk.tickets.adapters.projections import PostgresDeadlines
from helpdesk.tickets.adapters.repository import PostgresNumbers, PostgresTickets
from helpdesk.tickets.adapters.saved_filters import PostgresSavedFilters
from helpdesk.tickets.adapters.users import PostgresUsers
from helpdesk.tickets.adapters.views import PostgresViews

Connect = Callable[[], AbstractAsyncContextManager[Connection]]


class Savepoint:
    """A unit's transaction inside one the kit began by hand (asyncpg refuses
    `conn.transaction()` there), with the same start/commit/rollback."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name

    async def start(self) -> None:
        await self.conn.execute(f"SAVEPOINT {self.name}")

    async def commit(self) -> None:
        await self.conn.execute(f"RELEASE SAVEPOINT {self.name}")

    async def rollback(self) -> None:
        await self.conn.execute(f"ROLLBACK TO SAVEPOINT {self.name}")


class PostgresUnitOfWork:
    tickets: PostgresTickets
    agents: PostgresAgents
    users: PostgresUsers
    numbers: PostgresNumbers
    views: PostgresViews
    events: PostgresEventLog
    filters: PostgresSavedFilters

    def __init__(
        self,
        connect: Connect,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        one_statement: bool = False,
    ) -> None:
        self._connect = connect
        self._store = store
        self._projections = projections
        self._one_statement = one_statement
        self._stack = AsyncExitStack()
        self._conn: Connection | None = None
        self._transaction: Transaction | Savepoint | None = None
        # One-statement mode: the collected save.
        self._save: tuple[str, int, list[NewEvent], list[Write]] | None = None

    @classmethod
    def factory(
        cls, pool: asyncpg.Pool, store: EventStore, projections: Sequence[Projection]
    ) -> Callable[..., PostgresUnitOfWork]:
        """Units each on a connection of their own from `pool`."""

        def make(*, one_statement: bool = False) -> PostgresUnitOfWork:
            return cls(pool.acquire, store, projections, one_statement=one_statement)

        return make

    @classmethod
    def on_connection(
        cls, conn: Connection, store: EventStore, projections: Sequence[Projection]
    ) -> Callable[..., PostgresUnitOfWork]:
        """Units on `conn`, which stays open after them (a consumer's delivery)."""

        def make(*, one_statement: bool = False) -> PostgresUnitOfWork:
            return cls(lambda: nullcontext(conn), store, projections, one_statement=one_statement)

        return make

    async def __aenter__(self) -> PostgresUnitOfWork:
        conn = self._conn = await self._stack.enter_async_context(self._connect())
        self.users = PostgresUsers(conn)
        self.numbers = PostgresNumbers(conn)
        self.views = PostgresViews(conn)
        self.events = PostgresEventLog(conn)
        self.filters = PostgresSavedFilters(conn)
        if self._one_statement:
            self.tickets = PostgresTickets(conn, self._store, self._projections, self)
            self.agents = PostgresAgents(conn, self._store, self._projections, read_only=True)
            return self
        if conn.is_in_transaction():
            # A consumer's inbox transaction (begun by the kit): a savepoint in it.
            self._transaction = Savepoint(conn, f"uow_{id(self):x}")
        else:
            self._transaction = conn.transaction()
        await self._transaction.start()
        self.tickets = PostgresTickets(conn, self._store, self._projections)
        self.agents = PostgresAgents(conn, self._store, self._projections)
        return self

    def _in_transaction(self) -> Connection:
        if self._one_statement:
            raise RuntimeError("this write needs a transaction: not a one-statement unit")
        return self.conn

    @property
    def answers(self) -> PostgresAnswers:
        return PostgresAnswers(self._in_transaction())

    @property
    def mail_log(self) -> PostgresMailLog:
        return PostgresMailLog(self._in_transaction())

    @property
    def deadlines(self) -> PostgresDeadlines:
        return PostgresDeadlines(self._in_transaction())

    @property
    def records(self) -> PostgresPersonalRecords:
        return PostgresPersonalRecords(self._in_transaction(), self._store, self._projections)

    def collect(
        self, stream_id: str, expected_version: int, events: list[NewEvent], writes: list[Write]
    ) -> None:
        """The one save of a one-statement unit, written at `commit`."""
        if self._save is not None:
            raise RuntimeError("a one-statement unit of work saves once")
        self._save = (stream_id, expected_version, events, writes)

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if self._transaction is not None:  # started and not committed: undo it
                await self._transaction.rollback()
        finally:
            self._transaction = None
            await self._stack.aclose()

    async def commit(self) -> None:
        if not self._one_statement:
            assert self._transaction is not None
            await self._transaction.commit()
            self._transaction = None
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
