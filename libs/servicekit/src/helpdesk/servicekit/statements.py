"""Data-modifying statements that can run as one: `Write` and `merged`.

A write is an INSERT, UPDATE or DELETE with its own data-modifying CTEs and
arguments. `merged` makes one statement of several writes to different
tables, each a CTE of it: they see the same snapshot, so the result is the
same as running them in turn, for one round trip (and, outside a
transaction, one commit: all of them or none).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from helpdesk.servicekit.db import Connection


@dataclass(frozen=True)
class Write:
    """One data-modifying statement: an INSERT, UPDATE or DELETE (`main`), its own
    data-modifying CTEs as (name, body), and the arguments of its $1, $2, …
    (no `$` in its literals: `merged` renumbers them)."""

    main: str
    args: tuple[Any, ...] = ()
    ctes: tuple[tuple[str, str], ...] = ()

    @property
    def sql(self) -> str:
        if not self.ctes:
            return self.main
        return (
            "WITH " + ", ".join(f"{name} AS ({body})" for name, body in self.ctes) + " " + self.main
        )

    async def run(self, conn: Connection) -> None:
        await conn.execute(self.sql, *self.args)


_PARAMETER = re.compile(r"\$(\d+)")


def merged(writes: Sequence[Write]) -> Write:
    """Writes to different tables as one statement: every CTE and every main
    statement a CTE of it, the parameters renumbered in turn."""
    shape = tuple((write.ctes, write.main, len(write.args)) for write in writes)
    return Write(_merged_sql(shape), tuple(arg for write in writes for arg in write.args))


# An event type's writes have the same SQL every time: renumber each shape once.
@functools.lru_cache(maxsize=512)
def _merged_sql(shape: tuple[tuple[tuple[tuple[str, str], ...], str, int], ...]) -> str:
    ctes: list[tuple[str, str]] = []
    offset = 0
    for i, (write_ctes, main, count) in enumerate(shape):

        def shifted(sql: str, offset: int = offset) -> str:
            return _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)

        ctes.extend((name, shifted(body)) for name, body in write_ctes)
        ctes.append((f"write_{i}", shifted(main)))
        offset += count
    names = [name for name, _ in ctes]
    assert len(set(names)) == len(names), f"two writes name the same CTE: {names}"
    return Write(main="SELECT 1", ctes=tuple(ctes)).sql
