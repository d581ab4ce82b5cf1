"""Waiting with a deadline inside loops that must stop when cancelled.

`asyncio.timeout`, never `asyncio.wait_for`: on Python 3.11 `wait_for`
returns normally when the awaited thing finishes in the same moment as a
cancellation arrives, so the cancellation is lost and the loop around it runs
on. A relay or mail sender being stopped then never stops (it hung a test
run's `gather` of the cancelled relay). `asyncio.timeout` keeps the
cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib


async def woken(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` have passed, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
