"""A quiet chat in Chromium: the widget and the console both warn before it lapses, and the
visitor's "Jag är kvar" keeps it open for both."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
import redis

from chat_server.services import Services
from chat_server.web.appkeys import SERVICES
from tests.browser.test_console_duty import sign_in, take_one, visitor_writes
from tests.support.browser import axe_violations, format_violations
from tests.support.console_app import console_server
from tests.support.servers import RunningServer, free_port, make_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def quiet_server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(redis_url, staff_file, free_port(), demo=True)
    async with console_server(settings) as running:
        yield running


async def test_both_sides_see_the_warning_and_the_visitor_keeps_the_chat_open(
    browser: Browser, quiet_server: RunningServer, raw_redis: redis.Redis
) -> None:
    """The widget says the chat closes soon with a button; the console's pane says how long
    the visitor has been silent; one tap on "Jag är kvar" clears both."""
    visitor = await (await browser.new_context()).new_page()
    await visitor_writes(visitor, quiet_server, "Hej, är det någon där?")
    console = await (await browser.new_context()).new_page()
    await sign_in(console, quiet_server, "anna")
    await take_one(console)
    await visitor.get_by_text("En rådgivare har anslutit").wait_for()
    (chat_key,) = [k for k in raw_redis.scan_iter("nx:chat:*") if k.count(":") == 2]
    raw_redis.pexpire(chat_key, 90_000)  # what near half an hour of silence leaves
    services: Services = quiet_server.app[SERVICES]
    assert services.idle_watch is not None
    await services.idle_watch.check()

    await visitor.get_by_text(re.compile(r"Chatten stängs om \d+ min om ingen skriver")).wait_for()
    banner = console.locator("article.chat .idle")
    await banner.get_by_text(re.compile(r"Besökaren har varit tyst i \d+ min")).wait_for()
    assert await banner.get_by_role("button", name="Håll chatten öppen").is_visible()
    violations = await axe_violations(visitor)
    assert not violations, format_violations(violations)

    await visitor.get_by_role("button", name="Jag är kvar").click()
    await visitor.get_by_text(re.compile("Chatten stängs om")).wait_for(state="hidden")
    assert raw_redis.pttl(chat_key) > services.settings.idle_warning_s * 1000
    await services.idle_watch.check()
    await banner.wait_for(state="hidden")
    await visitor.context.close()
    await console.context.close()
