"""The pure parts of search (query parsing, folding, snippet parts) and of the SLA
facts the history projection keeps (docs/search.md, docs/reports.md)."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from helpdesk.contracts.text import fold
from helpdesk.contracts.tickets import Contact, TicketStatus
from helpdesk.tickets.adapters.contract_events import contract_events
from helpdesk.tickets.adapters.policy_file import load_policy
from helpdesk.tickets.adapters.sla_facts import first_facts, next_facts
from helpdesk.tickets.domain.caller import Caller
from helpdesk.tickets.domain.search import START, STOP, fragments, parse
from tests.unit.tickets.builders import new_ticket

ATHENS = ZoneInfo("Europe/Athens")
POLICY = load_policy()


def test_fold_ignores_accents_case_and_final_sigma() -> None:
    assert fold("Δίκτυο") == fold("ΔΙΚΤΥΟ") == fold("δικτυο") == "δικτυο"
    assert fold("Εκτυπωτής") == "εκτυπωτησ"
    assert fold("Café Naïve") == "cafe naive"


def test_parse_words_and_numbers() -> None:
    terms = parse("  Ο εκτυπωτής, ο εκτυπωτής!  δεν ")
    assert terms.words == ("εκτυπωτής", "δεν")  # one-letter words and repeats dropped
    assert terms.folded == ("εκτυπωτησ", "δεν")
    assert terms.number_suffix is None
    full = parse("hd-2026-42")
    assert (full.words, full.number_suffix) == ((), "HD-2026-000042"[::-1])
    assert parse("2026-000042").number_suffix == "HD-2026-000042"[::-1]
    assert parse("42").number_suffix == "24"
    assert parse("42 printers").number_suffix is None
    assert parse("'&|!:*()").empty
    assert len(parse(" ".join(f"w{i}" for i in range(20))).words) == 8


def test_fragments_are_plain_text_parts() -> None:
    parts = fragments(f"Ο {START}εκτυπωτής{STOP} δεν <b>τυπώνει</b>")
    assert [(p.text, p.match) for p in parts] == [
        ("Ο ", False),
        ("εκτυπωτής", True),
        (" δεν <b>τυπώνει</b>", False),
    ]


def test_facts_pause_while_pending_and_count_business_minutes() -> None:
    """Tue 27 Oct 2026 16:00, Ohi Day on Wednesday, pending Thu 10:00 - Fri 11:00."""
    requester = Caller(Contact(user_id=uuid4(), name="Μαρία"), is_agent=False)
    agent = Caller(Contact(user_id=uuid4(), name="Άννα"), is_agent=True)
    at = lambda *a: datetime(2026, *a, tzinfo=ATHENS)  # noqa: E731
    ticket = new_ticket(
        requester.contact,
        at=at(10, 27, 16),
        subject="s",
        description="d",
    )
    ticket.add_message(agent, body="r", internal=False, policy=POLICY, now=at(10, 29, 9, 30))
    ticket.change_status(agent, TicketStatus.PENDING, policy=POLICY, now=at(10, 29, 10))
    ticket.add_message(requester, body="x", internal=False, policy=POLICY, now=at(10, 30, 11))
    ticket.change_status(agent, TicketStatus.RESOLVED, policy=POLICY, now=at(10, 30, 13))
    events = contract_events(ticket, start=0)
    facts = first_facts(events[0], 1, POLICY)  # type: ignore[arg-type]
    for version, event in enumerate(events[1:], start=2):
        facts = next_facts(facts, event, version, POLICY)
        if version == 3:
            assert facts.status == "pending"
            assert facts.running_since is None
            assert facts.spent_minutes == 120
    assert facts.first_response_minutes == 90
    assert facts.resolution_minutes == 240
    assert (facts.fr_target_minutes, facts.res_target_minutes) == (480, 1440)
    assert facts.resolved_at == at(10, 30, 13)
    assert facts.version == 5
