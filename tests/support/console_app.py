"""The real app with the console features wired on top (as create_app will once the lead wires
``add_console_routes``), plus small HTTP helpers for the console API and the login form."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from websockets.asyncio.client import connect
from websockets.typing import Origin

from chat_server.app import create_app
from chat_server.config import Settings
from chat_server.web.console_features import add_console_routes
from chat_server.web.console_settings import ConsoleSettings
from chat_server.web.security import PrivacyAccessLogger
from tests.support.servers import TEST_PASSWORD, Client, RunningServer

SESSION_COOKIE = "__Host-nexus_session"


@contextlib.asynccontextmanager
async def console_server(
    settings: Settings, console_settings: ConsoleSettings | None = None, **overrides: Any
) -> AsyncIterator[RunningServer]:
    """The real app with the console features, on a real TCP port.

    Once ``Settings`` carries ``console`` (and create_app wires the features from it), the
    chosen console settings travel that way and add_console_routes below does nothing."""
    chosen = console_settings or ConsoleSettings()
    if "console" in {f.name for f in dataclasses.fields(Settings)}:
        settings = settings.with_overrides(console=chosen)
    app = create_app(settings, **overrides)
    add_console_routes(app, settings=chosen)
    runner = web.AppRunner(app, access_log_class=PrivacyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    try:
        yield RunningServer(settings, app)
    finally:
        await runner.cleanup()


@dataclass
class LoginAnswer:
    status: int
    location: str
    session_id: str
    set_cookies: list[str]


async def post_login(
    server: RunningServer,
    username: str,
    password: str = TEST_PASSWORD,
    *,
    code: str = "",
    cookie: str = "",
    origin: str | None = None,
) -> LoginAnswer:
    """Post the login form as a browser on our page would; returns what came back."""
    headers = {"Origin": origin or server.url}
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    form = {"username": username, "password": password}
    if code:
        form["code"] = code
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/console/login", data=form, headers=headers, allow_redirects=False
        ) as response,
    ):
        morsel = response.cookies.get(SESSION_COOKIE)
        return LoginAnswer(
            response.status,
            response.headers.get("Location", ""),
            morsel.value if morsel else "",
            response.headers.getall("Set-Cookie", []),
        )


async def api_get(server: RunningServer, path: str, session_id: str = "") -> tuple[int, Any]:
    """GET a console API path with the session cookie; returns (status, JSON body or text)."""
    headers = {"Cookie": f"{SESSION_COOKIE}={session_id}"} if session_id else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}{path}", headers=headers, allow_redirects=False) as response,
    ):
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def post_form(
    server: RunningServer,
    path: str,
    session_id: str,
    form: dict[str, str],
    *,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> int:
    """POST a form with the session cookie; returns the status (redirects not followed)."""
    sent = {"Cookie": f"{SESSION_COOKIE}={session_id}", "Origin": origin or server.url}
    sent.update(headers or {})
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}{path}", data=form, headers=sent, allow_redirects=False
        ) as response,
    ):
        return response.status


async def console_with(server: RunningServer, session_id: str) -> Client:
    """A console WebSocket for an existing session, after its hello."""
    ws = await connect(
        f"{server.ws_url}/ws/console",
        origin=Origin(server.url),
        additional_headers={"Cookie": f"{SESSION_COOKIE}={session_id}"},
    )
    console = Client(ws)
    await console.send(type="hello")
    await console.expect("hello")
    return console
