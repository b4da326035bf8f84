"""Real servers for tests: a private redis-server, the real app on a real port, and clients
that speak the real protocol with the independent ``websockets`` library."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from chat_server.accounts import HASHER
from chat_server.app import create_app
from chat_server.config import Settings, load_settings
from chat_server.web.security import PrivacyAccessLogger

TEST_PASSWORD = "correct horse battery staple"
TEST_CALLBACK_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
TEST_MESSAGE_KEY = "HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4"  # the same for every instance
_HASH = HASHER.hash(TEST_PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_staff(path: Path, users: dict[str, dict[str, Any]]) -> None:
    """Write a staff file; every account gets TEST_PASSWORD (hashed once, for speed)."""
    accounts = [
        {"username": name, "password_hash": _HASH, "role": "counsellor", **fields}
        for name, fields in users.items()
    ]
    path.write_text(json.dumps({"accounts": accounts}))


def make_settings(redis_url: str, staff_file: Path, port: int, **overrides: Any) -> Settings:
    env = {
        "REDIS_URL": redis_url,
        "NEXUS_PORT": str(port),
        "NEXUS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NEXUS_STAFF_FILE": str(staff_file),
        "NEXUS_DATA_DIR": str(staff_file.parent),
        "NEXUS_SWEEP_INTERVAL_S": "1",
        "NEXUS_CALLBACK_KEY": TEST_CALLBACK_KEY,
        "NEXUS_MESSAGE_KEY": TEST_MESSAGE_KEY,
        "NEXUS_STATS_DIR": str(staff_file.parent / "stats"),
        # Flood control off: tests start many chats; tests/integration/test_flood.py turns it on
        "NEXUS_FLOOD_STARTS_PER_MIN": "0",
    }
    return load_settings(env, **overrides)


@dataclass
class RunningServer:
    settings: Settings
    app: web.Application

    @property
    def url(self) -> str:
        return self.settings.public_url

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


@contextlib.asynccontextmanager
async def running_server(
    settings: Settings, extra_routes: Sequence[web.RouteDef] = ()
) -> AsyncIterator[RunningServer]:
    """The real app on a real TCP port, with the privacy access logger (and ``extra_routes``,
    for a test that needs a route of its own, e.g. a deliberately broken one)."""
    app = create_app(settings)
    app.router.add_routes(extra_routes)
    runner = web.AppRunner(app, access_log_class=PrivacyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    try:
        yield RunningServer(settings, app)
    finally:
        await runner.cleanup()


async def raw_request(port: int, payload: bytes, source_ip: str = "127.0.0.1") -> bytes:
    """Send raw bytes to 127.0.0.1:``port`` from ``source_ip``; the answer until the close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source_ip, 0))
    writer.write(payload)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 10)
    writer.close()
    return answer


class Client:
    """A JSON-frame WebSocket client with a helper to wait for a frame of a given type."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: dict[str, Any] = json.loads(raw)
        self.seen.append(frame)
        return frame

    async def expect(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next frame of type ``kind`` (and matching fields), skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def expect_any(self, kinds: tuple[str, ...], timeout: float = 5.0) -> dict[str, Any]:
        """The next frame whose type is one of ``kinds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame.get("type") in kinds:
                return frame

    async def close(self) -> None:
        await self.ws.close()


async def open_visitor(server: RunningServer, origin: str | None = None) -> Client:
    ws = await connect(
        f"{server.ws_url}/ws/visitor", origin=Origin(origin or server.url), max_size=2**20
    )
    return Client(ws)


async def start_visitor(server: RunningServer, **start: Any) -> tuple[Client, dict[str, Any]]:
    visitor = await open_visitor(server)
    await visitor.send(type="start", **start)
    welcome = await visitor.expect("welcome")
    return visitor, welcome


async def login(server: RunningServer, username: str, password: str = TEST_PASSWORD) -> str:
    """Sign in through the real form; returns the session cookie value ('' on failure)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/console/login",
            data={"username": username, "password": password},
            headers={"Origin": server.url},
            allow_redirects=False,
        ) as response,
    ):
        cookie = response.cookies.get("__Host-nexus_session")
        return cookie.value if cookie else ""


async def open_console(server: RunningServer, username: str, **hello: Any) -> Client:
    """A signed-in console after its hello (``hello`` fields, e.g. ``presence="paused"``)."""
    session_id = await login(server, username)
    assert session_id, f"login failed for {username}"
    ws = await connect(
        f"{server.ws_url}/ws/console",
        origin=Origin(server.url),
        additional_headers={"Cookie": f"__Host-nexus_session={session_id}"},
    )
    console = Client(ws)
    await console.send(type="hello", **hello)
    await console.expect("hello")
    return console
