"""The portal's wording of durations and statuses (issue 29, docs/glossary.md)."""

from __future__ import annotations

import base64
import hashlib
from functools import partial
from types import SimpleNamespace
from uuid import UUID, uuid4

import pytest

from helpdesk.contracts.priorities import Priority
from helpdesk.gateway.portal.i18n import duration, field_message, t
from helpdesk.gateway.portal.rendering import (
    SCRIPTS,
    _environment,
    countdown,
    due_state,
    page_url,
    priority_label,
    status_label,
)
from tests.unit.test_portal import client_for


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


def test_a_rate_limited_form_says_the_wait_in_minutes() -> None:
    from helpdesk.gateway.portal.forms import problem_message
    from helpdesk.gateway.problems import ProblemError

    limited = ProblemError(429, "rate_limited", "Too many attempts.", retry_after=3511)
    assert problem_message(limited, "el") == "Πολλές προσπάθειες. Δοκιμάστε ξανά σε 59 λεπτά."
    assert problem_message(limited, "en") == "Too many attempts. Please try again in 59 min."


@pytest.mark.parametrize(
    ("service_says", "greek"),
    [
        ("no such active user", "Δεν υπάρχει ενεργός χρήστης με αυτό το όνομα χρήστη ή email."),
        ("not a member of the queue service-desk", "Δεν είναι μέλος της ουράς του αιτήματος."),
        ("not an active agent", "Δεν είναι ενεργός τεχνικός."),
        ("not an agent", "Δεν είναι ενεργός τεχνικός."),
        ("a moment in the future, with zone", "Πρέπει να είναι στιγμή στο μέλλον."),
        ("only when away for more than a day", "Μόνο όταν η απουσία διαρκεί πάνω από μία ημέρα."),
    ],
)
def test_the_agents_forms_refusals_read_in_greek(service_says: str, greek: str) -> None:
    assert field_message(service_says, "el") == greek
    assert field_message(service_says, "en") == service_says[:1].upper() + service_says[1:]


def test_a_refused_colleague_is_said_once_under_the_assignee_field() -> None:
    """The composer shows the service's `assignee_id` refusal (a colleague taken out
    of the queue meanwhile) under the assignee list, with the choice kept."""
    colleague = uuid4()
    reason = field_message("not a member of the queue service-desk", "el")
    html = _composer(
        errors={"assignee_id": reason},
        values={"assignee": str(colleague), "body": "Μισογραμμένη απάντηση"},
        colleague=colleague,
    )
    assert html.count(reason) == 1
    assert 'aria-describedby="f-assignee-error"' in html
    assert f'<option value="{colleague}" selected>' in html
    assert "Μισογραμμένη απάντηση</textarea>" in html
    assert "f-assignee-error" not in _composer(errors={}, values={}, colleague=colleague)


def _composer(errors: dict[str, str], values: dict[str, str], colleague: UUID) -> str:
    """The composer's form as an agent sees it on an open ticket, in Greek."""
    me = uuid4()
    ticket = SimpleNamespace(
        ticket_id=uuid4(),
        status="open",
        priority="normal",
        assignee=None,
        next_statuses=["pending", "resolved"],
    )
    context = {
        "t": partial(t, lang="el"),
        "url": partial(page_url, "el"),
        "status_label": partial(status_label, lang="el", agent=True),
        "priority_label": partial(priority_label, lang="el"),
        "priorities": list(Priority),
        "ticket": ticket,
        "user": SimpleNamespace(is_agent=True, user_id=me),
        "assigned_to_me": False,
        "colleagues": [
            SimpleNamespace(user_id=colleague, name="Ελένη", username="eleni", available=True)
        ],
        "confirm_close": False,
        "errors": errors,
        "values": values,
        "attach_hint": "",
        "csrf_field": "csrf_token",
        "csrf_token": "x",
        "new_idempotency_key": lambda: "k",
    }
    module = _environment.get_template("composer.html").make_module(vars=context)
    # The template's `form` macro: an attribute Jinja makes at run time.
    return str(module.form())  # type: ignore[attr-defined]


async def test_the_scripts_are_ours_pinned_and_the_only_ones_the_policy_allows() -> None:
    """Issue 29: the few scripts are served by the gateway, pinned by Subresource
    Integrity to the bytes it serves, and the Content-Security-Policy allows
    scripts and the live stream from the portal's own origin only (no CDN)."""
    async with client_for() as client:
        for pinned in SCRIPTS.values():
            assert pinned["src"].startswith("/helpdesk/static/")
            served = await client.get(pinned["src"])
            assert served.status_code == 200
            digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
            assert pinned["integrity"] == f"sha384-{digest}"
        page = await client.get("/helpdesk/el/login")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert (policy["script-src"], policy["connect-src"]) == ("'self'", "'self'")
    passkeys = SCRIPTS["passkeys"]
    assert (
        f'<script src="{passkeys["src"]}" integrity="{passkeys["integrity"]}" defer>' in page.text
    )
    assert "<script>" not in page.text  # no inline script
