"""The one way a test waits for something that happens asynchronously: poll
`check` until it holds, with a deadline, instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "the condition",
    tolerate: tuple[type[BaseException], ...] = (AssertionError,),
) -> T:
    """Call `check()` (sync or async) until it returns something truthy without
    raising one of `tolerate`; return that. After `timeout` seconds fail with an
    AssertionError naming `what`, chained to the last tolerated error if any."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: BaseException | None = None
    while True:
        try:
            result: Any = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result  # type: ignore[no-any-return]
            last = None
        except tolerate as exc:
            last = exc
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s") from last
        await asyncio.sleep(interval)
