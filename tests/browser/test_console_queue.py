"""The console in Chromium: every waiting chat can be reached, and a reload keeps the
presence the counsellor chose."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
import redis

from tests.support.browser import sign_in_to_console
from tests.support.console_app import console_server
from tests.support.servers import RunningServer, free_port, make_settings, start_visitor

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, WebSocket

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
WAITING = 53


@pytest_asyncio.fixture(loop_scope="module")
async def queue_server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    async with console_server(make_settings(redis_url, staff_file, free_port())) as running:
        yield running


async def console_page(
    browser: Browser, server: RunningServer
) -> tuple[Page, list[dict[str, Any]], list[dict[str, Any]]]:
    """A signed-in console page, the frames it sends and the frames it receives."""
    page = await (await browser.new_context()).new_page()
    sent: list[dict[str, Any]] = []
    got: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda data: sent.append(json.loads(data)))
        ws.on("framereceived", lambda data: got.append(json.loads(data)))

    page.on("websocket", watch)
    await sign_in_to_console(page, server.url, "anna")
    await page.locator("#me").filter(has_text=re.compile(r"\w")).wait_for()
    return page, sent, got


async def test_show_more_lists_every_waiting_chat_and_each_row_names_its_chat(
    browser: Browser, queue_server: RunningServer
) -> None:
    """53 waiting: the list shows 50 and "Visa fler i kön (3 till)", then all 53; the last
    row's button asks for exactly the last chat (taking it by id: test_console_error_paths)."""
    visitors = [(await start_visitor(queue_server))[0] for _ in range(WAITING)]
    page, sent, got = await console_page(browser, queue_server)
    await page.locator("#presence").select_option("paused")  # no offers: the queue only
    await page.locator("#waiting", has_text=str(WAITING)).wait_for()
    # A function, not a bare expression: Playwright evals a bare expression again in the page
    # on every poll, which the console's CSP (no 'unsafe-eval') refuses once the first check
    # came too early; a function is evaluated once and then called.
    await page.wait_for_function(
        "() => document.querySelectorAll('#queue-list > li').length === 50"
    )
    more = page.get_by_role("button", name="Visa fler i kön (3 till)")
    await more.click()
    await page.wait_for_function(
        f"() => document.querySelectorAll('#queue-list > li').length === {WAITING}"
    )
    assert await more.is_hidden()
    assert {"type": "queue_page", "offset": 50} in sent
    last_row = page.locator("#queue-list > li").last
    last_alias = (await last_row.text_content() or "").split(" · ")[0]
    await last_row.get_by_role("button").click()
    await page.locator("#notice", has_text=re.compile(r"\w")).wait_for()  # paused: refused
    taken = next(f for f in sent if f["type"] == "take")
    pages = [f for f in got if f["type"] == "queue_page"]
    chat = next(c for c in pages[-1]["chats"] if c["chat_id"] == taken["chat_id"])
    assert chat["alias"] == last_alias
    await page.context.close()
    for visitor in visitors:
        await visitor.close()


async def test_a_reload_keeps_a_paused_counsellor_paused(
    browser: Browser, queue_server: RunningServer, raw_redis: redis.Redis
) -> None:
    """The console's hello after a reload carries the presence chosen before it."""
    page, sent, _ = await console_page(browser, queue_server)
    await page.locator("#presence").select_option("paused")
    await page.wait_for_function(
        "() => sessionStorage.getItem('nexus-console-presence') === 'paused'"
    )
    await page.reload()
    await page.locator("#me").filter(has_text=re.compile(r"\w")).wait_for()
    hellos = [f for f in sent if f["type"] == "hello"]
    assert hellos[0] == {"type": "hello"} and hellos[-1] == {"type": "hello", "presence": "paused"}
    assert await page.locator("#presence").input_value() == "paused"
    assert raw_redis.hget("nx:staff:anna:presence", "presence") == "paused"
    await page.context.close()
