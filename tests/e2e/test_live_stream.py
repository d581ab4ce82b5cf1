"""`GET /api/v1/stream` (issue 29): each caller gets the ticket changes they may
see — two customers and an agent on one system — and `Last-Event-ID` resumes."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import suppress
from typing import Any

import httpx
import pytest

from helpdesk.contracts.tickets import StreamChange
from tests.e2e.harness import System
from tests.e2e.test_agents_flow import signed_in_agent
from tests.e2e.test_tickets_flow import auth, register_customer
from tests.e2e.test_workspace_flow import open_ticket
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


class Listener:
    """One SSE connection, its frames parsed as they come."""

    def __init__(self, client: httpx.AsyncClient, token: str, last_event_id: str | None = None):
        self.client, self.token, self.last_event_id = client, token, last_event_id
        self.events: list[dict[str, Any]] = []
        self.opened = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        headers = auth(self.token)
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        async with self.client.stream("GET", "/api/v1/stream", headers=headers) as answer:
            assert answer.status_code == 200, await answer.aread()
            assert answer.headers["content-type"].startswith("text/event-stream")
            frame: dict[str, str] = {}
            async for line in answer.aiter_lines():
                self.opened.set()
                if line == "":
                    if frame.get("event") == "ticket":
                        # Each event is what the document says (StreamChange, extra="forbid").
                        StreamChange.model_validate_json(frame["data"])
                        self.events.append({"id": frame["id"], **json.loads(frame["data"])})
                    frame = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    frame[name] = value

    def about(self, ticket_id: str) -> list[str]:
        return [e["kind"] for e in self.events if e["ticket_id"] == ticket_id]

    async def close(self) -> None:
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task


async def test_the_stream_sends_each_caller_only_what_they_may_see(system: System) -> None:
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        agent = await signed_in_agent(system, client, f"live{tag}", "Live Agent")
        _, anna = await register_customer(system, client, f"la{tag}")
        _, bill = await register_customer(system, client, f"lb{tag}")
        listeners = [Listener(client, token) for token in (agent, anna, bill)]
        for listener in listeners:
            await asyncio.wait_for(listener.opened.wait(), timeout=10)
        seen_by_agent, seen_by_anna, seen_by_bill = listeners

        annas, _ = await open_ticket(client, anna, f"Anna {tag}", "normal")
        bills, bill_url = await open_ticket(client, bill, f"Bill {tag}", "normal")
        note = {"body": "Μόνο για εμάς.", "internal": True}
        assert (
            await client.post(f"{bill_url}/messages", headers=auth(agent), json=note)
        ).status_code == 201
        reply = {"body": "Το κοιτάμε."}
        assert (
            await client.post(f"{bill_url}/messages", headers=auth(agent), json=reply)
        ).status_code == 201

        a, b = annas["ticket_id"], bills["ticket_id"]
        await eventually(
            lambda: (
                seen_by_agent.about(a) and seen_by_agent.about(b).count("TicketMessageAdded") == 2
            ),
            what="the agent sees both tickets, the note too",
        )
        await eventually(
            lambda: "TicketMessageAdded" in seen_by_bill.about(b), what="the reply on Bill's ticket"
        )
        await eventually(lambda: seen_by_anna.about(a), what="Anna's own ticket")
        # Nobody's else: never an event about another customer's ticket.
        assert seen_by_anna.about(b) == []
        assert seen_by_bill.about(a) == []
        assert {e["ticket_id"] for e in seen_by_anna.events} == {a}
        assert {e["ticket_id"] for e in seen_by_bill.events} == {b}
        # Bill sees his ticket's submission and the public reply, not the internal note.
        assert seen_by_bill.about(b).count("TicketMessageAdded") == 1
        assert seen_by_agent.about(b).count("TicketMessageAdded") == 2
        assert all("body" not in e for e in seen_by_agent.events)  # changes, not bodies

        # Reconnecting with Last-Event-ID resumes after it: what came next, nothing before.
        first = next(e["id"] for e in seen_by_bill.events if e["ticket_id"] == b)
        resumed = Listener(client, bill, last_event_id=first)
        await eventually(
            lambda: "TicketMessageAdded" in resumed.about(b), what="the resumed stream"
        )
        assert resumed.about(b) == seen_by_bill.about(b)[1:]  # all after the first, once
        for listener in (*listeners, resumed):
            await listener.close()
