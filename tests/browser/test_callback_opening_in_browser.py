"""End to end: a visitor chooses in the widget's callback form what we say if someone else
answers, and a code word; the counsellor's work list shows "Om någon annan svarar" with that
opening and, once claimed, the code word, above the number to dial. The no-JS form's error
state for the choice passes axe too."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
import redis

from tests.browser.test_widget_support import host_site, open_panel
from tests.support.browser import axe_violations, format_violations, sign_in_to_console
from tests.support.callbacks import CallbackServer, callback_config, callback_server, request_keys
from tests.support.servers import free_port, make_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

AXE_TIMEOUT_S = 60.0  # a stalled renderer fails the test instead of hanging it
CODE_WORD = "Blåsippa"
PERSONAL_CHOICE = "Vi frågar efter ditt alias och säger att vi ringer igen en annan gång."
SAY_IN_LIST = "Hej, jag söker [alias]. Jag ringer igen en annan gång."
SAY_CLAIMED = f"Hej, jag söker {CODE_WORD}. Jag ringer igen en annan gång."
# True when the first node comes before the second in the document.
BEFORE_JS = """([first, second]) => Boolean(document.getElementById(first)
  .compareDocumentPosition(document.getElementById(second)) & Node.DOCUMENT_POSITION_FOLLOWING)"""


@dataclass(frozen=True)
class Site:
    server: CallbackServer
    host_origin: str


@pytest_asyncio.fixture(loop_scope="module")
async def site(redis_url: str, staff_file: Path) -> AsyncIterator[Site]:
    """The real app with callbacks on a clock standing inside a callback window (Wednesday
    10:05), and a host page on another origin that embeds its widget."""
    chat_port, host_port = free_port(), free_port()
    settings = make_settings(
        redis_url,
        staff_file,
        chat_port,
        allowed_origins=(f"http://127.0.0.1:{chat_port}", f"http://127.0.0.1:{host_port}"),
    )
    async with (
        callback_server(settings, callback_config()) as server,
        host_site(host_port, server.url) as host,
    ):
        yield Site(server, host)


async def test_the_chosen_opening_and_code_word_reach_the_work_list(
    browser: Browser, site: Site, raw_redis: redis.Redis
) -> None:
    """Widget: code word and "personal" chosen, sent. Work list: the opening in the row; the
    claim shows the code word and "Om någon annan svarar: …" above the number (axe-clean)."""
    visitor_ctx = await browser.new_context()
    staff_ctx = await browser.new_context()
    try:
        page = await visitor_ctx.new_page()
        await open_panel(page, f"{site.host_origin}/host")
        await page.locator(".prechat .offer button.primary").click()
        await page.locator(".screen.callback form").wait_for()
        default = page.get_by_label("Vi säger att vi har ringt fel nummer och lägger på.")
        assert await default.is_checked()
        await page.get_by_label("Telefonnummer").fill("070-123 45 67")
        await page.get_by_label("Alias eller kodord").fill(CODE_WORD)
        await page.get_by_role("group", name="Om någon annan svarar i telefonen").wait_for()
        await page.get_by_label(re.compile(re.escape(PERSONAL_CHOICE))).check()
        await page.get_by_role("button", name="Skicka förfrågan").click()
        await page.locator(".screen.callback_done .code").wait_for()

        staff = await staff_ctx.new_page()
        await sign_in_to_console(staff, site.server.url, "anna")
        await staff.goto(f"{site.server.url}/console/callbacks")
        await staff.get_by_role("columnheader", name=re.compile("Om någon annan svarar")).wait_for()
        await staff.locator("#list").get_by_text(SAY_IN_LIST).wait_for()
        assert await staff.locator("#list").get_by_text(CODE_WORD).count() == 0
        await staff.get_by_role("button", name=re.compile("Ta och ring")).click()
        first = staff.locator("#claimed-first")
        await first.get_by_text(SAY_CLAIMED).wait_for()
        text = await first.inner_text()
        assert "Om någon annan svarar" in text and "Fråga först efter" in text
        assert await staff.locator("#claimed-alias").inner_text() == CODE_WORD
        assert await staff.evaluate(BEFORE_JS, ["claimed-first", "claimed-phone"])
        violations = await asyncio.wait_for(axe_violations(staff), AXE_TIMEOUT_S)
        assert violations == [], format_violations(violations)
        await staff.get_by_role("button", name=re.compile("Nådd")).click()
        await staff.get_by_text(re.compile("numret är raderat")).wait_for()
        assert await staff.locator("#claimed-opening").inner_text() == ""
        assert request_keys(raw_redis) == []
    finally:
        await visitor_ctx.close()
        await staff_ctx.close()


async def test_the_no_js_form_with_an_unknown_opening_passes_axe(
    browser: Browser, site: Site
) -> None:
    """A tampered choice comes back as an error in the fieldset, linked from the summary,
    with no WCAG 2.1 A/AA violation (axe needs scripting, which the page never uses)."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{site.server.url}/callback")
        await page.get_by_label("Telefonnummer").fill("070-913 57 24")
        await page.locator("#window-1-date").select_option("2030-03-13")
        await page.locator("#window-1-start").select_option("13:00")
        await page.locator("#window-1-end").select_option("14:00")
        await page.get_by_label("Alias eller kodord").fill("Ros")
        await page.locator("#opening-wrong_number").evaluate("(radio) => { radio.value = 'x'; }")
        await page.get_by_role("button", name="Skicka förfrågan").click()
        await page.locator("#opening-error").wait_for()
        await page.get_by_role("link", name="Välj vad vi ska säga om någon annan svarar.").click()
        assert await page.evaluate("document.activeElement.id") == "opening-wrong_number"
        violations = await asyncio.wait_for(axe_violations(page), AXE_TIMEOUT_S)
        assert violations == [], format_violations(violations)
    finally:
        await context.close()
