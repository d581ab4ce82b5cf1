"""The kit's background loop (`servicekit.loops.repeat`): a failing pass is
logged and the loop goes on; a cancellation ends it."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from helpdesk.servicekit.loops import kind_of, repeat


async def test_a_failed_pass_is_logged_and_the_next_one_runs_until_cancelled() -> None:
    passes: list[int] = []
    enough = asyncio.Event()

    async def step() -> None:
        passes.append(len(passes))
        if len(passes) <= 2:
            raise ConnectionRefusedError("secret@example.com is away")
        if len(passes) == 4:
            enough.set()

    async def pause() -> None:
        await asyncio.sleep(0)

    with structlog.testing.capture_logs() as logs:
        loop = asyncio.create_task(
            repeat(step, pause=pause, failed="pass failed", error_of=kind_of)
        )
        await asyncio.wait_for(enough.wait(), 5)
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
    assert len(passes) >= 4
    failures = [e for e in logs if e["event"] == "pass failed"]
    assert [f["error"] for f in failures] == ["ConnectionRefusedError"] * 2
    assert "secret@example.com" not in repr(logs)
