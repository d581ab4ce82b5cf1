"""Outages delay, never drop: the whole system as processes under faults.

* A tarpitting SMTP server (accepts, never answers) leaves identity's
  commit → publish lag where it was: no mail holds a database transaction.
* The short fault run: tickets submitted while every service, PostgreSQL and
  NATS are killed (NATS kept down longer than nats-py's default reconnect
  budget at the test's reconnect wait) and the SMTP server is down longer than
  the consumer's old retry budget (51 s): nothing lost, nothing sent twice
  with another Message-ID, no dead letter.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpdesk.devstack.servers import free_port
from tests.faults.chaos import MAIL_RESUME_SECONDS, run_chaos
from tests.faults.cluster import start_faulty_system

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


class Tarpit:
    """Accepts SMTP connections and never says a word."""

    def __init__(self) -> None:
        self.port = free_port()
        self.accepted = 0
        self._sock = socket.create_server(("127.0.0.1", self.port))
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            self._held.append(conn)

    def __enter__(self) -> Tarpit:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    with Tarpit() as running:
        yield running


def lag_buckets(metrics: str, schema: str) -> dict[float, float]:
    """Cumulative counts of outbox_publish_lag_seconds per upper bound."""
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(metrics):
        if family.name != "outbox_publish_lag_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("schema") == schema:
                buckets[float(sample.labels["le"])] = sample.value
    return buckets


async def test_a_tarpitting_smtp_server_does_not_delay_identitys_events(
    tmp_path: Path, tarpit: Tarpit
) -> None:
    system = await start_faulty_system(
        tmp_path,
        HELPDESK_SMTP_PORT=str(tarpit.port),
        HELPDESK_REGISTRATION_ADDRESS_LIMIT="1000",
    )
    try:
        async with httpx.AsyncClient(base_url=system.url, timeout=15) as client:
            started = time.monotonic()
            for n in range(24):
                tag = uuid.uuid4().hex[:8]
                response = await client.post(
                    "/api/v1/accounts",
                    json={
                        "name": f"Tarpit {n}",
                        "username": f"tarpit{tag}",
                        "email": f"tarpit.{tag}@example.org",
                        "password": "Tarpit-Helpdesk-2026!",
                        "locale": "en",
                    },
                )
                assert response.status_code == 202, response.text
                await asyncio.sleep(0.25)
            await asyncio.sleep(2)  # the last events reach the relay and the notifier
            elapsed = time.monotonic() - started
            metrics = (await client.get(f"{system.processes['identity'].ops_url}/metrics")).text
        buckets = lag_buckets(metrics, "identity")
        conn = await asyncpg.connect(system.servers.database_url)
        try:
            for _ in range(100):  # the notifier records each activation mail
                queued = await conn.fetchval(
                    "SELECT count(*) FROM notifier.deliveries WHERE status = 'pending'"
                )
                if queued >= 24:
                    break
                await asyncio.sleep(0.1)
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(system.stop)
    print(f"identity commit→publish lag buckets over {elapsed:.0f}s of tarpit: {buckets}")
    assert tarpit.accepted >= 1  # the notifier did try, and got stuck in the tarpit
    assert queued == 24  # every activation mail recorded, none sent
    total = buckets[float("inf")]
    assert total >= 24
    # Every event published within half a second of its commit, SMTP stalled or not
    # (mail sent inside a transaction held the relay back by the SMTP timeout, 10 s).
    assert buckets[0.5] == total, buckets


async def test_short_fault_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    result, timeline = await run_chaos(
        tmp_path,
        tickets=240,
        per_second=4.0,
        rounds=1,
        gap=2.0,
        smtp_down=55.0,  # longer than the consumer's old retry budget (1+5+15+30 s)
        nats_down=18.0,  # longer than 60 reconnect attempts at the test's 0.25 s wait
    )
    print("\n".join(timeline.entries + result.lines()))
    assert result.problems == []
    assert result.acknowledged == 240
    assert result.stored == result.on_stream >= result.acknowledged
    assert result.duplicates_different_id == 0
    assert max(timeline.nats_recovery) < 15
    assert timeline.ready_without_nats == []
    # With the production mail back-off (5 s doubling to 10 min), mail resumes
    # within seconds of the SMTP server's return, not minutes.
    [resumed] = timeline.mail_resumed
    assert resumed.delay is not None
    assert resumed.delay <= MAIL_RESUME_SECONDS
