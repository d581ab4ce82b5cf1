"""The mail channel end to end, through the mailgate's real SMTP listener: a
registered user's mail becomes a ticket and a confirmation; the agent's portal
reply arrives with Reply-To and In-Reply-To; answering it adds a message;
answering the "resolved" mail reopens the ticket; the same mail twice is one
ticket; an out-of-office reply and a bounce create nothing; an unknown sender
is told once; a forged reply address is dead-lettered, listed by the CLI and
re-drivable."""

from __future__ import annotations

import asyncio
import time
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib
import asyncpg
import httpx
import pytest

from tests.e2e.harness import System, mail_text
from tests.e2e.test_cli import helpdesk
from tests.e2e.test_tickets_flow import (
    auth,
    create_agent,
    register_customer,
    resolve,
    wait_mail,
)
from tests.eventually import eventually

pytestmark = pytest.mark.e2e

SUPPORT = "helpdesk@helpdesk.example"


def a_mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Μαρία Παπαδοπούλου <{sender}>"
    mail["To"] = headers.pop("To", SUPPORT)
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="client.example")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


async def deliver(system: System, mail: EmailMessage | bytes, *, sender: str | None = None) -> str:
    """Hand the mail to the mailgate's SMTP listener as the company MTA would."""
    raw = mail if isinstance(mail, bytes) else mail.as_bytes()
    envelope_from = sender if sender is not None else "someone@example.gr"
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=system.mailgate_port, timeout=10)
    await client.connect()
    try:
        _, message = await client.sendmail(envelope_from, [SUPPORT], raw)
    finally:
        client.close()
    return message


