"""The proof of erasure (issue 30, item 6; docs/privacy.md), on a whole system of
its own (its own database, NATS, log files): a person with a unique marker in
every field they can fill — name, username, e-mail, subject, description, a
reply, a file's name and contents, a mailed-in message, a satisfaction comment —
is erased by the operator. Then:

* no table of any schema holds the marker in plaintext;
* no message of any JetStream stream holds it in its raw bytes (the object
  store's chunks are stream messages too);
* no log file holds it;
* a search for it finds nothing;
* every value sealed under their keys is in the events still, and no key that
  exists opens it: their keystore rows hold no key;
* the SLA report's totals are what they were.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import asyncpg
import httpx
import nats
import pytest

from helpdesk.contracts.actors import Role
from helpdesk.contracts.privacy import ErasureAccepted, OperatorEraseUser
from helpdesk.servicekit.requests import ask
from tests import operator
from tests.e2e.harness import System, mail_text, start_system
from tests.e2e.test_attachments_flow import upload
from tests.e2e.test_mail_flow import answer, deliver, processed
from tests.e2e.test_tickets_flow import (
    PASSWORD,
    auth,
    create_agent,
    login,
    rate,
    resolve,
    submit,
    wait_mail,
)
from tests.servers import Servers

pytestmark = pytest.mark.e2e


@pytest.fixture
async def own_system(servers: Servers, tmp_path: Path) -> Any:
    """Short key caches, so the scrubs run seconds after the erasure."""
    system = await start_system(
        tmp_path, servers, extra_env={"HELPDESK_PRIVACY_KEY_CACHE_SECONDS": "1"}
    )
    try:
        yield system
    finally:
        await asyncio.to_thread(system.stop)


async def register(system: System, client: httpx.AsyncClient, marker: str) -> str:
    """Their own account, through the FAQ's flow; answers the access token."""
    response = await client.post(
        "/api/v1/accounts",
        json={
            "name": f"Μαρία {marker}",
            "username": marker,
            "email": f"{marker}@example.gr",
            "password": PASSWORD,
            "locale": "el",
        },
    )
    assert response.status_code == 202, response.text
    mail = await wait_mail(system, f"{marker}@example.gr", "token=")
    match = re.search(r"token=([^\s&\"<]+)", mail_text(mail))
    assert match
    activated = await client.post(
        "/api/v1/accounts/activate", json={"token": unquote(match.group(1)), "password": PASSWORD}
    )
    assert activated.status_code == 200, activated.text
    return await login(client, marker)


