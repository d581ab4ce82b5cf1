"""NATS connection events reach the log, without credentials and without
repeating the same reconnect error every few seconds."""

from __future__ import annotations

import structlog

from helpdesk.servicekit.runtime import ConnectionEvents


async def test_connection_events_are_logged_once_per_error_and_without_a_password() -> None:
    events = ConnectionEvents("nats://svc:s3cret@nats-1:4222,nats://nats-2:4222")
    with structlog.testing.capture_logs() as logs:
        await events.disconnected()
        for _ in range(5):
            await events.error(ConnectionRefusedError(111, "Connection refused"))
        await events.error(TimeoutError())
        await events.reconnected()
    assert [entry["event"] for entry in logs] == [
        "nats disconnected; reconnecting",
        "nats connection error",
        "nats connection error",
        "nats reconnected",
    ]
    assert all("s3cret" not in str(entry) for entry in logs)
    assert logs[0]["nats_url"] == "nats://nats-1:4222,nats://nats-2:4222"