async def processed(system: System, message_id: str, timeout: float = 20.0) -> asyncpg.Record:
    """The mailgate's row of a mail once it has been processed."""
    conn = await asyncpg.connect(system.servers.database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = await conn.fetchrow(
                "SELECT status, outcome, ticket_id FROM mailgate.mails WHERE message_id = $1",
                message_id,
            )
            if row is not None and row["status"] != "received":
                return row
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise TimeoutError(f"{message_id} not processed within {timeout}s")


async def known_to_tickets(system: System, address: str) -> None:
    """Until the tickets service has seen the user's activation (identity's event
    travels on its own): before that, a mail from them is an unknown sender's."""
    conn = await asyncpg.connect(system.servers.database_url)
    try:
        await eventually(
            lambda: conn.fetchval(
                "SELECT active FROM tickets.users WHERE lower(email) = lower($1)", address
            ),
            timeout=20,
            what=f"tickets knows {address} as active",
        )
    finally:
        await conn.close()


def answer(to_mail: EmailMessage, sender: str, body: str) -> EmailMessage:
    """What a mail client sends when the user presses Reply."""
    reply = a_mail(
        sender,
        f"Re: {to_mail['Subject']}",
        f"{body}\n\nΣτις Δευ 23 Νοε 2026 στις 10:00, ο/η Helpdesk <{SUPPORT}> έγραψε:\n"
        + "\n".join("> " + line for line in mail_text(to_mail).splitlines()),
        To=str(to_mail["Reply-To"]),
        In_Reply_To=str(to_mail["Message-ID"]),
        References=f"{to_mail['References']} {to_mail['Message-ID']}",
    )
    return reply


async def ticket(client: httpx.AsyncClient, token: str, ticket_id: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_conversation_by_mail(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
        email, customer = await register_customer(system, client, tag)
        _, agent = await create_agent(system, client, tag)

        # A mail from a registered user: a ticket (normal, other) and the confirmation.
        first = a_mail(email, f"Ο εκτυπωτής δεν τυπώνει {tag}", "Βγάζει λευκές σελίδες.")
        kept = await deliver(system, first, sender=email)
        assert "Kept as" in kept
        row = await processed(system, str(first["Message-ID"]), timeout=30)
        assert row["status"] == "done", row["outcome"]
        ticket_id = row["ticket_id"]
        created = await ticket(client, customer, ticket_id)
        assert created["subject"] == f"Ο εκτυπωτής δεν τυπώνει {tag}"
        assert (created["priority"], created["category"]) == ("normal", "other")
        confirmation = await wait_mail(system, email, created["number"])
        assert "καταχωρήθηκε" in str(confirmation["Subject"])
        assert str(confirmation["Reply-To"]).startswith("helpdesk+")

        # Delivered twice (the MTA retried): still one ticket.
        await deliver(system, first, sender=email)
        mine = await client.get("/api/v1/tickets", headers=auth(customer))
        assert [t["ticket_id"] for t in mine.json()["items"]] == [str(ticket_id)]

        # The agent answers in the portal; the mail can be answered by mail.
        path = f"/api/v1/tickets/{ticket_id}"
        reply = await client.post(
            f"{path}/messages", headers=auth(agent), json={"body": f"Αλλάξτε τόνερ ({tag})."}
        )
        assert reply.status_code == 201, reply.text
        agent_mail = await wait_mail(system, email, f"τόνερ ({tag})")
        reply_to = str(agent_mail["Reply-To"])
        assert reply_to.startswith("helpdesk+")
        assert reply_to.endswith("@helpdesk.example")
        assert str(agent_mail["In-Reply-To"]).startswith("<hd.")
        response = answer(agent_mail, email, f"Το άλλαξα, τίποτα ({tag}).")
        await deliver(system, response, sender=email)
        assert (await processed(system, str(response["Message-ID"])))["status"] == "done"
        timeline = (await ticket(client, customer, ticket_id))["timeline"]
        bodies = [e.get("body") for e in timeline if e["kind"] == "TicketMessageAdded"]
        assert bodies[-1] == f"Το άλλαξα, τίποτα ({tag})."  # the quoted history trimmed

        # Resolved; answering the "resolved" mail reopens the ticket.
        await resolve(client, path, agent)
        resolved_mail = await wait_mail(system, email, f"{created['number']} επιλύθηκε")
        reopen = answer(resolved_mail, email, "Ξαναχάλασε.")
        await deliver(system, reopen, sender=email)
        assert (await processed(system, str(reopen["Message-ID"])))["status"] == "done"
        assert (await ticket(client, customer, ticket_id))["status"] == "open"

        # An out-of-office reply and a bounce to the agent's mail create nothing.
        away = answer(agent_mail, email, "Είμαι εκτός γραφείου έως 30/11.")
        away.replace_header("Subject", "Αυτόματη απάντηση: εκτός γραφείου")
        away["Auto-Submitted"] = "auto-replied"
        await deliver(system, away, sender=email)
        bounce = a_mail("mailer-daemon@example.gr", "Undelivered Mail Returned to Sender", "x")
        bounce.replace_header("To", reply_to)
        bounce.make_mixed()
        await deliver(system, bounce, sender="")
        assert (await processed(system, str(away["Message-ID"])))["outcome"] == "auto_reply"
        assert (await processed(system, str(bounce["Message-ID"])))["outcome"] == "bounce"
        timeline_after = (await ticket(client, customer, ticket_id))["timeline"]
        assert len(timeline_after) == len(timeline) + 2  # resolved + the reopening answer


async def test_an_unknown_sender_is_told_once_and_nothing_is_created(system: System) -> None:
    stranger = f"stranger.{uuid.uuid4().hex[:8]}@example.gr"
    for n in range(2):
        mail = a_mail(stranger, f"Βοήθεια {n}", "Δεν έχω λογαριασμό.")
        await deliver(system, mail, sender=stranger)
        row = await processed(system, str(mail["Message-ID"]))
        assert (row["status"], row["outcome"], row["ticket_id"]) == (
            "ignored",
            "unknown_sender",
            None,
        )
    told = await asyncio.to_thread(system.wait_for_mail, stranger)
    assert "/helpdesk/el/register" in mail_text(told)
    assert "/helpdesk/en/register" in mail_text(told)
    assert str(told["Auto-Submitted"]) == "auto-replied"
    await asyncio.sleep(2.5)  # the explainer had every chance to send a second one
    assert len(system.mails_to(stranger)) == 1


async def test_a_forged_reply_address_is_dead_lettered_and_can_be_redriven(
    system: System,
) -> None:
    forged = "helpdesk+" + "a" * 42 + "@helpdesk.example"
    mail = a_mail("maria@example.gr", "Re: κάτι", "x", To=forged)
    await deliver(system, mail, sender="maria@example.gr")
    row = await processed(system, str(mail["Message-ID"]))
    assert row["status"] == "dead"
    listed = await helpdesk(system, "dead-letters", "mailgate")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if str(mail["Message-ID"]) in x)
    assert "reply address not signed" in line
    dead_id = line.split("\t")[0]
    redriven = await helpdesk(system, "redrive", "mailgate", dead_id)
    assert redriven.returncode == 0, redriven.stderr
    # Queued again, processed again, still not signed: parked again, never lost.
    again = await processed(system, str(mail["Message-ID"]))
    assert again["status"] == "dead"
