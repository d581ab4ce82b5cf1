"""'Τα δεδομένα μου' / 'My data' in a real browser (Debian Chromium) against the
whole system (issue 30, export): from the account page, in Greek and in English,
the page shows what the export holds and its link downloads the ZIP, with the
README in the person's own language."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import operator
from tests.browser.test_attachments_portal import portal_login
from tests.e2e.harness import System
from tests.e2e.test_tickets_flow import PASSWORD, register_customer

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

# (page language, account link, heading, button, the README's first line)
PAGES = {
    "el": ("Τα δεδομένα μου", "Τα δεδομένα μου", "Λήψη (ZIP)", "Τα δεδομένα σας στο Helpdesk"),
    "en": ("My data", "My data", "Download (ZIP)", "Your data in the Helpdesk"),
}


async def download_my_data(page: Any, lang: str, username: str, screenshots: Path) -> str:
    """From the account page to the ZIP; the README's text."""
    link, heading, button, _ = PAGES[lang]
    await page.goto(f"/helpdesk/{lang}/account")
    await page.get_by_role("link", name=link, exact=True).click()
    await page.wait_for_url(f"**/helpdesk/{lang}/my-data")
    assert await page.get_by_role("heading", level=1).inner_text() == heading
    await page.screenshot(path=str(screenshots / f"my-data-{lang}.png"), full_page=True)
    async with page.expect_download() as started:
        await page.get_by_role("link", name=button, exact=True).click()
    download = await started.value
    assert download.suggested_filename.startswith(f"helpdesk-export-{username}-")
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(Path(await download.path()).read_bytes()))
    assert archive.testzip() is None
    assert {"README.txt", "profile.json", "mails.json"} <= set(archive.namelist())
    return archive.read("README.txt").decode()


async def test_my_data_page_downloads_the_export(
    system: System, browser: Any, screenshots: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        await register_customer(system, client, tag)  # Greek
    english = f"john{tag}"
    await operator.create_user(system.servers, english, password=PASSWORD, locale="en")

    for username, lang in ((f"maria{tag}", "el"), (english, "en")):
        page = await portal_login(browser, system, username, f"{lang}-GR")
        readme = await download_my_data(page, lang, username, screenshots)
        assert readme.startswith(PAGES[lang][3]), readme[:80]
        assert username in readme
        await page.context.close()
