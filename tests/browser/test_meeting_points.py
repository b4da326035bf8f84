"""The meeting-point pages in Chromium: /chatt (the widget as the whole page), its kiosk mode
(a clean start after a chat, after quick exit and after idleness, also with the server down)
and the printable poster /affisch, whose QR code is decoded from a screenshot."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from chat_server.web.meeting_pages import TEXTS
from chat_server.web.security import PAGE_CSP
from tests.browser.test_widget_support import (
    evaluate,
    stoppable_server,
    take_next,
    traces,
)
from tests.support.browser import WCAG22_AA_TAGS, NetworkLog, axe_violations, format_violations
from tests.support.servers import Client, RunningServer, free_port, make_settings, open_console

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SECRET = "ett ord som inte får stanna kvar"
CLEAN = {"session": [], "local": 0, "databases": 0, "cookie": ""}
# Marks the widget now on the page, so a test can wait for the one built after a reset.
MARK_JS = "() => { document.querySelector('nexus-chat').dataset.old = '1'; }"
NEW_WIDGET_JS = """(screen) => {
  const host = document.querySelector("nexus-chat");
  const shown = host && !host.dataset.old
    && [...host.shadowRoot.querySelectorAll(".screen")].find((s) => !s.hidden);
  return Boolean(shown && shown.classList.contains(screen));
}"""
WIDGET_TEXT_JS = "() => document.querySelector('nexus-chat').shadowRoot.textContent"


@pytest_asyncio.fixture(loop_scope="module")
async def server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    """The service without NEXUS_DEMO: /chatt and /affisch are its own pages."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with stoppable_server(settings) as running:
        yield running


async def chat_until_taken(page: Page, server: RunningServer) -> tuple[Client, str]:
    """Start a chat on the page and have anna take it and write; returns (console, chat id)."""
    await page.locator(".prechat .start").click()
    await page.locator(".waitbox").wait_for()
    console = await open_console(server, "anna")
    chat_id = await take_next(console)
    await console.send(type="message", chat_id=chat_id, text=SECRET)
    await page.get_by_text(SECRET).wait_for()
    return console, chat_id


async def test_chatt_is_the_widget_as_the_whole_page(
    browser: Browser, server: RunningServer
) -> None:
    """/chatt: the panel fills the page, no launcher or minimise; strict CSP, no traces, axe clean."""
    context = await browser.new_context(viewport={"width": 1024, "height": 768})
    network = NetworkLog.attach(context)
    try:
        page = await context.new_page()
        response = await page.goto(f"{server.url}/chatt")
        assert response is not None and response.headers["content-security-policy"] == PAGE_CSP
        await page.locator(".prechat h3").wait_for()
        box = await page.locator("#nc-panel").bounding_box()
        assert box is not None and box["width"] == 1024 and box["height"] == 768
        assert await page.locator(".launcher").is_hidden()
        assert await page.locator("#nc-panel .close").count() == 0
        assert await page.locator(".bar .exit").is_visible()
        assert await page.locator(".bar .someone").is_visible()
        violations = await axe_violations(page, WCAG22_AA_TAGS)
        assert not violations, format_violations(violations)
        await network.drain()
        assert network.foreign_requests([server.url, server.ws_url]) == []
        assert await traces(page) == CLEAN
        assert await context.cookies() == []
    finally:
        await context.close()


async def test_larger_text_and_contrast_last_for_the_tab_only(
    browser: Browser, server: RunningServer
) -> None:
    """Larger text and high contrast: bigger, axe clean, kept on reload, off in a new tab."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{server.url}/chatt")
        start = page.locator(".prechat .start")
        before = await start.bounding_box()
        await page.get_by_label("Större text").check()
        await page.get_by_label("Hög kontrast").check()
        after = await start.bounding_box()
        assert before is not None and after is not None and after["height"] > before["height"] * 1.2
        violations = await axe_violations(page, WCAG22_AA_TAGS)
        assert not violations, format_violations(violations)
        stored = await evaluate(page, "() => JSON.parse(sessionStorage.getItem('nexus-chat'))")
        assert stored == {"bigtext": True, "contrast": True}
        await page.reload()
        assert await page.get_by_label("Hög kontrast").is_checked()
        assert await page.locator(".nc.bigtext.contrast").count() == 1
        other = await context.new_page()  # another tab: its own sessionStorage
        await other.goto(f"{server.url}/chatt")
        await other.locator(".prechat h3").wait_for()
        assert not await other.get_by_label("Större text").is_checked()
        assert await other.locator(".nc.contrast").count() == 0
    finally:
        await context.close()


async def test_kiosk_starts_clean_after_a_chat(browser: Browser, server: RunningServer) -> None:
    """Kiosk: 'Ny chatt' after the chat ended gives a new widget, no text kept, no storage."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{server.url}/chatt?kiosk=1")
        console, chat_id = await chat_until_taken(page, server)
        try:
            await console.send(type="end", chat_id=chat_id)
        finally:
            await console.close()
        await page.locator(".endbox button.primary").wait_for()
        await evaluate(page, MARK_JS)
        await page.locator(".endbox button.primary").click()
        entries = await evaluate(page, "history.length")
        await page.wait_for_function(NEW_WIDGET_JS, arg="prechat")
        assert SECRET not in await evaluate(page, WIDGET_TEXT_JS)
        assert await traces(page) == CLEAN
        assert await evaluate(page, "history.length") == entries
        assert page.url == f"{server.url}/chatt?kiosk=1"
    finally:
        await context.close()


