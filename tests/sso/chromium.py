"""What the sign-in tests in Chromium share: a Greek page at the portal, and the
portal as an agent who has just signed in sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.harness import System


async def greek_page(browser: Any, system: System, path: str) -> tuple[Any, Any]:
    """A new Greek browser context (close it at the end) and its page, at `path`."""
    context = await browser.new_context(base_url=system.url, locale="el-GR")
    page = await context.new_page()
    await page.goto(path)
    return context, page


async def landed_as_agent(page: Any, name: str, screenshot: Path) -> None:
    """Signed in: `page` reaches the Greek ticket list, named `name`, with an agent's
    links (queues, reports) and no admin's; the page as it looks then, in `screenshot`."""
    await page.wait_for_url("**/helpdesk/el/tickets")
    assert await page.locator(".who strong").inner_text() == name
    nav = page.locator("nav")
    assert await nav.locator("a[href$='/queues']").count() == 1
    assert await nav.locator("a[href$='/users']").count() == 0
    await page.screenshot(path=str(screenshot), full_page=True)
