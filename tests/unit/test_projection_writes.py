"""Projection writes merged into one statement: parameters and CTEs in turn."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.servicekit.projections import writes_of
from helpdesk.servicekit.statements import Write, merged


def test_writes_become_ctes_of_one_statement_with_their_parameters_renumbered() -> None:
    first = Write("INSERT INTO a (x) VALUES ($1)", (1,))
    second = Write(
        "UPDATE b SET x = $1 WHERE id = $2",
        (2, 3),
        ctes=(("c_gone", "DELETE FROM c WHERE id = $2"),),
    )
    many = Write(" ".join(f"${n}" for n in range(1, 12)), tuple(range(11)))
    one = merged([first, second, many])
    assert one.sql == (
        "WITH write_0 AS (INSERT INTO a (x) VALUES ($1)),"
        " c_gone AS (DELETE FROM c WHERE id = $3),"
        " write_1 AS (UPDATE b SET x = $2 WHERE id = $3),"
        " write_2 AS ($4 $5 $6 $7 $8 $9 $10 $11 $12 $13 $14)"
        " SELECT 1"
    )
    assert one.args == (1, 2, 3, *range(11))


def test_a_write_without_ctes_is_its_statement() -> None:
    assert Write("DELETE FROM a WHERE id = $1", (1,)).sql == "DELETE FROM a WHERE id = $1"


class _Writes:
    """A projection whose change for an event is one statement."""

    tables = ("a",)

    def __init__(self, name: str, handles: frozenset[str] | None = None) -> None:
        self.name = name
        if handles is not None:
            self.handles = handles

    def write(self, event: RecordedEvent) -> Write | None:
        return Write(f"INSERT INTO {self.name} (v) VALUES ($1)", (event.version,))

    async def apply(self, conn: object, event: RecordedEvent) -> None:
        raise AssertionError("not called")


class _Applies(_Writes):
    """A projection that must `apply` (its change reads first)."""

    def write(self, event: RecordedEvent) -> Write | None:
        return None


def _event(event_type: str, version: int = 1) -> RecordedEvent:
    return RecordedEvent(0, "s", version, uuid4(), event_type, 1, {}, {}, datetime.now(UTC))


def test_writes_of_gives_each_projections_write_and_skips_those_not_handling_the_type() -> None:
    a, b = _Writes("a"), _Applies("b", handles=frozenset({"Other"}))
    b.tables = ("b",)
    writes = writes_of([a, b], [_event("Submitted")])
    assert writes == [Write("INSERT INTO a (v) VALUES ($1)", (1,))]


def test_writes_of_is_none_when_a_change_needs_apply_or_a_projection_writes_twice() -> None:
    a, b = _Writes("a"), _Applies("b")
    b.tables = ("b",)
    assert writes_of([a, b], [_event("Submitted")]) is None  # b must apply
    assert writes_of([a], [_event("Submitted"), _event("Changed", 2)]) is None  # a twice
