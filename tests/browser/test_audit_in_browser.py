"""An admin in Chromium reads the audit log: rows, a filter, older pages, WCAG 2.2 AA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from chat_server.domain.audit import AuditKind
from chat_server.web.audit_trail import AUDIT
from tests.support.browser import axe_violations, format_violations, sign_in_to_console
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    running_server,
    write_staff,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

try:
    from playwright.async_api import expect
except ImportError:  # the browser fixture skips (or fails under CI) without Playwright
    expect = None  # type: ignore[assignment]

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WCAG22_AA_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
STAFF = {
    "anna": {"display_name": "Anna"},
    "ada": {"display_name": "Ada", "role": "admin"},
    "siv": {"display_name": "Siv Lindqvist-Bergström", "role": "supervisor"},
}
SEEDED_FAILURES = 55  # more than one page (50)


@pytest_asyncio.fixture(loop_scope="module")
async def server(redis_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """The real app with an admin, and an audit log of more than one page."""
    staff_file = tmp_path / "staff.json"
    write_staff(staff_file, STAFF)
    async with running_server(make_settings(redis_url, staff_file, free_port())) as running:
        audit = running.app[AUDIT]
        for _ in range(SEEDED_FAILURES):
            audit.record(AuditKind.SIGN_IN_FAILED, "unknown", reason="credentials")
        audit.record(AuditKind.MONITOR_START, "ada", alias="Besökare 4F")
        yield running


async def admin_page(browser: Browser, server: RunningServer, query: str = "") -> Page:
    """Signed in as the admin, on the audit page (reached by the console's nav link)."""
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in_to_console(page, server.url, "ada")
    await page.get_by_role("link", name="Logg").click()
    await page.wait_for_url(f"{server.url}/console/audit")
    if query:
        await page.goto(f"{server.url}/console/audit{query}")
    return page


async def test_the_admin_reads_filters_and_pages_the_log(
    browser: Browser, server: RunningServer
) -> None:
    """Newest first (ada's sign-in), a kind filter, 'Visa äldre' for the next page; axe clean."""
    page = await admin_page(browser, server)
    try:
        rows = page.locator("#events tbody tr")
        await expect(rows.first).to_contain_text("Inloggning")
        await expect(rows).to_have_count(50)
        await expect(page.locator("#shown")).to_have_text("50 händelser visas. Det finns äldre.")
        found = await axe_violations(page, WCAG22_AA_TAGS)
        assert format_violations(found) == "no accessibility violations"
        await page.get_by_role("button", name="Visa äldre").click()
        await expect(rows).to_have_count(SEEDED_FAILURES + 2)
        await expect(page.get_by_role("button", name="Visa äldre")).to_be_hidden()
        await expect(page.locator("#shown")).to_be_focused()
        await page.get_by_label("Händelse", exact=True).select_option("monitor_start")
        await page.get_by_role("button", name="Visa", exact=True).click()
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text("Medläsning började")
        await expect(rows.first).to_contain_text("Besökare 4F")
        await page.get_by_label("Konto", exact=True).fill("anna andersson")
        await page.get_by_role("button", name="Visa", exact=True).click()
        await expect(page.locator("#error")).to_contain_text("bad_actor")
    finally:
        await page.context.close()


async def test_the_page_speaks_one_language_at_a_time(
    browser: Browser, server: RunningServer
) -> None:
    """With ?lang=en every heading, column and event name is English, none Swedish."""
    page = await admin_page(browser, server, "?lang=en")
    try:
        await expect(page.locator("h1")).to_have_text("Audit log")
        await expect(page.locator("#events thead")).to_contain_text("Concerns")
        await expect(page.locator("#events tbody tr").first).to_contain_text("Sign-in")
        assert "Händelse" not in await page.locator("main").inner_text()
    finally:
        await page.context.close()


async def test_a_counsellor_is_turned_away(browser: Browser, server: RunningServer) -> None:
    """A counsellor's console has no link to the log, and the page itself answers 403."""
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await sign_in_to_console(page, server.url, "anna")
        await expect(page.locator("#me")).not_to_have_text("")  # the console knows its role
        await expect(page.locator("#nav-audit")).to_be_hidden()
        response = await page.goto(f"{server.url}/console/audit")
        assert response is not None and response.status == 403
        await page.get_by_text("Bara för administratörer.").wait_for()
    finally:
        await context.close()



BAR_ON_ONE_LINE_JS = """() => {
  const bar = document.querySelector(".app-bar");
  return bar.offsetHeight <= parseFloat(getComputedStyle(bar).minHeight) + 1;
}"""


async def shown_nav(page: Page) -> list[str]:
    """The names of the visible links of the page's nav, in order, once the page knows the
    signed-in account (its name in the app bar); the bar holds it all on one line."""
    await expect(page.locator("#me")).not_to_have_text("")
    assert await page.evaluate(BAR_ON_ONE_LINE_JS), f"the app bar wraps on {page.url}"
    nav = page.locator("nav.app-nav")
    return [name.strip() for name in await nav.locator("a:visible").all_inner_texts()]


async def test_every_staff_page_has_the_same_nav_for_the_role(
    browser: Browser, server: RunningServer
) -> None:
    """The nav is the same on every staff page: an admin gets the pages of admins (no work
    list), a supervisor the work list and the supervisor pages, a counsellor two links."""
    admin_links = ["Jourkonsol", "Läget nu", "Statistik", "Logg"]
    page = await admin_page(browser, server)
    try:
        for path in ("/console/audit", "/supervisor/", "/supervisor/stats", "/console/"):
            await page.goto(f"{server.url}{path}")
            await expect(page.locator("#nav-audit")).to_be_visible()
            assert await shown_nav(page) == admin_links, path
    finally:
        await page.context.close()
    for user, links, paths in (
        ("siv", ["Jourkonsol", "Återuppringningar", "Läget nu", "Statistik"],
         ("/console/", "/console/callbacks", "/supervisor/", "/supervisor/stats")),
        ("anna", ["Jourkonsol", "Återuppringningar"], ("/console/", "/console/callbacks")),
    ):  # fmt: skip
        context = await browser.new_context()
        page = await context.new_page()
        try:
            await sign_in_to_console(page, server.url, user)
            for path in paths:
                await page.goto(f"{server.url}{path}")
                await expect(page.locator("#nav-callbacks")).to_be_visible()
                assert await shown_nav(page) == links, (user, path)
        finally:
            await context.close()
