"""Bad input and failure always end in a calm, clear state, and what the visitor wrote is kept:
a server restart mid-chat, a message over the widget's or the server's limit, an unreachable
server that comes back; and the pre-chat choices reach the counsellor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.test_widget_support import (
    WidgetEnv,
    evaluate,
    host_site,
    open_panel,
    stoppable_server,
    take_next,
    visible_screen,
    widget_env,
    widget_settings,
)
from tests.support.servers import free_port, open_console

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

INPUT_VALUE_JS = (
    "() => document.querySelector('nexus-chat').shadowRoot.getElementById('nc-input').value"
)


async def test_server_restart_mid_chat_resumes_and_keeps_the_draft(
    browser: Browser, redis_url: str, staff_file: Path
) -> None:
    """The server goes away and comes back: the widget says so calmly, resumes, loses nothing."""
    chat_port, host_port = free_port(), free_port()
    settings = widget_settings(redis_url, staff_file, chat_port, host_port)
    context = await browser.new_context()
    try:
        async with host_site(host_port, settings.public_url) as host:
            page = await context.new_page()
            async with stoppable_server(settings) as first:
                await open_panel(page, f"{host}/host")
                await page.locator(".prechat .start").click()
                await page.locator(".waitbox").wait_for()
                console = await open_console(first, "anna")
                chat_id = await take_next(console)
                await page.locator("#nc-input").fill("Före omstarten")
                await page.locator("#nc-input").press("Enter")
                await console.expect("message", chat_id=chat_id, sender="visitor")
                await page.locator(".msg.visitor:not(.pending)").wait_for()
                await page.locator("#nc-input").fill("Ett utkast jag inte har skickat")
                await console.close()
            await page.get_by_text("Anslutningen bröts").wait_for()
            assert await visible_screen(page) == "chat"  # the chat stays on screen
            async with stoppable_server(settings) as second:
                console = await open_console(second, "anna")  # follows its chat again
                await page.locator(".notice").wait_for(state="hidden")
                await console.send(type="message", chat_id=chat_id, text="Jag är kvar.")
                await page.get_by_text("Jag är kvar.").wait_for()
                assert await page.get_by_text("Före omstarten").count() == 1
                assert await evaluate(page, INPUT_VALUE_JS) == "Ett utkast jag inte har skickat"
                await console.close()
    finally:
        await context.close()


async def test_too_long_messages_are_refused_and_kept(
    browser: Browser, redis_url: str, staff_file: Path
) -> None:
    """Over the widget's limit: not sent, counter and notice; over the server's: given back."""
    context = await browser.new_context()
    async with widget_env(redis_url, staff_file, max_text_chars=50) as small:
        console = await open_console(small.server, "anna")
        try:
            page = await context.new_page()
            await open_panel(page, small.page(data_max_chars="80"))
            await page.locator(".prechat .start").click()
            await page.locator(".waitbox").wait_for()
            chat_id = await take_next(console)

            too_long_here = "å" * 85
            await page.locator("#nc-input").fill(too_long_here)
            await page.get_by_text("Meddelandet är 5 tecken för långt").wait_for()
            await page.locator("#nc-input").press("Enter")
            await page.get_by_text("Meddelandet är för långt (högst 80 tecken)").wait_for()
            assert await evaluate(page, INPUT_VALUE_JS) == too_long_here

            too_long_there = "ä" * 60
            await page.locator("#nc-input").fill(too_long_there)
            await page.locator("#nc-input").press("Enter")
            await page.get_by_text("Texten finns kvar i rutan").wait_for()
            assert await evaluate(page, INPUT_VALUE_JS) == too_long_there
            assert await page.locator(".msg.visitor").count() == 0

            await page.locator("#nc-input").fill("Kort nog")
            await page.locator("#nc-input").press("Enter")
            first = await console.expect("message", chat_id=chat_id, sender="visitor")
            assert first["text"] == "Kort nog"  # nothing longer ever reached the counsellor
        finally:
            await console.close()
            await context.close()


async def test_unreachable_server_then_recovery(browser: Browser, env: WidgetEnv) -> None:
    """A chat server that is down shows the numbers and a retry; once it is up, chat works."""
    context = await browser.new_context()
    late_port = free_port()
    late_origin = f"http://127.0.0.1:{late_port}"
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_server=late_origin))
        await page.locator(".screen.unavailable").wait_for()
        assert await page.locator(".screen.unavailable a[href='tel:020505050']").count() == 1
        await page.locator(".screen.unavailable button").click()
        await page.get_by_text("Chatten går fortfarande inte att nå.").wait_for()

        late_settings = env.server.settings.with_overrides(
            port=late_port,
            public_url=late_origin,
            allowed_origins=(late_origin, env.host_origin),
        )
        async with stoppable_server(late_settings) as late:
            await page.locator(".screen.unavailable button").click()
            await page.locator(".screen.prechat").wait_for()
            await page.locator(".prechat .start").click()
            await page.get_by_text("Du står först i kön.").wait_for()
            console = await open_console(late, "anna")
            await take_next(console)
            await page.locator(".msg.system").wait_for()
            await console.close()
    finally:
        await context.close()


async def test_prechat_choices_reach_the_counsellor(browser: Browser, env: WidgetEnv) -> None:
    """Topic, language (the page's Arabic) and 'not safe' arrive as topic, language, urgent."""
    context = await browser.new_context()
    console = await open_console(env.server, "bo")
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_lang="ar"))
        assert await page.locator(".nc").get_attribute("dir") == "rtl"
        await page.locator(".prechat select").first.select_option("honour")
        await page.locator(".prechat input[value=no]").check()
        await page.locator(".urgent a[href='tel:112']").wait_for()
        await page.locator(".prechat .start").click()
        await page.locator(".waitbox").wait_for()  # queued: the take cannot miss it
        await console.send(type="take")
        opened = await console.expect("chat_opened")
        assert (opened["topic"], opened["language"], opened["urgent"]) == ("honour", "ar", True)
    finally:
        await console.close()
        await context.close()
