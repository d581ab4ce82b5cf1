"""Search: the `ticket_search` projection and the ranked query over it.

Each ticket has one row: two tsvectors (public text; public text plus internal
notes, for agents only), each holding the words stemmed by the
`helpdesk_search` configuration (Greek and English Snowball) and the same
words folded in Python and kept unstemmed under `simple` (prefix matching of
partial words, accents ignored). Fed in the command's transaction like the
other read models and rebuilt from the event store (migration 0005 and
docs/search.md say why it looks like this).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from helpdesk.contracts.text import fold
from helpdesk.contracts.tickets import (
    SnippetPart,
    TicketAssigned,
    TicketHit,
    TicketMessageAdded,
    TicketSearchResults,
    TicketSubmitted,
)
from helpdesk.servicekit.db import Connection
from helpdesk.servicekit.eventstore import RecordedEvent
from helpdesk.servicekit.statements import Write
from helpdesk.tickets.adapters.contract_events import stored_event
from helpdesk.tickets.adapters.read_model import (
    _summary_row,
    decode_cursor,
    encode_cursor,
    filter_clauses,
)
from helpdesk.tickets.domain.search import START, STOP, fragments
from helpdesk.tickets.handlers.deps import SearchQuery

# Beyond this many characters of a ticket's text, later messages are not
# indexed (a tsvector has a 1 MB limit; a thread this long is rare).
MAX_INDEXED_CHARS = 400_000
SNIPPET_SOURCE_CHARS = 20_000
RANKED_CANDIDATES = 500
_NUMBER_TEXT = re.compile(r"[0-9DH-]{1,20}")

_VECTOR = (
    "setweight(to_tsvector('helpdesk_search', {text}) || to_tsvector('simple', {folded}), '{w}')"
)


def _vector(text: str, folded: str, weight: str) -> str:
    return _VECTOR.format(text=text, folded=folded, w=weight)


class SearchProjection:
    name = "ticket_search"
    tables: Sequence[str] = ("ticket_search",)

    def write(self, recorded: RecordedEvent) -> Write | None:
        event = stored_event(recorded.event_type, recorded.data)
        written = WRITES.get(type(event))
        return None if written is None else written(event)

    async def apply(self, conn: Connection, recorded: RecordedEvent) -> None:
        if (write := self.write(recorded)) is not None:
            await write.run(conn)


def _submitted(event: TicketSubmitted) -> Write:
    names = event.requester.name or ""
    doc = f"{_vector('$4', '$5', 'A')} || {_vector('$6', '$7', 'B')} || {_vector('$8', '$9', 'D')}"
    # The document is computed once (stemming is the costly part): no notes yet.
    return Write(
        "INSERT INTO ticket_search (ticket_id, requester_id, number_rev, public_doc,"
        " all_doc, public_text, indexed_chars, created_at)"
        f" SELECT $1, $2, $3, d, d, $6, $10, $11 FROM (SELECT {doc} AS d) AS made"
        " ON CONFLICT (ticket_id) DO NOTHING",
        (
            event.ticket_id,
            event.requester.user_id,
            event.number[::-1],
            event.subject_line,
            fold(event.subject_line),
            event.description,
            fold(event.description),
            names,
            fold(names),
            len(event.subject_line) + len(event.description),
            event.at,
        ),
    )


def _assigned(event: TicketAssigned) -> Write | None:
    """The agent's name is searchable on the tickets they handle."""
    name = event.assignee.name
    if not name:
        return None
    return Write(
        "UPDATE ticket_search SET public_doc = public_doc || v, all_doc = all_doc || v"
        f" FROM (SELECT {_vector('$2', '$3', 'D')} AS v) AS made WHERE ticket_id = $1",
        (event.ticket_id, name, fold(name)),
    )


def _message(event: TicketMessageAdded) -> Write:
    body = event.body
    # The length is a parameter: one statement for every message, not one per length.
    guard = "ticket_id = $1 AND indexed_chars + $5 <= $4"
    if event.internal:
        sets = "all_doc = all_doc || v, notes_text = left(notes_text || E'\\n' || $2, $4)"
    else:
        sets = (
            "public_doc = public_doc || v, all_doc = all_doc || v,"
            " public_text = left(public_text || E'\\n' || $2, $4)"
        )
    return Write(
        f"UPDATE ticket_search SET {sets}, indexed_chars = indexed_chars + $5"
        f" FROM (SELECT {_vector('$2', '$3', 'C')} AS v) AS made WHERE {guard}",
        (event.ticket_id, body, fold(body), MAX_INDEXED_CHARS, len(body)),
    )


# What each event adds to the search index.
WRITES: dict[type, Callable[[Any], Write | None]] = {
    TicketSubmitted: _submitted,
    TicketMessageAdded: _message,
    TicketAssigned: _assigned,
}