async def test_kiosk_quick_exit_returns_to_a_clean_start(
    browser: Browser, server: RunningServer
) -> None:
    """Kiosk: quick exit ends the chat as quick_exit and shows a clean start on the same page."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{server.url}/chatt?kiosk=1")
        console, chat_id = await chat_until_taken(page, server)
        entries = await evaluate(page, "history.length")
        await evaluate(page, MARK_JS)
        try:
            await page.locator(".bar .exit").click()
            ended = await console.expect("chat_ended", chat_id=chat_id)
            assert ended["reason"] == "quick_exit"
        finally:
            await console.close()
        await page.wait_for_function(NEW_WIDGET_JS, arg="prechat")
        await page.locator(".prechat h3").wait_for()  # the page is shown again
        assert SECRET not in await evaluate(page, WIDGET_TEXT_JS)
        assert await traces(page) == CLEAN
        assert await evaluate(page, "history.length") == entries
        assert page.url == f"{server.url}/chatt?kiosk=1"
    finally:
        await context.close()


async def test_kiosk_warns_before_an_idle_reset(browser: Browser, server: RunningServer) -> None:
    """Kiosk, on a fake clock: after the idle period 'Är du kvar?'; a touch keeps the page,
    the next warning left alone leads to a clean start."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.clock.install()
        await page.goto(f"{server.url}/chatt?kiosk=1")
        await page.locator(".prechat h3").wait_for()
        await page.locator("nexus-chat[data-kiosk-armed]").wait_for(state="attached")
        await evaluate(page, MARK_JS)
        answer = page.locator(".prechat input[value=yes]")
        await answer.click()  # the first use: the idle period starts
        idle_ms = server.settings.kiosk_idle_s * 1000
        await page.clock.run_for(idle_ms)
        await page.get_by_text("Är du kvar?").wait_for()
        await page.get_by_role("button", name="Jag är kvar").click()
        await page.get_by_text("Är du kvar?").wait_for(state="hidden")
        assert await answer.is_checked()  # nothing was reset
        await page.clock.run_for(idle_ms)
        await page.get_by_text("Är du kvar?").wait_for()
        await page.clock.run_for(min(idle_ms, 30_000))
        await page.wait_for_function(NEW_WIDGET_JS, arg="prechat")
        assert await traces(page) == CLEAN
    finally:
        await context.close()


async def test_kiosk_idle_reset_with_the_server_down(
    browser: Browser, redis_url: str, staff_file: Path
) -> None:
    """Kiosk, idle 1 s, server stopped: a clean 'unavailable' start, then prechat once it is back."""
    settings = make_settings(redis_url, staff_file, free_port(), kiosk_idle_s=1)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        async with stoppable_server(settings):
            # The widget's first status request must be answered before the server stops.
            async with page.expect_response(lambda r: r.url.endswith("/api/status")):
                await page.goto(f"{settings.public_url}/chatt?kiosk=1")
            await page.locator(".prechat h3").wait_for()
            await page.locator("nexus-chat[data-kiosk-armed]").wait_for(state="attached")
            await evaluate(page, MARK_JS)
        await page.locator(".prechat input[value=yes]").click()  # a touch: idle counts from here
        await page.wait_for_function(NEW_WIDGET_JS, arg="unavailable")
        assert not await page.locator(".prechat input[value=yes]").is_checked()
        assert await traces(page) == CLEAN
        async with stoppable_server(settings):
            await page.wait_for_function(NEW_WIDGET_JS, arg="prechat")  # it asked again
    finally:
        await context.close()


async def test_poster_qr_code_decodes_to_the_chat_address(
    browser: Browser, server: RunningServer
) -> None:
    """/affisch: the QR code, screenshotted and decoded with zxing-cpp, is the configured address."""
    import zxingcpp
    from PIL import Image

    context = await browser.new_context()
    try:
        page = await context.new_page()
        for lang, address in (("", f"{server.url}/chatt"), ("ar", f"{server.url}/chatt?lang=ar")):
            await page.goto(f"{server.url}/affisch" + (f"?lang={lang}" if lang else ""))
            image = Image.open(io.BytesIO(await page.locator(".qr").screenshot()))
            found = [result.text for result in zxingcpp.read_barcodes(image)]
            assert found == [address]
            assert await page.get_by_text("020-50 50 50").is_visible()
            hours = TEXTS[lang or "sv"]["all_hours"]  # the test server is open all hours
            assert await page.locator(".hours li").all_inner_texts() == [hours]
            violations = await axe_violations(page, WCAG22_AA_TAGS)
            assert not violations, format_violations(violations)
    finally:
        await context.close()


async def test_poster_prints_on_one_a4_page_in_every_language(
    browser: Browser, server: RunningServer
) -> None:
    """Every listed language's poster prints to a one-page A4 PDF."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{server.url}/widget/i18n/index.json")
        codes = [
            entry["code"]
            for entry in (await evaluate(page, "() => JSON.parse(document.body.innerText)"))[
                "languages"
            ]
        ]
        for code in codes:
            await page.goto(f"{server.url}/affisch?lang={code}")
            pdf = await page.pdf(format="A4", print_background=True)
            pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
            assert pages == 1, f"{code}: {pages} pages"
    finally:
        await context.close()
