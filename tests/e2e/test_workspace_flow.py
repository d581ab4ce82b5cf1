"""The agent's workspace end to end (issue 29): assigning to a colleague and
unassigning over REST, a queue whose members are all away telling its admins
once, and the end of a ticket: reopening within the window (409 after it),
a rating once per resolution (from the resolution mail's signed link, without a
sign-in, and over the API) and the ratings in the SLA report. Closing by
itself after business days runs on a system of its own, whose business day
never ends (test_auto_close.py)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from helpdesk.contracts.actors import Role
from tests.e2e.harness import System, mail_text
from tests.e2e.test_agents_flow import create_user, put_members, session, signed_in_agent
from tests.e2e.test_cli import helpdesk
from tests.e2e.test_tickets_flow import auth, register_customer, submit, wait_mail
from tests.eventually import eventually

pytestmark = pytest.mark.e2e

DESK = "service-desk"


async def open_ticket(
    client: httpx.AsyncClient, customer: str, subject: str, priority: str
) -> tuple[dict[str, Any], str]:
    """A customer's new ticket and its API address."""
    body = {"subject": subject, "description": "Δεν δουλεύει.", "priority": priority}
    response = await submit(client, customer, body)
    assert response.status_code == 201, response.text
    ticket = response.json()
    return ticket, f"/api/v1/tickets/{ticket['ticket_id']}"


async def test_assign_to_a_colleague_unassign_and_admins_told_when_nobody_is_there(
    system: System,
) -> None:
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        await create_user(system, f"wsadmin{tag}", "Διαχειρίστρια", Role.ADMIN)
        alpha_id = await create_user(system, f"wsalpha{tag}", "Άλφα", Role.AGENT)
        beta_id = await create_user(system, f"wsbeta{tag}", "Βήτα", Role.AGENT)
        outsider_id = await create_user(system, f"wsout{tag}", "Έξω", Role.AGENT)
        admin = (await session(client, f"wsadmin{tag}"))["access_token"]
        alpha = (await session(client, f"wsalpha{tag}"))["access_token"]
        beta = (await session(client, f"wsbeta{tag}"))["access_token"]
        _, customer = await register_customer(system, client, f"ws{tag}")

        # Both members away: the ticket waits and the admins hear of it, once.
        response = await put_members(client, admin, "service-desk", [alpha_id, beta_id])
        assert response.status_code == 200, response.text
        try:
            for token in (alpha, beta):
                away = await client.put(
                    "/api/v1/me/availability", headers=auth(token), json={"available": False}
                )
                assert away.status_code == 200, away.text
            ticket, url = await open_ticket(client, customer, f"Σύνδεση VPN {tag}", "high")
            told = await wait_mail(system, f"wsadmin{tag}@helpdesk.example", ticket["number"])
            assert "Γραφείο εξυπηρέτησης" in str(told["Subject"])  # the queue by its name
            queues = (await client.get("/api/v1/queues", headers=auth(admin))).json()["items"]
            (desk,) = [q for q in queues if q["queue"] == "service-desk"]
            assert desk["waiting"] >= 1
            timeline = (await client.get(url, headers=auth(alpha))).json()["timeline"]
            assert [e["kind"] for e in timeline] == ["TicketSubmitted", "TicketAwaitingAgent"]
            mine = (await client.get(url, headers=auth(customer))).json()["timeline"]
            assert [e["kind"] for e in mine] == ["TicketSubmitted"]

            # Back from leave, one gets it; Alpha gives it to the other, with a reason.
            await client.put(
                "/api/v1/me/availability", headers=auth(alpha), json={"available": True}
            )
            await client.put(
                "/api/v1/me/availability", headers=auth(beta), json={"available": True}
            )

            async def assignee() -> str:
                found = (await client.get(url, headers=auth(alpha))).json()["assignee"]
                return str(found["user_id"]) if found else ""

            first: str = await eventually(lambda: assignee(), what="the waiting ticket assigned")
            other = beta_id if first == alpha_id else alpha_id
            refused = await client.post(
                f"{url}/assign", headers=auth(alpha), json={"assignee_id": outsider_id}
            )
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["errors"][0]["field"] == "assignee_id"
            moved = await client.post(
                f"{url}/assign",
                headers=auth(alpha),
                json={"assignee_id": other, "reassign": True, "reason": "Ξέρει το VPN"},
            )
            assert moved.status_code == 200, moved.text
            assert moved.json()["assignee"]["user_id"] == other
            entry = (await client.get(url, headers=auth(alpha))).json()["timeline"][-1]
            assert (entry["kind"], entry["body"]) == ("TicketAssigned", "Ξέρει το VPN")
            entry = (await client.get(url, headers=auth(customer))).json()["timeline"][-1]
            assert (entry["kind"], entry["body"]) == ("TicketAssigned", None)

            # Unassigning: not for the requester; an agent's goes to the other member.
            assert (await client.post(f"{url}/unassign", headers=auth(customer))).status_code == 403
            taken = await client.post(
                f"{url}/unassign", headers=auth(alpha), json={"reason": "Λάθος άτομο"}
            )
            assert taken.status_code == 200, taken.text
            assert taken.json()["assignee"] is None

            async def back_with_first() -> str:
                found = await assignee()
                return found if found == first else ""

            back: str = await eventually(
                lambda: back_with_first(), what="assigned to the member it was not taken from"
            )
            assert back == first
            kinds = [
                e["kind"] for e in (await client.get(url, headers=auth(alpha))).json()["timeline"]
            ]
            assert kinds[-2:] == ["TicketUnassigned", "TicketAssigned"]
            # Told once: the assignment ended the wait, nobody waited again.
            assert kinds.count("TicketAwaitingAgent") == 1
        finally:
            # Members left in the queue would be given the other tests' tickets.
            emptied = await put_members(client, admin, "service-desk", [])
            assert emptied.status_code == 200, emptied.text


