"""A read model rebuilt from the event store equals the one kept live."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg
import pytest

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent, RecordedEvent
from helpdesk.servicekit.projections import Rows, apply_all, rebuild
from helpdesk.servicekit.statements import Write

pytestmark = pytest.mark.integration


SIGNS = {"Deposited": 1, "Withdrawn": -1}


class BalanceProjection:
    """Per-account balances from Deposited / Withdrawn events."""

    name = "balances"
    tables: Sequence[str] = ("balances",)

    async def apply(self, conn: Connection, event: RecordedEvent) -> None:
        sign = SIGNS.get(event.event_type)
        if sign is None:
            return
        await conn.execute(
            "INSERT INTO balances (account, amount) VALUES ($1, $2)"
            " ON CONFLICT (account) DO UPDATE SET amount = balances.amount + excluded.amount",
            event.stream_id,
            sign * event.data["amount"],
        )


class FoldedBalances(BalanceProjection):
    """The same balances, rebuilt in memory and written once."""

    columns: Mapping[str, Sequence[str]] = {"balances": ("account", "amount")}

    def fold(self, rows: Rows, event: RecordedEvent) -> None:
        sign = SIGNS.get(event.event_type)
        if sign is None:
            return
        rows.insert("balances", event.stream_id, {"account": event.stream_id, "amount": 0})
        row = rows.get("balances", event.stream_id)
        assert row is not None
        rows.update(
            "balances", event.stream_id, {"amount": row["amount"] + sign * event.data["amount"]}
        )


async def snapshot(pool: asyncpg.Pool) -> list[tuple[str, int]]:
    rows = await pool.fetch("SELECT account, amount FROM balances ORDER BY account")
    return [(r["account"], r["amount"]) for r in rows]


# The same test for a projection rebuilt statement by statement and for one
# rebuilt in memory (`fold`); both are kept live by `apply`.
@pytest.mark.parametrize("kind", ["statements", "folded"])
async def test_rebuilt_read_model_equals_the_live_one(
    schema_pool: tuple[str, asyncpg.Pool], kind: str
) -> None:
    _, pool = schema_pool
    await pool.execute("CREATE TABLE balances (account text PRIMARY KEY, amount bigint NOT NULL)")
    projection = BalanceProjection() if kind == "statements" else FoldedBalances()
    store = EventStore()
    versions: dict[str, int] = {}
    for i in range(60):
        account = f"acct-{i % 7}"
        kind = "Withdrawn" if i % 3 == 0 else "Deposited"
        async with pool.acquire() as conn, conn.transaction():
            recorded = await store.append(
                conn, account, versions.get(account, 0), [NewEvent(kind, {"amount": i})]
            )
            await apply_all(conn, [projection], recorded)  # live, in the command's transaction
        versions[account] = recorded[-1].version
    live = await snapshot(pool)
    assert len(live) == 7

    await pool.execute("UPDATE balances SET amount = 0")  # a corrupted read model
    await pool.execute("DELETE FROM balances WHERE account = 'acct-3'")  # and a lost row
    replayed = await rebuild(pool, projection, batch_size=16)

    assert replayed == 60
    assert await snapshot(pool) == live


class Counted:
    """A connection that counts the statements sent through it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.statements = 0

    async def execute(self, query: str, *args: object) -> str:
        self.statements += 1
        return await self.conn.execute(query, *args)


class WrittenBalances(BalanceProjection):
    """The balances as a single-statement write, into a table of its own."""

    def __init__(self, table: str) -> None:
        self.name = self.table = table
        self.tables = (table,)

    def write(self, event: RecordedEvent) -> Write | None:
        sign = SIGNS.get(event.event_type)
        if sign is None:
            return None
        return Write(
            f"INSERT INTO {self.table} (account, amount) VALUES ($1, $2) ON CONFLICT (account)"
            f" DO UPDATE SET amount = {self.table}.amount + excluded.amount",
            (event.stream_id, sign * event.data["amount"]),
        )


async def test_the_writes_of_an_event_go_in_one_statement(
    schema_pool: tuple[str, asyncpg.Pool],
) -> None:
    """Three projections that write their change in one statement each, plus one
    that applies its own: two statements per event, and every table right."""
    _, pool = schema_pool
    for table in ("balances", "left_side", "right_side"):
        await pool.execute(f"CREATE TABLE {table} (account text PRIMARY KEY, amount int NOT NULL)")
    projections = [
        WrittenBalances("left_side"),
        BalanceProjection(),
        WrittenBalances("right_side"),
    ]
    async with pool.acquire() as conn, conn.transaction():
        recorded = await EventStore().append(
            conn,
            "acct-1",
            0,
            [
                NewEvent("Deposited", {"amount": 5}),
                NewEvent("Withdrawn", {"amount": 2}),
            ],
        )
        counted = Counted(conn)
        await apply_all(counted, projections, recorded)  # type: ignore[arg-type]
    assert counted.statements == 2 * 2
    for table in ("balances", "left_side", "right_side"):
        assert await pool.fetchval(f"SELECT amount FROM {table}") == 3