async def tables_holding(conn: asyncpg.Connection, marker: str) -> list[str]:
    tables = await conn.fetch(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_type = 'BASE TABLE'"
        " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
    found = []
    for t in tables:
        name = f'"{t["table_schema"]}"."{t["table_name"]}"'
        if await conn.fetchval(
            f"SELECT count(*) FROM {name} x WHERE x::text ILIKE $1", f"%{marker}%"
        ):
            found.append(name)
    return found


async def excerpts(conn: asyncpg.Connection, tables: list[str], marker: str) -> str:
    """Where in those tables the marker is, to say what was missed."""
    found = []
    for name in tables:
        rows = await conn.fetch(
            f"SELECT x::text AS t FROM {name} x WHERE x::text ILIKE $1 LIMIT 3", f"%{marker}%"
        )
        for row in rows:
            at = row["t"].lower().find(marker)
            found.append(f"{name}: …{row['t'][max(0, at - 200) : at + 60]}…")
    return "plaintext of the erased person left:\n" + "\n".join(found)


async def stream_messages_holding(system: System, marker: str) -> list[str]:
    """Every message of every stream, read raw (subject, headers and bytes)."""
    nc = await nats.connect(system.servers.nats_url, **system.servers.nats_options())
    found = []
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            state = info.state
            for seq in range(state.first_seq, state.last_seq + 1):
                try:
                    msg = await js.get_msg(info.config.name, seq)
                except nats.js.errors.NotFoundError:
                    continue  # deleted or purged
                raw = (msg.data or b"") + str(msg.headers or {}).encode() + msg.subject.encode()
                if marker.encode() in raw.lower():
                    found.append(f"{info.config.name}#{seq} {msg.subject}")
    finally:
        await nc.close()
    return found


def logs_holding(system: System, marker: str) -> list[str]:
    return [
        path.name
        for path in (system.workdir / "logs").glob("*.log")
        if marker in path.read_text(errors="replace").lower()
    ]


async def report(client: httpx.AsyncClient, token: str) -> Any:
    now = datetime.now(UTC)
    period = {"from": (now - timedelta(hours=2)).isoformat(), "to": now.isoformat()}
    response = await client.get(
        "/api/v1/reports/sla",
        headers=auth(token),
        params={**period, "group_by": "priority"},
    )
    assert response.status_code == 200, response.text
    return response.json()["rows"]


async def test_an_erased_person_is_nowhere(own_system: System) -> None:
    system = own_system
    marker = f"zq{uuid.uuid4().hex[:10]}"
    email = f"{marker}@example.gr"
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        person = await register(system, client, marker)
        _, agent = await create_agent(system, client, "proof")
        await operator.create_user(system.servers, "adminproof", role=Role.ADMIN, password=PASSWORD)
        admin = await login(client, "adminproof")

        created = await submit(
            client,
            person,
            {
                "subject": f"VPN {marker}",
                "description": f"Δεν συνδέομαι {marker}",
                "priority": "high",
            },
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
        path = f"/api/v1/tickets/{ticket['ticket_id']}"
        reply = await client.post(
            f"{path}/messages", headers=auth(person), json={"body": f"Ξανά {marker}"}
        )
        assert reply.status_code == 201, reply.text
        uploaded = await upload(
            client,
            person,
            ticket["ticket_id"],
            (f"σημειώσεις-{marker}.txt", f"Τα αρχεία μου {marker}\n".encode(), "text/plain"),
        )
        assert uploaded.status_code == 201, uploaded.text
        answered = await client.post(
            f"{path}/messages", headers=auth(agent), json={"body": "Δοκιμάστε ξανά τώρα."}
        )
        assert answered.status_code == 201, answered.text
        agent_mail = await wait_mail(system, email, "Δοκιμάστε ξανά τώρα")
        mailed = answer(agent_mail, email, f"Από το ταχυδρομείο {marker}")
        await deliver(system, mailed, sender=email)
        assert (await processed(system, str(mailed["Message-ID"])))["status"] == "done"
        await resolve(client, path, agent)
        await rate(client, path, person, 4, f"Καλά {marker}")
        before = await report(client, admin)
        search = {"q": marker, "all_queues": "true"}
        found = await client.get("/api/v1/tickets", headers=auth(admin), params=search)
        assert [t["number"] for t in found.json()["items"]] == [ticket["number"]]

        conn = await asyncpg.connect(system.servers.database_url)
        try:
            assert '"tickets"."tickets"' in await tables_holding(conn, marker)
            user_id = uuid.UUID(
                (await client.get("/api/v1/me", headers=auth(person))).json()["user_id"]
            )

            nc = await nats.connect(
                system.servers.nats_url, **system.servers.nats_options("operator")
            )
            try:
                erased = await ask(
                    nc, OperatorEraseUser(username=marker, reason="the proof test"), within=15
                )
            finally:
                await nc.close()
            assert isinstance(erased, ErasureAccepted)

            # Every service scrubs once the key caches (1 s here) have expired.
            deadline = time.monotonic() + 90
            while (left := await tables_holding(conn, marker)) and time.monotonic() < deadline:
                await asyncio.sleep(1)
            assert left == [], await excerpts(conn, left, marker)

            # A file's bytes go from the object store once the tickets service's eraser
            # has handled the removal its scrub committed: moments later.
            while (
                raw := await stream_messages_holding(system, marker)
            ) and time.monotonic() < deadline:
                await asyncio.sleep(1)
            assert raw == []
            assert logs_holding(system, marker) == []

            # What was sealed under their keys stays sealed, with no key to open it.
            key_ids = [
                r["key_id"]
                for r in await conn.fetch(
                    "SELECT key_id, wrapped FROM privacy.person_keys WHERE person_id = $1", user_id
                )
                if r["wrapped"] is None
            ]
            assert key_ids
            assert not await conn.fetchval(
                "SELECT count(*) FROM privacy.person_keys"
                " WHERE key_id = any($1::uuid[]) AND wrapped IS NOT NULL",
                key_ids,
            )
            sealed = await conn.fetchval(
                "SELECT count(*) FROM tickets.events WHERE data::text LIKE $1",
                f"%pd1:{key_ids[0]}:%",
            )
            assert sealed > 0
        finally:
            await conn.close()

        # Nothing found by a search; the report's totals are unchanged.
        found = await client.get("/api/v1/tickets", headers=auth(admin), params=search)
        assert found.status_code == 200, found.text
        assert found.json()["items"] == []
        assert await report(client, admin) == before
        # The ticket itself remains, for the figures: its number and priority.
        kept = await client.get(path, headers=auth(admin))
        assert kept.status_code == 200, kept.text
        assert (kept.json()["number"], kept.json()["priority"]) == (ticket["number"], "high")
        assert kept.json()["subject"] == ""