RATING_LINK = re.compile(r"/helpdesk/el/rate/[A-Za-z0-9_-]+")


async def rate_from_the_mail(system: System, mail: Any, number: str, subject: str) -> str:
    """Follow the resolution mail's signed link as a browser that is not signed in: the
    page shows the ticket's number (not its subject), a rating without a choice comes
    back with the field's error, the rating is taken once and a second is "already
    rated"; a forged or overlong link is a clear 400 page. Returns the link's path."""
    found = RATING_LINK.search(mail_text(mail))
    assert found is not None, mail_text(mail)
    link = found.group(0)
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as anonymous:
        page = await anonymous.get(link)
        assert page.status_code == 200, page.text
        assert number in page.text
        assert subject not in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        form = {"csrf_token": csrf.group(1), "comment": "Από τον σύνδεσμο"}
        no_choice = await anonymous.post(link, data=form)
        assert no_choice.status_code == 422
        assert "Επιλέξτε βαθμολογία από 1 έως 5." in no_choice.text
        assert "Από τον σύνδεσμο" in no_choice.text  # what was typed comes back
        rated = await anonymous.post(link, data={**form, "rating": "5"})
        assert rated.status_code == 200, rated.text
        assert "Ευχαριστούμε για τη βαθμολογία σας." in rated.text
        again = await anonymous.post(link, data={**form, "rating": "1"})
        assert again.status_code == 200
        assert "Αυτή η επίλυση έχει ήδη βαθμολογηθεί." in again.text
        token = link.rsplit("/", 1)[1]
        # A refused form is logged by its route, never with the link's token.
        no_csrf = await anonymous.post(link, data={"rating": "5"})
        assert no_csrf.status_code == 403
        gateway_log = (system.workdir / "logs" / "gateway.log").read_text(encoding="utf-8")
        assert "/helpdesk/{lang}/rate/{token}" in gateway_log
        assert token not in gateway_log
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        for bad in (forged, "A" * 300, token[:20]):
            refused = await anonymous.get(f"/helpdesk/el/rate/{bad}")
            assert refused.status_code == 400
            assert "Ο σύνδεσμος βαθμολόγησης δεν είναι έγκυρος ή έχει λήξει." in refused.text
    return link


