"""Search over real PostgreSQL through the tickets service's NATS queries: Greek
and English, accents and case, stemming, partial words, ticket numbers, and
internal notes that only agents find (docs/search.md)."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.contracts.actors import Actor, Role
from helpdesk.servicekit.projections import rebuild
from helpdesk.tickets.adapters.search import MAX_INDEXED_CHARS, SearchProjection
from tests.integration.tickets.conftest import Tickets

pytestmark = pytest.mark.integration


async def submit(t: Tickets, actor: Actor, subject: str, description: str) -> dict[str, Any]:
    return await t.ok("submit", actor, subject=subject, description=description, priority="normal")


async def search(t: Tickets, actor: Actor, q: str, **filters: Any) -> list[dict[str, Any]]:
    reply = await t.query("search", actor, q=q, **filters)
    assert reply.ok, reply.error
    return reply.result["items"]  # type: ignore[no-any-return]


def numbers(hits: list[dict[str, Any]]) -> list[str]:
    return [h["number"] for h in hits]


@pytest.fixture
async def corpus(tickets: Tickets) -> dict[str, Any]:
    maria = await tickets.user("Μαρία Παπαδοπούλου")
    john = await tickets.user("John Smith")
    agent = await tickets.user("Άννα Agent", Role.AGENT)
    network = await submit(
        tickets, maria, "Πρόβλημα στο Δίκτυο", "Δεν έχουμε σύνδεση στο δίκτυο του ορόφου."
    )
    printer = await submit(
        tickets, maria, "Ο εκτυπωτής δεν τυπώνει", "Ο εκτυπωτής του λογιστηρίου κόλλησε."
    )
    english = await submit(
        tickets, john, "Printers keep jamming", "The printing queue stopped this morning."
    )
    await tickets.ok(
        "add_message",
        agent,
        ticket_id=network["ticket_id"],
        body="Εσωτερική σημείωση: ο μεταγωγέας Cisco στο rack B είναι ύποπτος.",
        internal=True,
    )
    await tickets.ok(
        "add_message",
        agent,
        ticket_id=printer["ticket_id"],
        body="Αλλάξαμε το τόνερ, δοκιμάστε ξανά.",
    )
    return {
        "maria": maria,
        "john": john,
        "agent": agent,
        "network": network["number"],
        "printer": printer["number"],
        "english": english["number"],
    }


async def test_accents_and_case_are_ignored(tickets: Tickets, corpus: dict[str, Any]) -> None:
    for q in ("δικτυο", "ΔΙΚΤΥΟ", "Δίκτυο", "δίκτυο"):
        assert numbers(await search(tickets, corpus["agent"], q)) == [corpus["network"]], q


async def test_greek_stemming_finds_other_forms(tickets: Tickets, corpus: dict[str, Any]) -> None:
    # The plural finds the singular, and the other way round.
    assert numbers(await search(tickets, corpus["agent"], "εκτυπωτές")) == [corpus["printer"]]
    assert numbers(await search(tickets, corpus["agent"], "εκτυπωτη")) == [corpus["printer"]]


async def test_english_stemming(tickets: Tickets, corpus: dict[str, Any]) -> None:
    assert numbers(await search(tickets, corpus["agent"], "printer jam")) == [corpus["english"]]
    assert numbers(await search(tickets, corpus["agent"], "the printing")) == [corpus["english"]]


async def test_partial_words_match_as_prefixes(tickets: Tickets, corpus: dict[str, Any]) -> None:
    assert numbers(await search(tickets, corpus["agent"], "εκτυπ")) == [corpus["printer"]]
    assert numbers(await search(tickets, corpus["agent"], "λογιστ")) == [corpus["printer"]]
    assert numbers(await search(tickets, corpus["agent"], "jamm")) == [corpus["english"]]
    # Names are searchable too, by prefix and without accents.
    hits = await search(tickets, corpus["agent"], "παπαδοπουλ")
    assert set(numbers(hits)) == {corpus["network"], corpus["printer"]}


async def test_ticket_numbers(tickets: Tickets, corpus: dict[str, Any]) -> None:
    number = corpus["english"]  # HD-2026-000003
    assert numbers(await search(tickets, corpus["agent"], number)) == [number]
    assert numbers(await search(tickets, corpus["agent"], number.lower())) == [number]
    assert numbers(await search(tickets, corpus["agent"], "2026-3")) == [number]
    assert numbers(await search(tickets, corpus["agent"], "000003")) == [number]


async def test_internal_notes_only_for_agents(tickets: Tickets, corpus: dict[str, Any]) -> None:
    assert numbers(await search(tickets, corpus["agent"], "μεταγωγέας")) == [corpus["network"]]
    assert numbers(await search(tickets, corpus["agent"], "cisco")) == [corpus["network"]]
    # The requester of that very ticket does not find it by its note.
    assert await search(tickets, corpus["maria"], "μεταγωγέας") == []
    assert await search(tickets, corpus["maria"], "cisco rack") == []
    # Nor does a snippet of another search show the note.
    hits = await search(tickets, corpus["maria"], "δίκτυο")
    assert numbers(hits) == [corpus["network"]]
    assert "Cisco" not in hits[0]["snippet_html"]


async def test_customers_only_find_their_own(tickets: Tickets, corpus: dict[str, Any]) -> None:
    assert await search(tickets, corpus["john"], "εκτυπωτής") == []
    assert await search(tickets, corpus["john"], corpus["printer"]) == []
    assert numbers(await search(tickets, corpus["maria"], "εκτυπωτής")) == [corpus["printer"]]
    # Public replies are found by the requester.
    assert numbers(await search(tickets, corpus["maria"], "τόνερ")) == [corpus["printer"]]


async def test_snippets_highlight_and_escape(tickets: Tickets, corpus: dict[str, Any]) -> None:
    evil = await submit(
        tickets,
        corpus["john"],
        "Script in the form",
        'The router page shows <img src=x onerror="alert(1)"> & then the router reboots.',
    )
    hits = await search(tickets, corpus["john"], "router")
    assert numbers(hits) == [evil["number"]]
    html = hits[0]["snippet_html"]
    assert "<mark>router</mark>" in html
    assert "<img" not in html
    assert 'onerror="' not in html
    assert "&amp;" in html
    assert any(part["match"] and part["text"] == "router" for part in hits[0]["snippet"])


async def test_filters_combine_and_ranking(tickets: Tickets, corpus: dict[str, Any]) -> None:
    agent = corpus["agent"]
    # The subject weighs more than the description.
    a = await submit(tickets, corpus["john"], "Outlook crash", "nothing else")
    b = await submit(tickets, corpus["john"], "Something else", "outlook shows an error")
    assert numbers(await search(tickets, agent, "outlook")) == [a["number"], b["number"]]
    assert numbers(await search(tickets, agent, "outlook", priority="high")) == []
    assert numbers(await search(tickets, agent, "outlook", status="submitted")) == [
        a["number"],
        b["number"],
    ]
    page = await tickets.query("search", agent, q="outlook", limit=1)
    assert page.result["next_cursor"]
    rest = await search(tickets, agent, "outlook", cursor=page.result["next_cursor"], limit=1)
    assert numbers(rest) == [b["number"]]


async def test_rebuilt_from_the_store(tickets: Tickets, corpus: dict[str, Any]) -> None:
    before = await search(tickets, corpus["agent"], "δίκτυο")
    await tickets.pool.execute("DELETE FROM ticket_search")
    assert await search(tickets, corpus["agent"], "δίκτυο") == []
    await rebuild(tickets.pool, SearchProjection())
    assert await search(tickets, corpus["agent"], "δίκτυο") == before


async def test_bad_queries_are_refused_or_empty(tickets: Tickets, corpus: dict[str, Any]) -> None:
    reply = await tickets.query("search", corpus["agent"], q="")
    assert not reply.ok
    assert reply.error.code == "validation_error"
    reply = await tickets.query("search", corpus["agent"], q="x" * 201)
    assert not reply.ok
    assert reply.error.code == "validation_error"
    assert await search(tickets, corpus["agent"], "'&|!:*()") == []
    assert await search(tickets, corpus["agent"], "the") == []


async def test_messages_beyond_the_indexed_size_are_not_indexed(tickets: Tickets) -> None:
    """A ticket's search text stops at MAX_INDEXED_CHARS: a message that would pass
    it is not indexed (the ticket keeps it), a shorter one still is."""
    maria = await tickets.user("Μαρία Παπαδοπούλου")
    agent = await tickets.user("Άννα Agent", Role.AGENT)
    ticket = await submit(tickets, maria, "Οθόνη", "Η οθόνη τρεμοπαίζει.")
    room = 20
    await tickets.pool.execute(
        "UPDATE ticket_search SET indexed_chars = $2 WHERE ticket_id = $1",
        ticket["ticket_id"],
        MAX_INDEXED_CHARS - room,
    )
    too_long = "zyxwvutsrq " * 3  # 33 characters
    await tickets.ok("add_message", agent, ticket_id=ticket["ticket_id"], body=too_long)
    await tickets.ok("add_message", agent, ticket_id=ticket["ticket_id"], body="qwertyuiop")
    assert numbers(await search(tickets, agent, "zyxwvutsrq")) == []
    assert numbers(await search(tickets, agent, "qwertyuiop")) == [ticket["number"]]
    indexed = await tickets.pool.fetchval(
        "SELECT indexed_chars FROM ticket_search WHERE ticket_id = $1", ticket["ticket_id"]
    )
    assert indexed == MAX_INDEXED_CHARS - room + len("qwertyuiop")
