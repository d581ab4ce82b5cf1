"""A read model rebuilt from the event store equals the one kept live."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg
import pytest

from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import EventStore, NewEvent, RecordedEvent
from helpdesk.servicekit.projections import Rows, apply_all, rebuild

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
