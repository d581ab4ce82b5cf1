"""The one shape of a service's background loop: do a pass, log a failure and
carry on, pause, again — until cancelled (`ctx.background` watches it).

Every loop that must outlive an outage (the outbox relay, the mail sender,
the IMAP poller, the SLA monitor, gauges, pruning) is `repeat(...)`, so none
can stop on an exception or swallow a cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn

from helpdesk.servicekit.logging import get_logger

log = get_logger(__name__)


def every(seconds: float) -> Callable[[], Awaitable[None]]:
    """A fixed pause between passes."""
    return lambda: asyncio.sleep(seconds)


async def repeat(
    step: Callable[[], Awaitable[object]],
    *,
    pause: Callable[[], Awaitable[object]],
    failed: str,
    error_of: Callable[[Exception], str] = repr,
    **context: object,
) -> NoReturn:
    """Run `step`, then `pause`, forever. An exception of a pass is logged as
    `failed` (with `error_of(exc)`: `repr`, or the type's name where the
    message could carry an address) and the next pass comes after the pause."""
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(failed, error=error_of(exc), **context)
        await pause()


def kind_of(exc: Exception) -> str:
    """An exception's type name alone (its message may hold personal data)."""
    return type(exc).__name__
