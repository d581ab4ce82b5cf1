"""The in-memory rows of a projection rebuild do what the SQL statements they
stand for would do."""

from __future__ import annotations

from helpdesk.servicekit.projections import Rows


def test_rows_follow_the_sql_statements_they_stand_for() -> None:
    rows = Rows({"t": ("k", "v", "flag")})
    rows.update("t", 1, {"v": "ignored"})  # UPDATE of an absent row: nothing
    assert rows.get("t", 1) is None
    rows.insert("t", 1, {"k": 1, "v": "a", "flag": False})
    rows.insert("t", 1, {"k": 1, "v": "b", "flag": False})  # ON CONFLICT DO NOTHING
    assert rows.get("t", 1) == {"k": 1, "v": "a", "flag": False}
    rows.update("t", 1, {"flag": True})
    rows.upsert("t", 1, {"v": "c"}, {"k": 1, "flag": False})  # DO UPDATE SET v only
    assert rows.get("t", 1) == {"k": 1, "v": "c", "flag": True}
    rows.upsert("t", 2, {"v": "d"}, {"k": 2, "flag": False})
    rows.delete("t", 1)
    rows.delete("t", 3)
    assert rows.get("t", 1) is None
    assert rows.get("t", 2) == {"k": 2, "v": "d", "flag": False}
