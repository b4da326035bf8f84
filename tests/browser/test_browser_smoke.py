"""Smoke tests of the browser-test tooling: system Chromium, axe scans and the network log.

One Chromium and one tiny aiohttp site serve the whole module; each test gets its own browser
context (fresh cookies and cache). Module-scoped async fixtures need the module's event loop,
so every test here runs in it too (see `pytestmark`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from aiohttp import web

from tests.support.browser import (
    CHROMIUM_ENV,
    NetworkLog,
    axe_violations,
    find_chromium,
    format_violations,
)

if TYPE_CHECKING:
    # Imported for annotations only: without Playwright the module still collects and skips.
    from playwright.async_api import Browser, BrowserContext

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

FOREIGN_IMAGE_URL = "http://tracker.example/pixel.gif"
PROBE_COOKIE_NAME = "nexus_probe"

CLEAN_PAGE_HTML = """<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><title>Nexus testsida</title></head>
<body><main><h1>Hej och välkommen</h1><p>Du är anonym här. / You are anonymous here.</p></main>
</body>
</html>
"""

# Breaks one rule of each kind the tooling must catch: an image without alt text (axe), an
# image from a foreign origin and a cookie (network log).
BAD_PAGE_HTML = f"""<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><title>Trasig testsida</title></head>
<body><main><h1>Trasig sida</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=">
<img src="{FOREIGN_IMAGE_URL}" alt="">
</main></body>
</html>
"""


async def clean_page(request: web.Request) -> web.Response:
    """Serve an accessible page under a strict CSP (axe must still be injectable)."""
    return web.Response(
        text=CLEAN_PAGE_HTML,
        content_type="text/html",
        headers={"Content-Security-Policy": "default-src 'self'"},
    )


async def bad_page(request: web.Request) -> web.Response:
    """Serve a page with a missing alt text, a foreign image and a cookie."""
    response = web.Response(text=BAD_PAGE_HTML, content_type="text/html")
    response.set_cookie(PROBE_COOKIE_NAME, "1", httponly=True, samesite="Strict")
    return response


@dataclass(frozen=True)
class Site:
    """The local test site: its origin and a URL maker."""

    origin: str

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this site."""
        return self.origin + path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site() -> AsyncIterator[Site]:
    """Serve the clean and the bad page on 127.0.0.1 at a free port."""
    app = web.Application()
    app.router.add_get("/", clean_page)
    app.router.add_get("/bad", bad_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        yield Site(origin=f"http://{host}:{port}")
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """Give each test a fresh browser context (own cookies and cache)."""
    fresh = await browser.new_context()
    try:
        yield fresh
    finally:
        await fresh.close()


async def test_browser_loads_page_and_reads_text(site: Site, context: BrowserContext) -> None:
    """Chromium loads a page from the local server and its heading text can be read."""
    page = await context.new_page()
    response = await page.goto(site.url("/"))
    assert response is not None and response.ok
    assert await page.inner_text("h1") == "Hej och välkommen"


async def test_axe_reports_image_without_alt(site: Site, context: BrowserContext) -> None:
    """An <img> without alt text is reported by axe as an image-alt violation."""
    page = await context.new_page()
    await page.goto(site.url("/bad"))
    violations = await axe_violations(page)
    assert [violation["id"] for violation in violations] == ["image-alt"], format_violations(
        violations
    )
    assert len(violations[0]["targets"]) == 1


async def test_axe_finds_nothing_on_clean_page(site: Site, context: BrowserContext) -> None:
    """An accessible page under a strict CSP scans clean, best-practice rules included."""
    page = await context.new_page()
    await page.goto(site.url("/"))
    violations = await axe_violations(page, tags=None)
    assert violations == [], format_violations(violations)


async def test_network_log_quiet_on_clean_page(site: Site, context: BrowserContext) -> None:
    """A clean page requests nothing from elsewhere and sets no cookie."""
    log = NetworkLog.attach(context)
    page = await context.new_page()
    await page.goto(site.url("/"))
    await log.drain()
    assert log.request_urls == [site.url("/")]
    assert log.foreign_requests([site.origin]) == []
    assert log.set_cookie_responses() == []


async def test_network_log_catches_foreign_request_and_cookie(
    site: Site, context: BrowserContext
) -> None:
    """The log names a foreign image, a foreign websocket and the response that set a cookie."""
    log = NetworkLog.attach(context)
    page = await context.new_page()
    await page.goto(site.url("/bad"))
    async with page.expect_event("websocket"):
        await page.evaluate("() => { new WebSocket('ws://tracker.example/socket'); }")
    await log.drain()
    assert log.foreign_requests([site.origin]) == [
        FOREIGN_IMAGE_URL,
        "ws://tracker.example/socket",
    ]
    assert log.set_cookie_responses() == [site.url("/bad")]


async def test_network_log_counts_own_websocket_as_same_origin(
    site: Site, context: BrowserContext
) -> None:
    """A websocket to the page's own host and port is not foreign although its scheme is ws."""
    log = NetworkLog.attach(context)
    page = await context.new_page()
    await page.goto(site.url("/bad"))
    own_socket_url = site.origin.replace("http://", "ws://") + "/ws"
    async with page.expect_event("websocket"):
        await page.evaluate("(url) => { new WebSocket(url); }", own_socket_url)
    assert own_socket_url in log.request_urls
    assert own_socket_url not in log.foreign_requests([site.origin])


# Async only because this module's asyncio mark (pytestmark) rejects plain functions.
async def test_find_chromium_prefers_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$NEXUS_CHROMIUM wins over the system Chromium; a missing one yields None."""
    fake_chromium = tmp_path / "my-chromium"
    fake_chromium.write_text("#!/bin/sh\n")
    fake_chromium.chmod(fake_chromium.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(CHROMIUM_ENV, os.fspath(fake_chromium))
    assert find_chromium() == os.fspath(fake_chromium)
    monkeypatch.setenv(CHROMIUM_ENV, os.fspath(tmp_path / "absent"))
    assert find_chromium() is None
