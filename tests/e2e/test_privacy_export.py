"""A person's data export end to end (issue 30, item 4; docs/privacy.md, "Export"):
Μαρία has two tickets, a reply she mailed in, a file and a rating; another customer
has a ticket of his own and tries to mail a reply onto hers (refused:
`not_participant`). Her ZIP holds all of hers, a README in Greek, and not a byte of
his; an admin's export of her is the same; a customer may not export anyone
through the admin route, and an unknown id is 404."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.e2e.harness import System
from tests.e2e.test_agents_flow import new_admin
from tests.e2e.test_attachments_flow import upload
from tests.e2e.test_mail_files_flow import PDF
from tests.e2e.test_mail_flow import answer, deliver, processed
from tests.e2e.test_tickets_flow import (
    auth,
    rate,
    resolve,
    submit,
    two_customers_and_an_agent,
    wait_mail,
)

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


async def ticket_of(client: httpx.AsyncClient, token: str, subject: str, text: str) -> Any:
    response = await submit(
        client, token, {"subject": subject, "description": text, "priority": "normal"}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def exported(client: httpx.AsyncClient, token: str, path: str) -> dict[str, bytes]:
    """Every entry of the export's ZIP, after checking the answer's headers."""
    response = await client.get(path, headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    entries = {name: archive.read(name) for name in archive.namelist()}
    entries["<disposition>"] = response.headers["content-disposition"].encode()
    return entries


def refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == code


async def test_an_export_holds_all_of_hers_and_nothing_of_anyone_else(system: System) -> None:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        email, maria, other_email, other, agent = await two_customers_and_an_agent(
            system, client, tag
        )
        _, admin = await new_admin(system, client, tag)
        me = (await client.get("/api/v1/me", headers=auth(maria))).json()
        other_id = (await client.get("/api/v1/me", headers=auth(other))).json()["user_id"]

        # Hers: a ticket answered by the agent (and noted internally), her answer
        # mailed in; a second ticket with a file.
        first = await ticket_of(client, maria, f"Εκτυπωτής {tag}", f"Δεν τυπώνει {tag}.")
        path = f"/api/v1/tickets/{first['ticket_id']}"
        note = await client.post(
            f"{path}/messages",
            headers=auth(agent),
            json={"body": f"ΕΣΩΤΕΡΙΚΟ-{tag}", "internal": True},
        )
        assert note.status_code == 201, note.text
        reply = await client.post(
            f"{path}/messages", headers=auth(agent), json={"body": f"Αλλάξτε τόνερ {tag}."}
        )
        assert reply.status_code == 201, reply.text
        agent_mail = await wait_mail(system, email, f"Αλλάξτε τόνερ {tag}")
        mailed = answer(agent_mail, email, f"Το άλλαξα {tag}, ευχαριστώ.")
        await deliver(system, mailed, sender=email)
        assert (await processed(system, str(mailed["Message-ID"])))["status"] == "done"
        second = await ticket_of(client, maria, f"Οθόνη {tag}", f"Τρεμοπαίζει {tag}.")
        pdf_name = f"αναφορά {tag}.pdf"
        uploaded = await upload(
            client, maria, second["ticket_id"], (pdf_name, PDF, "application/pdf")
        )
        assert uploaded.status_code == 201, uploaded.text

        # Resolved, and rated by her.
        await resolve(client, path, agent)
        await rate(client, path, maria, 5, f"Άψογα {tag}")

        # His: a ticket and a file of his own, and a reply mailed from his address
        # onto her ticket, which the helpdesk refuses (he is not a participant).
        his = await ticket_of(client, other, f"ΞΕΝΟ-ΘΕΜΑ-{tag}", f"ΞΕΝΗ-ΠΕΡΙΓΡΑΦΗ-{tag}")
        his_file = await upload(
            client, other, his["ticket_id"], (f"ΞΕΝΟ-ΑΡΧΕΙΟ-{tag}.pdf", PDF, "application/pdf")
        )
        assert his_file.status_code == 201, his_file.text
        intruder = answer(agent_mail, other_email, f"ΞΕΝΗ-ΑΠΑΝΤΗΣΗ-{tag}")
        await deliver(system, intruder, sender=other_email)
        row = await processed(system, str(intruder["Message-ID"]))
        assert (row["status"], row["outcome"]) == ("ignored", "not_participant")

        mine = await exported(client, maria, "/api/v1/me/export")

        # The answer's name and the archive's files.
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        assert (
            mine["<disposition>"]
            .decode()
            .startswith(f'attachment; filename="helpdesk-export-maria{tag}-{today}.zip"')
        )
        one, two = first["number"], second["number"]
        assert set(mine) == {
            "<disposition>",
            "README.txt",
            "profile.json",
            "sign-ins.json",
            f"tickets/{one}.json",
            f"tickets/{two}.json",
            f"files/{two}/{pdf_name}",
            "ratings.json",
            "mails.json",
        }

        # Her README in her language (Greek), her profile, sessions and mails.
        readme = mine["README.txt"].decode()
        assert readme.startswith("Τα δεδομένα σας στο Helpdesk")
        assert f"maria{tag}" in readme
        profile = json.loads(mine["profile.json"])
        assert (profile["user_id"], profile["email"], profile["locale"]) == (
            me["user_id"],
            email,
            "el",
        )
        assert (profile["source"], profile["roles"]) == ("local", ["customer"])
        assert {"registered", "activated"} <= {e["kind"] for e in profile["history"]}
        assert profile["activated_at"] is not None
        sessions = json.loads(mine["sign-ins.json"])
        assert sessions
        assert all(s["started_at"] for s in sessions)
        mails = json.loads(mine["mails.json"])
        assert {m["recipient"] for m in mails} == {email}
        assert {"activation", "ticket_submitted", "ticket_reply"} <= {m["template"] for m in mails}

        # Her tickets: the public timeline with her mailed reply, no internal note.
        answered = json.loads(mine[f"tickets/{one}.json"])
        assert (answered["subject"], answered["status"]) == (f"Εκτυπωτής {tag}", "resolved")
        bodies = [(e["author_role"], e["body"]) for e in answered["timeline"] if e["body"]]
        assert ("you", f"Δεν τυπώνει {tag}.") in bodies
        assert ("agent", f"Αλλάξτε τόνερ {tag}.") in bodies
        assert ("you", f"Το άλλαξα {tag}, ευχαριστώ.") in bodies
        assert [(r["rating"], r["comment"]) for r in answered["ratings"]] == [(5, f"Άψογα {tag}")]
        with_file = json.loads(mine[f"tickets/{two}.json"])
        (listed,) = with_file["files"]
        assert (listed["original_name"], listed["path"]) == (pdf_name, f"files/{two}/{pdf_name}")
        assert mine[f"files/{two}/{pdf_name}"] == PDF
        ratings = json.loads(mine["ratings.json"])
        assert [(r["ticket"], r["rating"]) for r in ratings] == [(one, 5)]

        # Nothing of anyone else: not his account, ticket, file or refused mail, and
        # not the agents' note, in any byte of any entry or name.
        everything = b"\n".join([*mine.values(), *(name.encode() for name in mine)])
        for marker in (
            f"ΕΣΩΤΕΡΙΚΟ-{tag}",
            f"maria{tag}x",
            other_email,
            other_id,
            f"ΞΕΝΟ-ΘΕΜΑ-{tag}",
            f"ΞΕΝΗ-ΠΕΡΙΓΡΑΦΗ-{tag}",
            f"ΞΕΝΟ-ΑΡΧΕΙΟ-{tag}",
            f"ΞΕΝΗ-ΑΠΑΝΤΗΣΗ-{tag}",
            his["number"],
        ):
            assert marker.encode() not in everything, marker

        # An admin's export of her holds the same.
        by_admin = await exported(client, admin, f"/api/v1/users/{me['user_id']}/export")
        assert set(by_admin) == set(mine)
        for name in (f"tickets/{one}.json", f"tickets/{two}.json", f"files/{two}/{pdf_name}"):
            assert by_admin[name] == mine[name], name
        assert json.loads(by_admin["profile.json"]) == profile

        # The admin route is for admins; an unknown id is 404.
        refused(
            await client.get(f"/api/v1/users/{other_id}/export", headers=auth(maria)),
            403,
            "forbidden",
        )
        refused(
            await client.get(f"/api/v1/users/{me['user_id']}/export", headers=auth(maria)),
            403,
            "forbidden",
        )
        refused(
            await client.get(f"/api/v1/users/{uuid.uuid4()}/export", headers=auth(admin)),
            404,
            "not_found",
        )
        refused(await client.get("/api/v1/me/export"), 401, "unauthenticated")