async def test_the_end_of_a_ticket_reopen_window_and_ratings_in_the_report(
    system: System,
) -> None:
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        agent_id = await create_user(system, f"wsend{tag}", "Τέλος Agent", Role.AGENT)
        agent = (await session(client, f"wsend{tag}"))["access_token"]
        customer_email, customer = await register_customer(system, client, f"we{tag}")
        ticket, url = await open_ticket(client, customer, f"Οθόνη {tag}", "normal")
        taken = await client.post(f"{url}/assign", headers=auth(agent), json={"reassign": True})
        assert taken.status_code == 200, taken.text

        async def status(token: str, to: str) -> httpx.Response:
            return await client.post(f"{url}/status", headers=auth(token), json={"status": to})

        # Nothing to rate before a resolution.
        early = await client.post(f"{url}/satisfaction", headers=auth(customer), json={"rating": 5})
        assert early.status_code == 409, early.text
        assert (await status(agent, "resolved")).status_code == 200
        mail = await wait_mail(system, customer_email, "/helpdesk/el/rate/")
        assert ticket["number"] in str(mail["Subject"])
        link = await rate_from_the_mail(system, mail, ticket["number"], f"Οθόνη {tag}")
        # Reopened within the window, with a reason the agent sees.
        reopened = await client.post(
            f"{url}/reopen", headers=auth(customer), json={"reason": "Ξανά τρεμοπαίζει"}
        )
        assert reopened.status_code == 200, reopened.text
        assert reopened.json()["status"] == "open"
        entry = (await client.get(url, headers=auth(agent))).json()["timeline"][-1]
        assert (entry["kind"], entry["body"]) == ("TicketStatusChanged", "Ξανά τρεμοπαίζει")
        # The first resolution's link gives way to the next mail's.
        async with httpx.AsyncClient(base_url=system.url, timeout=15) as anonymous:
            outdated = await anonymous.get(link)
        assert outdated.status_code == 409
        assert "χρησιμοποιήστε τον σύνδεσμο του πιο πρόσφατου μηνύματος" in outdated.text

        # Resolved again: rated once (the agent may not), a second rating is 409.
        assert (await status(agent, "resolved")).status_code == 200
        rate = {"rating": 4, "comment": "Καλή δουλειά"}
        assert (
            await client.post(f"{url}/satisfaction", headers=auth(agent), json=rate)
        ).status_code == 403
        rated = await client.post(f"{url}/satisfaction", headers=auth(customer), json=rate)
        assert rated.status_code == 201, rated.text
        assert rated.json() == {"ticket_id": ticket["ticket_id"], "rating": 4, "resolution": 2}
        again = await client.post(f"{url}/satisfaction", headers=auth(customer), json=rate)
        assert again.status_code == 409
        assert again.headers["content-type"].startswith("application/problem+json")
        assert again.json()["code"] == "conflict"

        # The rating counts for the agent and the queue in the SLA report.
        now = datetime.now(UTC)
        period = {
            "from": (now - timedelta(hours=1)).isoformat(),
            "to": (now + timedelta(hours=1)).isoformat(),
        }
        for group_by, key in (("agent", agent_id), ("queue", "service-desk")):
            report = await client.get(
                "/api/v1/reports/sla", headers=auth(agent), params={**period, "group_by": group_by}
            )
            assert report.status_code == 200, report.text
            (row,) = [r for r in report.json()["rows"] if r["group"] == key]
            assert row["ratings"] >= 1
            if group_by == "agent":  # 5 from the mail's link, 4 from the API
                assert (row["ratings"], row["rating_average"]) == (2, 4.5)

        # After the window (8.6 s here, 14 days by default) the requester's reopen is 409.
        detail = (await client.get(url, headers=auth(customer))).json()
        until = datetime.fromisoformat(detail["reopen_until"])
        assert detail["rated"]
        await eventually(lambda: datetime.now(UTC) > until, timeout=20, what="the window passed")
        late = await client.post(f"{url}/reopen", headers=auth(customer))
        assert late.status_code == 409, late.text
        assert late.json()["code"] == "invalid_transition"
        assert (await client.post(f"{url}/reopen", headers=auth(agent))).status_code == 200


async def test_an_agent_opens_a_ticket_on_behalf_of_an_employee(system: System) -> None:
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        agent = await signed_in_agent(system, client, f"wsbeh{tag}", "Κώστας Agent")
        customer_email, customer = await register_customer(system, client, f"wb{tag}")
        draft = {"subject": f"Τηλεφώνησε {tag}", "description": "Δεν τυπώνει.", "priority": "low"}
        # Only agents; only for someone the helpdesk knows.
        for token, requester, status in (
            (customer, f"mariawb{tag}", 403),
            (agent, f"nobody{tag}@example.gr", 404),
        ):
            refused = await client.post(
                "/api/v1/tickets", headers=auth(token), json={**draft, "requester": requester}
            )
            assert refused.status_code == status, refused.text

        async def open_for_customer() -> httpx.Response | None:
            # Until identity's UserActivated reaches the tickets service, the
            # employee is unknown there (404, and nothing is stored).
            response = await client.post(
                "/api/v1/tickets",
                headers=auth(agent),
                json={**draft, "requester": customer_email.upper()},
            )
            return None if response.status_code == 404 else response

        opened: httpx.Response = await eventually(
            open_for_customer, what="the employee known to the tickets service"
        )
        assert opened.status_code == 201, opened.text
        ticket = opened.json()
        # The employee gets the usual confirmation and finds it among their own.
        await wait_mail(system, customer_email, ticket["number"])
        mine = (await client.get("/api/v1/tickets", headers=auth(customer))).json()["items"]
        assert ticket["ticket_id"] in [t["ticket_id"] for t in mine]
        detail = (
            await client.get(f"/api/v1/tickets/{ticket['ticket_id']}", headers=auth(agent))
        ).json()
        assert (detail["channel"], detail["opened_by"]["name"]) == ("agent", "Κώστας Agent")
        assert detail["requester_email"] == customer_email
        assert detail["requester"]["name"] == "Μαρία Παπαδοπούλου"


async def test_assignment_replay_from_the_cli(system: System) -> None:
    """Over NATS as the operator: the table for today (the figures themselves are
    checked by hand in tests/unit/tickets/test_assignment_replay.py)."""
    today = datetime.now(UTC).date().isoformat()
    done = await helpdesk(
        system, "assignment-replay", "--policy", "least_open", "--since", today, "--queue", DESK
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("least_open replayed over ")
    assert lines[1].split()[:3] == ["agent", "would", "receive"]
    assert lines[-1].startswith("open-load spread")
    unknown = await helpdesk(
        system, "assignment-replay", "--policy", "round_robin", "--since", today, "--queue", "nope"
    )
    assert unknown.returncode == 1
    assert "nope" in unknown.stderr
