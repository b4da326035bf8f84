"""What embedding the widget costs the host page: only the loader until the page has loaded,
the rest once the browser is idle, and no layout shift when the launcher appears.

The figures (bytes, long tasks, times) are printed by `ops/widget-perf`; these tests check the
behaviour that makes them small, by conditions rather than by timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from tests.browser.test_widget_support import (
    HOST_TITLE,
    WidgetEnv,
    evaluate,
    strict_csp,
    widget_settings,
)
from tests.support.servers import free_port, running_server

if TYPE_CHECKING:
    from playwright.async_api import Browser, Request

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# A host page whose load event waits for an image the test holds back.
HELD_PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>Stöd vid våld</h1><img src="/held.png" alt="" width="1" height="1"></main>
<script src="{chat}/widget/nexus-chat.js" defer></script></body></html>"""
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

# Counts layout shifts from the first moment (init scripts run before the page's own).
SHIFT_PROBE_JS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shifts.push(entry.value);
}).observe({ type: "layout-shift", buffered: true });
"""


@asynccontextmanager
async def held_host_site(
    redis_url: str, staff_file: Path, released: asyncio.Event
) -> AsyncIterator[tuple[str, str]]:
    """A chat server and a host site whose page's load event waits until `released` is set;
    yields (chat origin, host page URL)."""
    chat_port, host_port = free_port(), free_port()
    settings = widget_settings(redis_url, staff_file, chat_port, host_port)
    chat = f"http://127.0.0.1:{chat_port}"

    async def page(_request: web.Request) -> web.Response:
        return web.Response(
            text=HELD_PAGE.format(title=HOST_TITLE, chat=chat),
            content_type="text/html",
            headers={"Content-Security-Policy": strict_csp(chat)},
        )

    async def image(_request: web.Request) -> web.Response:
        await released.wait()
        return web.Response(body=PIXEL_PNG, content_type="image/png")

    host = web.Application()
    host.router.add_get("/held", page)
    host.router.add_get("/held.png", image)
    runner = web.AppRunner(host, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", host_port).start()
    try:
        async with running_server(settings):
            yield chat, f"http://127.0.0.1:{host_port}/held"
    finally:
        released.set()
        await runner.cleanup()


async def test_only_the_loader_is_fetched_before_the_page_has_loaded(
    browser: Browser, redis_url: str, staff_file: Path
) -> None:
    """Until the host page's load event, the widget has fetched nothing but nexus-chat.js;
    afterwards its modules follow and the launcher appears."""
    released = asyncio.Event()
    widget_requests: list[str] = []
    async with held_host_site(redis_url, staff_file, released) as (chat, url):

        def on_request(request: Request) -> None:
            if request.url.startswith(f"{chat}/widget/"):
                widget_requests.append(request.url.removeprefix(chat))

        context = await browser.new_context()
        try:
            page = await context.new_page()
            page.on("request", on_request)
            await page.goto(url, wait_until="domcontentloaded")
            # The deferred loader has run by DOMContentLoaded; a fetch issued now is seen
            # after anything the loader would have asked for, so the list below is complete.
            await page.wait_for_function("() => window.__nexusChat === true")
            probe = f"{chat}/widget/i18n/index.json"
            assert await evaluate(page, "(url) => fetch(url).then((r) => r.ok)", probe)
            assert widget_requests == ["/widget/nexus-chat.js", "/widget/i18n/index.json"]
            assert await page.locator("nexus-chat").count() == 0

            released.set()
            await page.locator(".launcher").wait_for(state="visible")
            assert "/widget/js/app.js" in widget_requests
        finally:
            await context.close()


async def test_the_launcher_appears_without_a_layout_shift(browser: Browser, env: WidgetEnv) -> None:
    """The launcher and the rest of the widget arrive without moving the host page's content."""
    context = await browser.new_context()
    try:
        await context.add_init_script(SHIFT_PROBE_JS)
        page = await context.new_page()
        await page.goto(env.page())
        await page.locator(".launcher").wait_for(state="visible")
        await page.locator(".launcher").click()
        await page.locator("#nc-panel").wait_for(state="visible")
        shifts = await evaluate(page, "() => window.__shifts")
        assert shifts == []
    finally:
        await context.close()