async def search(conn: Connection, asked: SearchQuery) -> TicketSearchResults:
    """Ranked hits (number matches first, then ts_rank), one page of them."""
    terms, filters, limit = asked.terms, asked.filters, asked.limit
    include_notes = asked.include_notes
    offset = decode_cursor(asked.cursor)
    args: list[Any] = []

    def param(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    doc = "s.all_doc" if include_notes else "s.public_doc"
    words = param(list(terms.words))
    matches: list[str] = []
    rank = "0"
    if terms.words:
        # A sub-select, so the query is built once (an InitPlan) and the GIN index is used.
        folded = param(list(terms.folded))
        query = f"(SELECT helpdesk_search_query({words}::text[], {folded}::text[]))"
        matches.append(f"{doc} @@ {query}")
        rank = f"ts_rank(c.doc, {query})"
    number_match = "false"
    if terms.number_suffix:
        # Written into the SQL (digits and "HD-" only, domain/search.py) so the planner
        # can use the b-tree's prefix range even for a prepared statement.
        if not _NUMBER_TEXT.fullmatch(terms.number_suffix):
            raise ValueError("not a ticket number")
        number_match = f"s.number_rev LIKE '{terms.number_suffix}%'"
        matches.append(number_match)
    where = ["(" + " OR ".join(matches) + ")"]
    source = "ticket_search s"
    if filters.requester_id is not None:
        # A customer's own rows first (b-tree), the words checked on those only:
        # OFFSET 0 keeps the planner from starting at the GIN index instead.
        source = (
            "(SELECT * FROM ticket_search"
            f" WHERE requester_id = {param(filters.requester_id)} OFFSET 0) s"
        )
    # The list's filters on the joined `tickets` row; the requester's are the source's.
    ticket_filters = filter_clauses(replace(filters, requester_id=None), param, table="t.")
    if ticket_filters:
        source += " JOIN tickets t USING (ticket_id)"
    where += ticket_filters
    text = "s.public_text || E'\\n' || s.notes_text" if include_notes else "s.public_text"
    highlight = f"helpdesk_highlight_query({words}::text[])"
    # Choosing candidates reads only narrow rows (the tsvectors are out of line,
    # migration 0010); ranking reads the tsvectors of the newest
    # RANKED_CANDIDATES matches only, and snippets are cut for the page only
    # (docs/search.md). Number matches always come first.
    sql = f"""
        WITH candidates AS (
            SELECT s.ticket_id, {doc} AS doc, s.created_at, {number_match} AS by_number
            FROM {source}
            WHERE {" AND ".join(where)}
            ORDER BY by_number DESC, s.created_at DESC
            LIMIT {RANKED_CANDIDATES}
        ),
        hits AS (
            SELECT c.ticket_id, c.created_at,
                   CASE WHEN c.by_number THEN 10 ELSE 0 END + {rank} AS rank
            FROM candidates c
            ORDER BY rank DESC, c.created_at DESC, c.ticket_id
            LIMIT {param(limit + 1)} OFFSET {param(offset)}
        )
        SELECT t.*, hits.rank,
               CASE WHEN h.h IS NULL THEN ''
                    ELSE ts_headline('helpdesk_search',
                                     left({text}, {SNIPPET_SOURCE_CHARS}), h.h,
                                     'StartSel={START}, StopSel={STOP}, MaxWords=24,'
                                     ' MinWords=10, MaxFragments=2, FragmentDelimiter=" … "')
               END AS headline
        FROM hits JOIN tickets t USING (ticket_id) JOIN ticket_search s USING (ticket_id),
             (SELECT {highlight} AS h) h
        ORDER BY hits.rank DESC, hits.created_at DESC, t.ticket_id
    """
    rows = await conn.fetch(sql, *args)
    items = [_hit(row) for row in rows[:limit]]
    next_cursor = encode_cursor(offset + limit) if len(rows) > limit else None
    return TicketSearchResults(items=items, next_cursor=next_cursor)


def _hit(row: Any) -> TicketHit:
    summary = _summary_row(row)
    parts = [SnippetPart(text=f.text, match=f.match) for f in fragments(row["headline"] or "")]
    snippet_html = "".join(
        f"<mark>{html.escape(p.text)}</mark>" if p.match else html.escape(p.text) for p in parts
    )
    return TicketHit(
        **summary.model_dump(), rank=float(row["rank"]), snippet=parts, snippet_html=snippet_html
    )


async def number_lookup(conn: Connection, number: str) -> UUID | None:
    """The plain indexed lookup by number (the benchmark's baseline)."""
    value = await conn.fetchval("SELECT ticket_id FROM tickets WHERE number = $1", number)
    return value if isinstance(value, UUID) else None
