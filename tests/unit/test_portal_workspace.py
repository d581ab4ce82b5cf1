"""The portal's wording of durations and statuses (issue 29, docs/glossary.md)."""

from __future__ import annotations

from helpdesk.gateway.portal.i18n import duration
from helpdesk.gateway.portal.rendering import countdown, due_state, status_label


def test_waits_and_countdowns_read_in_hours_and_minutes_never_seconds() -> None:
    assert duration(3511 / 60, "el") == "59 λεπτά"
    assert duration(1, "el") == "1 λεπτό"
    assert duration(135, "el") == "2 ώρες 15 λεπτά"
    assert duration(60, "el") == "1 ώρα"
    assert duration(135, "en") == "2 h 15 min"
    assert countdown(135, True, "el") == "σε 2 ώρες 15 λεπτά (εργάσιμος χρόνος)"
    assert countdown(-65, True, "en") == "overdue by 1 h 5 min (business time)"
    assert countdown(20, False, "en") == "in 20 min"
    assert countdown(None, True, "en") == ""


def test_near_and_overdue_follow_the_sla_countdown() -> None:
    from datetime import UTC, datetime

    due = datetime(2030, 1, 1, tzinfo=UTC)  # far ahead on the wall clock...
    assert due_state(due, 30.0) == "soon"  # ...but 30 business minutes left
    assert due_state(due, -1.0) == "overdue"
    assert due_state(due, 600.0) == "ok"


def test_pending_reads_as_waiting_for_the_requester_to_agents() -> None:
    assert status_label("pending", "el") == "Σε αναμονή απάντησής σας"
    assert status_label("pending", "el", agent=True) == "Σε αναμονή του αιτούντος"
    assert status_label("pending", "en", agent=True) == "Waiting for the requester"
