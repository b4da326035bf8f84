"""In Chromium: a visitor who is not safe jumps the queue, and waiting positions update."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.test_widget_support import WidgetEnv, open_panel
from tests.support.servers import open_console, start_visitor

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_urgent_chat_jumps_the_queue_and_positions_update(
    browser: Browser, env: WidgetEnv
) -> None:
    """Two calm visitors wait; 'not safe' goes first; a calm visitor in the page moves up."""
    first, _ = await start_visitor(env.server)
    second, _ = await start_visitor(env.server)
    await second.expect("queue", position=2)
    calm_ctx = await browser.new_context()
    urgent_ctx = await browser.new_context()
    try:
        calm = await calm_ctx.new_page()
        await open_panel(calm, env.page())
        await calm.locator(".prechat .start").click()
        await calm.get_by_text("Du står i kö: plats 3 av 3.").wait_for()

        urgent = await urgent_ctx.new_page()
        await open_panel(urgent, env.page())
        await urgent.locator(".prechat input[value=no]").check()
        await urgent.locator(".urgent a[href='tel:112']").wait_for()  # 112 shown at once
        await urgent.locator(".prechat .start").click()
        await urgent.get_by_text("Du står först i kön.").wait_for()
        await first.expect("queue", position=2, waiting=4)
        await calm.get_by_text("Du står i kö: plats 4 av 4.").wait_for()

        console = await open_console(env.server, "anna")
        await console.send(type="take")
        opened = await console.expect("chat_opened")
        assert opened["urgent"] is True  # the urgent chat was served first
        await calm.get_by_text("Du står i kö: plats 3 av 3.").wait_for()
        await console.close()
    finally:
        await calm_ctx.close()
        await urgent_ctx.close()
        await first.close()
        await second.close()
