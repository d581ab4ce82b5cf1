"""`servicekit.waits.woken`: a loop waiting on its wake-up event stops when
cancelled, even when the cancellation and the wake-up arrive together."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import pytest

from helpdesk.servicekit.waits import woken


def a_loop(
    event: asyncio.Event, wait: Callable[[asyncio.Event], Awaitable[object]]
) -> asyncio.Task[None]:
    async def run() -> None:
        while True:  # a relay's or a sender's round, then a wait for the next
            event.clear()
            await wait(event)

    return asyncio.create_task(run())


async def cancelled_as_woken(task: asyncio.Task[None], event: asyncio.Event) -> None:
    await asyncio.sleep(0.01)  # the loop waits
    event.set()  # a NOTIFY arrives ...
    task.cancel()  # ... in the same moment as the stop


async def test_a_loop_cancelled_as_it_is_woken_stops() -> None:
    event = asyncio.Event()
    task = a_loop(event, lambda e: woken(e, 5.0))
    await cancelled_as_woken(task, event)
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2.0):
            await task


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for keeps the cancel from 3.12")
async def test_with_wait_for_the_same_loop_runs_on() -> None:
    """Why `woken` exists: on 3.11 `asyncio.wait_for` loses that cancellation."""
    event = asyncio.Event()
    task = a_loop(event, lambda e: asyncio.wait_for(e.wait(), 5.0))
    await cancelled_as_woken(task, event)
    await asyncio.sleep(0.05)
    assert not task.done()  # the stop was lost
    task.cancel()  # a cancel that does not coincide with a wake-up works
    with pytest.raises(asyncio.CancelledError):
        await task
