"""The widget against the real /api/status, /api/callbacks* and /api/feedback endpoints: the
closed screen, a start refused as closed, a callback request sent, checked and cancelled, and
the survey after a chat.

These endpoints are being built alongside the widget; each test first asks the server for the
endpoint it needs and is skipped, saying which, while that answers 404.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from tests.browser.test_widget_support import (
    WidgetEnv,
    evaluate,
    json_reply,
    open_panel,
    take_next,
    visible_screen,
    widget_env,
)
from tests.support.browser import axe_violations, format_violations
from tests.support.servers import open_console

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Route

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WIDGET_DIR = Path(__file__).resolve().parents[2] / "widget"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STATUS_CODE = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}")
OPEN_STATUS = {
    "open": True,
    "intake_open": True,
    "next_opening": None,
    "closes_at": None,
    "paused": False,
    "notice": None,
    "estimated_wait_s": None,
    "waiting": 0,
    "overflow": False,
    "callbacks": False,
}


async def require_endpoint(env: WidgetEnv, path: str) -> None:
    """Skip the test while the server answers 404 for `path` (not built yet)."""
    async with aiohttp.ClientSession() as http, http.get(env.server.url + path) as response:
        if response.status == 404:
            pytest.skip(f"GET {path} answers 404 on this server: not implemented yet")


def closed_until_later() -> str:
    """Opening hours that leave the chat closed now: one hour on a day two days from today."""
    later = (datetime.now(ZoneInfo("Europe/Stockholm")).weekday() + 2) % 7
    return f"{WEEKDAYS[later]} 09:00-10:00"


async def test_closed_screen_and_refused_start(
    browser: Browser, env: WidgetEnv, redis_url: str, staff_file: Path
) -> None:
    """Outside opening hours: the closed screen with the next opening; a start that slips
    through anyway is refused as closed and lands on the same screen."""
    await require_endpoint(env, "/api/status")
    context = await browser.new_context()
    async with widget_env(redis_url, staff_file, opening_hours=closed_until_later()) as closed:
        try:
            page = await context.new_page()
            await open_panel(page, closed.page())
            await page.locator(".screen.closed").wait_for()
            await page.get_by_text("Chatten öppnar igen").wait_for()
            assert await page.locator(".screen.closed a[href='tel:020505050']").count() == 1

            page = await context.new_page()  # an outdated "open" status, then a real start

            async def stale_open(route: Route) -> None:
                await route.fulfill(**json_reply(OPEN_STATUS, closed.host_origin))

            await page.route("**/api/status", stale_open)
            await open_panel(page, closed.page())
            await page.locator(".screen.prechat").wait_for()
            await page.unroute("**/api/status")
            await page.locator(".prechat .start").click()
            await page.locator(".screen.closed").wait_for()
            assert await visible_screen(page) == "closed"
            assert (await evaluate(page, "Object.keys(sessionStorage)")) == []
        finally:
            await context.close()


async def fill_request(page: Page, phone: str, alias: str) -> None:
    """Fill the callback form's phone and alias; the first offered window stays as it is."""
    await page.get_by_label("Telefonnummer").fill(phone)
    await page.get_by_label("Alias eller kodord").fill(alias)


async def test_callback_request_sent_checked_and_cancelled(
    browser: Browser, env: WidgetEnv
) -> None:
    """Errors next to their fields, then a request, its one-time code, its status, its end."""
    await require_endpoint(env, "/api/callbacks/form")
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await open_panel(page, env.page())
        await page.locator(".prechat .offer button.primary").click()
        await page.locator(".screen.callback form").wait_for()

        await fill_request(page, "12", "")
        await page.get_by_role("button", name="Skicka förfrågan").click()
        await page.locator(".summary li").first.wait_for()
        assert await page.get_by_label("Telefonnummer").get_attribute("aria-invalid") == "true"
        assert await page.get_by_label("Alias eller kodord").get_attribute("aria-invalid") == "true"

        await fill_request(page, "070-123 45 67", "Blåsippa")
        await page.get_by_role("button", name="Skicka förfrågan").click()
        await page.locator(".screen.callback_done .code").wait_for()
        code = (await page.locator(".screen.callback_done .code").inner_text()).strip()
        assert STATUS_CODE.fullmatch(code)
        assert await page.get_by_text("070-123 45 67").count() == 0  # the number left the page

        await page.get_by_role("button", name="Klar").click()
        await page.locator(".prechat .offer button.link").click()
        await page.get_by_label("Kod").fill(code)
        await page.get_by_role("button", name="Visa status").click()
        await page.get_by_text("Förfrågan är mottagen").wait_for()
        await page.get_by_role("button", name="Avboka").click()
        await page.get_by_text("Förfrågan är avbokad").wait_for()
        await page.get_by_label("Kod").fill(code)
        await page.get_by_role("button", name="Visa status").click()
        await page.get_by_text("Vi hittar ingen aktiv förfrågan").wait_for()
        assert (await evaluate(page, "Object.keys(sessionStorage)")) == []
    finally:
        await context.close()


@pytest.mark.parametrize("lang", ["sv", "en", "ar"])
async def test_feedback_after_an_answered_chat(browser: Browser, env: WidgetEnv, lang: str) -> None:
    """After a chat a counsellor answered, the ended screen asks two questions (axe-clean in
    every language) and sends the answers."""
    await require_endpoint(env, "/api/feedback")
    thanks = json.loads((WIDGET_DIR / "i18n" / f"{lang}.json").read_text())["feedback_thanks"]
    context = await browser.new_context()
    console = await open_console(env.server, "anna")
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_lang=lang))
        await page.locator(".prechat .start").click()
        await page.locator(".waitbox").wait_for()
        chat_id = await take_next(console)
        await page.locator(".msg.system").wait_for()
        await console.send(type="end", chat_id=chat_id)
        await page.locator(".feedback form").wait_for()
        violations = await asyncio.wait_for(axe_violations(page), 60)
        assert violations == [], format_violations(violations)
        await page.locator(".feedback input[value='4']").check()
        await page.locator(".feedback input[value='yes']").check()
        await page.locator(".feedback button[type=submit]").click()
        await page.get_by_text(thanks).wait_for()
    finally:
        await console.close()
        await context.close()
