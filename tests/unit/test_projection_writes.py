"""Projection writes merged into one statement: parameters and CTEs in turn."""

from __future__ import annotations

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
