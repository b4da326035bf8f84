"""In Chromium: during a flood the widget solves the server's proof of work and gets in."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
import redis

from chat_server.domain import flood
from chat_server.domain.flood import FloodPolicy
from tests.browser.test_widget_support import WidgetEnv, host_site, open_panel, widget_env
from tests.support.browser import axe_violations, format_violations
from tests.support.callbacks import callback_config, callback_server, request_keys
from tests.support.servers import free_port, make_settings

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

POLICY = FloodPolicy(starts_per_min=1, min_bits=12, max_bits=12, challenge_ttl_s=60)


@pytest_asyncio.fixture(loop_scope="module")
async def flooded(redis_url: str, staff_file: Path) -> AsyncIterator[WidgetEnv]:
    """A chat server with flood control at one start a minute."""
    async with widget_env(redis_url, staff_file, flood=POLICY) as running:
        yield running


def pretend_flood(raw_redis: redis.Redis) -> None:
    """Counts of starts in this minute and its neighbours, so a minute's turn changes nothing."""
    window = flood.window_of(time.time_ns() // 1_000_000)
    for minute in (window - 1, window, window + 1):
        raw_redis.set(f"nx:flood:starts:{minute}", 50, ex=180)


async def test_the_widget_solves_the_challenge_and_joins_the_queue(
    browser: Browser, flooded: WidgetEnv, raw_redis: redis.Redis
) -> None:
    """The start is answered with a challenge; the widget solves it with WebCrypto and the
    visitor lands in the queue; the spent challenge is on record."""
    pretend_flood(raw_redis)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await open_panel(page, flooded.page())
        await page.locator(".prechat .start").click()
        await page.get_by_text("Du står först i kön.").wait_for()
        assert len(list(raw_redis.scan_iter("nx:flood:used:*"))) == 1
        assert raw_redis.zcard("nx:queue") == 1
    finally:
        await context.close()


async def test_the_callback_form_solves_the_challenge_and_is_sent(
    browser: Browser, redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """The callback request is answered 428 with a challenge; the widget solves it, sends the
    request again, and shows the status code. The no-JS form meanwhile shows its wait page,
    what was typed kept, axe-clean."""
    chat_port, host_port = free_port(), free_port()
    origins = (f"http://127.0.0.1:{chat_port}", f"http://127.0.0.1:{host_port}")
    settings = make_settings(redis_url, staff_file, chat_port, allowed_origins=origins,
                             flood=POLICY)  # fmt: skip
    async with (
        callback_server(settings, callback_config()) as server,
        host_site(host_port, server.url) as host,
    ):
        window = flood.window_of(server.clock())  # the server's clock stands still
        raw_redis.set(f"nx:flood:starts:{window}", 50, ex=180)
        context = await browser.new_context()
        try:
            page = await context.new_page()
            await open_panel(page, f"{host}/host")
            await page.get_by_role("button", name="Bli uppringd").click()
            await page.get_by_label("Telefonnummer").fill("070-123 45 67")
            await page.get_by_label("Alias eller kodord").fill("Blåsippa")
            await page.get_by_role("button", name="Skicka förfrågan").click()
            await page.locator(".screen.callback_done .code").wait_for()
            assert len(list(raw_redis.scan_iter("nx:flood:used:*"))) == 1
            assert request_keys(raw_redis) != []

            await page.goto(f"{server.url}/callback")  # the no-JS form: a wait page instead
            await page.get_by_label("Telefonnummer").fill("070-913 57 24")
            await page.locator("#window-1-date").select_option("2030-03-13")
            await page.locator("#window-1-start").select_option("13:00")
            await page.locator("#window-1-end").select_option("14:00")
            await page.get_by_label("Alias eller kodord").fill("Snöklocka")
            await page.get_by_role("button", name="Skicka förfrågan").click()
            await page.get_by_role("alert").get_by_text("Vänta en halv minut").wait_for()
            assert await page.get_by_label("Alias eller kodord").input_value() == "Snöklocka"
            violations = await axe_violations(page)
            assert violations == [], format_violations(violations)
        finally:
            await context.close()
