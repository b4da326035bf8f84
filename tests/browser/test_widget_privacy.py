"""No trace and no third party: a whole chat on a host page of another origin under a strict
Content-Security-Policy talks only to the chat server, breaks no CSP rule, sets no cookie, keeps
the resume token in sessionStorage only and drops it at the end; discreet mode hides the topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.test_widget_support import (
    CSP_PROBE_JS,
    HOST_TITLE,
    WidgetEnv,
    evaluate,
    open_panel,
    take_next,
    traces,
)
from tests.support.browser import NetworkLog
from tests.support.servers import open_console

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

STORED_JS = "() => JSON.parse(sessionStorage.getItem('nexus-chat') || 'null')"


async def csp_violations(page: Page) -> list[str]:
    """Every Content-Security-Policy violation the page reported so far."""
    found: list[str] = await evaluate(page, "window.__cspViolations")
    return found


async def test_a_whole_chat_leaves_no_trace_and_stays_first_party(
    browser: Browser, env: WidgetEnv
) -> None:
    """Start to end on a strict-CSP host page: one origin, no CSP violation, no cookie, no store."""
    context = await browser.new_context()
    await context.add_init_script(CSP_PROBE_JS)
    network = NetworkLog.attach(context)
    console = await open_console(env.server, "anna")
    try:
        page = await context.new_page()
        await open_panel(page, env.page(data_lang="sv"))
        await page.locator(".prechat select").first.select_option("violence_close")
        await page.locator(".prechat .start").click()
        await page.locator(".waitbox").wait_for()
        chat_id = await take_next(console)
        await page.locator(".msg.system").wait_for()

        stored = await evaluate(page, STORED_JS)
        token = stored["token"]
        assert len(token) >= 22
        assert (await traces(page))["session"] == ["nexus-chat"]

        await page.locator("#nc-lang").select_option("en")
        await page.get_by_label("Your message").fill("Hello, I need to talk.")
        await page.get_by_role("button", name="Send").click()
        assert (await console.expect("message", chat_id=chat_id))[
            "text"
        ] == "Hello, I need to talk."
        await console.send(type="message", chat_id=chat_id, text="Hello, I am here.")
        await page.get_by_text("Hello, I am here.").wait_for()
        await page.get_by_role("button", name="End the chat").click()
        assert (await console.expect("chat_ended", chat_id=chat_id))["reason"] == "visitor_ended"
        await page.locator(".endbox").wait_for()

        assert await evaluate(page, STORED_JS) == {"lang": "en"}  # the token is gone
        found = await traces(page)
        assert (found["local"], found["databases"], found["cookie"]) == (0, 0, "")
        assert await context.cookies() == []
        assert await csp_violations(page) == []
        await network.drain()
        assert network.foreign_requests([env.host_origin, env.server.url]) == []
        assert network.set_cookie_responses() == []
        assert not [url for url in network.request_urls if token in url]
        sockets = [url for url in network.request_urls if url.startswith("ws")]
        assert sockets == [env.server.ws_url + "/ws/visitor"]
    finally:
        await console.close()
        await context.close()


async def test_discreet_mode_neutral_title_and_plain_launcher(
    browser: Browser, env: WidgetEnv
) -> None:
    """data-discreet starts discreet (neutral tab title, plain 'Chatt'); switching off restores."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(env.page(data_discreet="true"))
        launcher = page.locator(".launcher")
        await launcher.wait_for()
        assert await page.title() == "Startsida"
        assert (await launcher.inner_text()).strip() == "Chatt"
        await launcher.click()
        assert await page.locator("#nc-discreet").is_checked()
        await page.locator("#nc-discreet").uncheck()
        assert await page.title() == HOST_TITLE
        assert (await launcher.inner_text()).strip() == "Chatta med Nexus"
        assert await evaluate(page, STORED_JS) == {"discreet": False}  # the visitor's choice
        await page.locator("#nc-discreet").check()
        assert await page.title() == "Startsida"
        assert await evaluate(page, STORED_JS) is None  # back to the default: nothing stored
    finally:
        await context.close()
