"""A visitor on the demo page and a counsellor in the console complete a chat in Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from tests.support.browser import NetworkLog, sign_in_to_console
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    running_server,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def demo_server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    port = free_port()
    settings = make_settings(redis_url, staff_file, port, demo=True)
    async with running_server(settings) as running:
        yield running


async def test_visitor_and_counsellor_chat_in_the_browser(
    browser: Browser, demo_server: RunningServer
) -> None:
    """Start in the widget, take in the console, talk both ways, the counsellor ends it."""
    visitor_ctx = await browser.new_context()
    network = NetworkLog.attach(visitor_ctx)
    staff_ctx = await browser.new_context()
    try:
        visitor = await visitor_ctx.new_page()
        await visitor.goto(f"{demo_server.url}/")
        await visitor.get_by_role("button", name="Chatta med Nexus").click()
        await visitor.get_by_role("button", name="Starta chatten").click()
        await visitor.get_by_text("Du står först i kön.").wait_for()

        staff = await staff_ctx.new_page()
        await sign_in_to_console(staff, demo_server.url, "anna")
        await staff.get_by_role("button", name=re.compile("Ta nästa chatt")).click()
        chat = staff.locator("article.chat")
        await chat.wait_for()
        await visitor.get_by_text("En rådgivare har anslutit.").first.wait_for()

        await visitor.get_by_label("Ditt meddelande").fill("Hej, jag vill prata")
        await visitor.get_by_role("button", name="Skicka").click()
        await chat.get_by_text("Hej, jag vill prata").wait_for()

        await chat.get_by_label("Meddelande", exact=True).fill("Hej! Jag heter Anna.")
        await chat.get_by_role("button", name=re.compile("Skicka")).click()
        await visitor.get_by_text("Hej! Jag heter Anna.").wait_for()

        await chat.get_by_role("button", name=re.compile("Avsluta chatt")).click()
        await visitor.get_by_text("Rådgivaren har avslutat chatten.").first.wait_for()
        stored = await visitor.evaluate("() => [sessionStorage.length, localStorage.length]")
        assert stored == [0, 0]
        assert await visitor_ctx.cookies() == []
        await network.drain()
        assert network.foreign_requests([demo_server.url]) == []
        assert network.set_cookie_responses() == []
    finally:
        await visitor_ctx.close()
        await staff_ctx.close()


async def test_reload_resumes_the_chat(browser: Browser, demo_server: RunningServer) -> None:
    """Reloading the tab resumes the chat from sessionStorage with no duplicate lines."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{demo_server.url}/")
        await page.get_by_role("button", name="Chatta med Nexus").click()
        await page.get_by_role("button", name="Starta chatten").click()
        await page.get_by_label("Ditt meddelande").fill("första")
        await page.get_by_role("button", name="Skicka").click()
        await page.locator("li.msg.visitor:not(.pending)").wait_for()
        await page.reload()
        await page.get_by_text("första").wait_for()
        assert await page.get_by_text("första").count() == 1
        await page.get_by_label("Ditt meddelande").fill("andra")
        await page.get_by_role("button", name="Skicka").click()
        await page.locator("li.msg.visitor:not(.pending)", has_text="andra").wait_for()
    finally:
        await context.close()
