"""Shared pieces of the widget's browser tests: a host page on another origin under a strict
Content-Security-Policy, the chat server that allows it, and small page helpers.

This module holds no tests; it sits next to the test_widget_* modules that import it. The
`browser` fixture is not here: tests/browser/conftest.py offers it to every browser test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest_asyncio
from aiohttp import web

from chat_server.app import create_app
from chat_server.config import Settings
from chat_server.web.security import PrivacyAccessLogger
from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    running_server,
)

if TYPE_CHECKING:
    from playwright.async_api import Page

STOP_GRACE_S = 0.5
EVALUATE_TIMEOUT_S = 30.0
CHAT_ORIGIN = web.AppKey("chat_origin", str)
HOST_TITLE = "Stöd vid våld i nära relation – Uppsala kommun"
NEUTRAL_TITLE = "Neutral sida"
NEUTRAL_BODY = f"""<!doctype html><html lang="sv"><head><meta charset="utf-8">
<title>{NEUTRAL_TITLE}</title></head><body><main><h1>Väder</h1></main></body></html>"""

HOST_PAGE = """<!doctype html>
<html lang="sv">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title></head>
<body><main><h1>Stöd vid våld</h1><p>En värdsida som bäddar in chatten.</p></main>
<script src="{chat}/widget/nexus-chat.js" {attrs} defer></script>
</body>
</html>
"""

# Records every CSP violation on the page; init scripts run even under the page's CSP.
CSP_PROBE_JS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""

TRACES_JS = """async () => ({
  session: Object.keys(sessionStorage),
  local: localStorage.length,
  databases: (await indexedDB.databases()).length,
  cookie: document.cookie,
})"""

VISIBLE_SCREEN_JS = """() => {
  const root = document.querySelector("nexus-chat")?.shadowRoot;
  const screen = root && [...root.querySelectorAll(".screen")].find((s) => !s.hidden);
  return screen ? screen.classList[1] : null;
}"""


def strict_csp(chat_origin: str, *extra_connect: str) -> str:
    """The strict policy of a host page that embeds the widget from `chat_origin`."""
    sockets = [origin.replace("http://", "ws://") for origin in (chat_origin, *extra_connect)]
    connect = " ".join([chat_origin, *extra_connect, *sockets])
    return (
        f"default-src 'self'; script-src 'self' {chat_origin}; connect-src {connect}; "
        f"style-src {chat_origin}; img-src 'self'; base-uri 'none'; form-action 'self'"
    )


@dataclass(frozen=True)
class WidgetEnv:
    """The chat server and the host page origin (another port) that embeds its widget."""

    server: RunningServer
    host_origin: str

    def page(self, **attrs: str) -> str:
        """URL of a host page; `attrs` become the script's data-* attributes (data_exit_url=…)."""
        return f"{self.host_origin}/host?{urlencode(attrs)}"

    @property
    def neutral_url(self) -> str:
        return f"{self.host_origin}/neutral"


async def _host_page(request: web.Request) -> web.Response:
    chat = request.app[CHAT_ORIGIN]
    attrs = " ".join(
        f'data-{name.removeprefix("data_").replace("_", "-")}="{escape(value)}"'
        for name, value in request.query.items()
    )
    extra = [request.query["data_server"]] if "data_server" in request.query else []
    return web.Response(
        text=HOST_PAGE.format(title=HOST_TITLE, chat=chat, attrs=attrs),
        content_type="text/html",
        headers={"Content-Security-Policy": strict_csp(chat, *extra), "Cache-Control": "no-store"},
    )


async def _neutral_page(_request: web.Request) -> web.Response:
    return web.Response(text=NEUTRAL_BODY, content_type="text/html")


@asynccontextmanager
async def host_site(port: int, chat_origin: str) -> AsyncIterator[str]:
    """Serve host pages for the widget of `chat_origin` on 127.0.0.1:`port`."""
    app = web.Application()
    app[CHAT_ORIGIN] = chat_origin
    app.router.add_get("/host", _host_page)
    app.router.add_get("/neutral", _neutral_page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def widget_settings(
    redis_url: str, staff_file: Path, chat_port: int, host_port: int, **overrides: Any
) -> Settings:
    """Demo settings for a chat server on `chat_port` that allows the host page's origin."""
    chat_origin = f"http://127.0.0.1:{chat_port}"
    return make_settings(
        redis_url,
        staff_file,
        chat_port,
        demo=True,
        allowed_origins=(chat_origin, f"http://127.0.0.1:{host_port}"),
        **overrides,
    )


@asynccontextmanager
async def widget_env(
    redis_url: str, staff_file: Path, **overrides: Any
) -> AsyncIterator[WidgetEnv]:
    """A demo chat server that allows a host page on another port, and that host site."""
    chat_port, host_port = free_port(), free_port()
    settings = widget_settings(redis_url, staff_file, chat_port, host_port, **overrides)
    async with running_server(settings) as server, host_site(host_port, server.url) as host:
        yield WidgetEnv(server, host)


@asynccontextmanager
async def stoppable_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """The real app like `running_server`, but leaving it gives open connections only
    STOP_GRACE_S to finish (aiohttp waits 60 s by default): a quick stop, as in a restart."""
    runner = web.AppRunner(
        create_app(settings), access_log_class=PrivacyAccessLogger, shutdown_timeout=STOP_GRACE_S
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    try:
        yield RunningServer(settings, runner.app)
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="module")
async def env(redis_url: str, staff_file: Path) -> AsyncIterator[WidgetEnv]:
    """A fresh chat server and host site for each test."""
    async with widget_env(redis_url, staff_file) as running:
        yield running


async def evaluate(page: Page, script: str, arg: Any = None) -> Any:
    """`page.evaluate` with a deadline: Playwright gives evaluate none, and a stalled renderer
    must fail the test, not hang it."""
    return await asyncio.wait_for(page.evaluate(script, arg), EVALUATE_TIMEOUT_S)


async def open_panel(page: Page, url: str) -> None:
    """Load a host page and open the widget's panel with the launcher."""
    await page.goto(url)
    await page.locator(".launcher").click()
    await page.locator("#nc-panel").wait_for()


async def visible_screen(page: Page) -> str | None:
    """The name of the screen the panel shows (prechat, chat, closed, …)."""
    name: str | None = await evaluate(page, VISIBLE_SCREEN_JS)
    return name


async def traces(page: Page) -> dict[str, Any]:
    """What the page keeps in sessionStorage, localStorage, IndexedDB and cookies."""
    found: dict[str, Any] = await evaluate(page, TRACES_JS)
    return found


async def take_next(console: Client) -> str:
    """Take the first waiting chat in the console; returns its chat id."""
    await console.send(type="take")
    opened = await console.expect("chat_opened")
    chat_id: str = opened["chat_id"]
    return chat_id


def json_reply(
    data: Mapping[str, Any] | list[Any], origin: str, status: int = 200
) -> dict[str, Any]:
    """Keyword arguments for Playwright's route.fulfill: a CORS JSON answer for `origin`."""
    return {
        "status": status,
        "body": json.dumps(data),
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": origin,
            "Cache-Control": "no-store",
        },
    }
