"""A visitor with JavaScript disabled asks for a callback with the plain form; a counsellor
claims it in the console's work list, records no answer, then reaches the visitor."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
import redis

from tests.support.browser import NetworkLog, axe_violations, format_violations, sign_in_to_console
from tests.support.callbacks import (
    CallbackServer,
    at,
    callback_config,
    callback_server,
    dump_everything,
    request_keys,
)
from tests.support.servers import free_port, make_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def cb(redis_url: str, staff_file: Path) -> AsyncIterator[CallbackServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, callback_config()) as server:
        yield server


async def fill_windows(page: Page) -> None:
    for row, (start, end) in enumerate((("10:00", "11:00"), ("13:00", "14:00")), start=1):
        await page.locator(f"#window-{row}-date").select_option("2030-03-13")
        await page.locator(f"#window-{row}-start").select_option(start)
        await page.locator(f"#window-{row}-end").select_option(end)


async def test_the_form_without_javascript_and_the_work_list(
    browser: Browser, cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """Bad number shown at the field, then a code; the counsellor claims, no answer, reached;
    the number is gone from Redis."""
    visitor_ctx = await browser.new_context(java_script_enabled=False)
    network = NetworkLog.attach(visitor_ctx)
    staff_ctx = await browser.new_context()
    try:
        page = await visitor_ctx.new_page()
        await page.goto(f"{cb.url}/callback")
        phone = page.get_by_label("Telefonnummer")
        await phone.fill("070-913")
        await fill_windows(page)
        await page.get_by_label("Ni får säga att ni ringer från Nexus").check()
        await page.get_by_label("Alias eller kodord").fill("Snöklocka")
        await page.get_by_role("button", name="Skicka förfrågan").click()
        error = page.locator("#phone-error")
        await error.wait_for()
        assert "Telefonnumret verkar inte stämma" in await error.inner_text()
        assert "phone-error" in (await phone.get_attribute("aria-describedby") or "")
        assert await page.locator("#window-2-start").input_value() == "13:00"  # kept
        await page.get_by_role("link", name=re.compile("Telefonnumret verkar")).click()
        await phone.fill("070-913 57 24")
        await page.get_by_role("button", name="Skicka förfrågan").click()
        code = (await page.locator("#code").inner_text()).strip()
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", code)
        assert await visitor_ctx.cookies() == []
        await asyncio.wait_for(network.drain(), 10)  # a hang becomes a failure
        assert network.foreign_requests([cb.url]) == []
        assert network.set_cookie_responses() == []

        staff = await staff_ctx.new_page()
        await sign_in_to_console(staff, cb.url, "anna")
        await staff.goto(f"{cb.url}/console/callbacks")
        await staff.get_by_role("button", name=re.compile("Ta och ring")).click()
        await staff.locator("#claimed-phone").get_by_text("070-913 57 24").wait_for()
        assert await staff.locator("#claimed-alias").inner_text() == "Snöklocka"
        violations = await axe_violations(staff)
        assert violations == [], format_violations(violations)
        await staff.get_by_role("button", name=re.compile("Inget svar")).click()
        await staff.get_by_text(re.compile("försöker igen i nästa tid")).wait_for()
        assert await staff.locator("#claimed").is_hidden()
        await staff.locator("#list").get_by_text("Kommande", exact=True).wait_for()

        cb.clock.set(at(13, 10))
        await staff.get_by_role("button", name=re.compile("Uppdatera")).click()
        await staff.get_by_role("button", name=re.compile("Ta och ring")).click()
        await staff.locator("#claimed-attempts").get_by_text("1 / 3").wait_for()
        await staff.get_by_role("button", name=re.compile("Nådd")).click()
        await staff.get_by_text(re.compile("numret är raderat")).wait_for()
        await staff.get_by_text(re.compile("Inga förfrågningar")).wait_for()
        assert request_keys(raw_redis) == []
        assert "709135724" not in dump_everything(raw_redis)
    finally:
        await visitor_ctx.close()
        await staff_ctx.close()


async def test_the_form_pages_meet_wcag_21_aa(browser: Browser, cb: CallbackServer) -> None:
    """axe finds no WCAG 2.1 A/AA violation on the form, its error state, the code page and
    the status page (axe needs scripting, which the pages themselves never use)."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{cb.url}/callback?lang=en")
        assert await axe_violations(page) == [], format_violations(await axe_violations(page))
        await page.get_by_role("button", name="Send request").click()
        await page.locator(".summary").wait_for()
        violations = await axe_violations(page)
        assert violations == [], format_violations(violations)
        await page.get_by_label("Phone number").fill("070-913 57 24")
        await fill_windows(page)
        await page.get_by_label("Alias or code word").fill("Rose")
        await page.get_by_role("button", name="Send request").click()
        await page.locator("#code").wait_for()
        violations = await axe_violations(page)
        assert violations == [], format_violations(violations)
        await page.goto(f"{cb.url}/callback/status")
        violations = await axe_violations(page)
        assert violations == [], format_violations(violations)
    finally:
        await context.close()
