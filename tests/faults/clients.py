"""Test clients that behave like the widget and the console when their connection drops.

`ResumingVisitor` starts a chat once; when its connection closes it reconnects after a short,
growing delay and sends `resume` with its token and the highest seq it has seen.
`ReconnectingConsole` reconnects with its session cookie and gets `hello` and each held chat's
history again. Both keep `message` frames de-duplicated by (chat, seq), as the real clients do,
and record when connections dropped and came back. Neither sends a message twice: a message
whose acknowledgement was lost is either in the replay after the reconnect (stored) or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from ssl import SSLContext
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from tests.support.servers import TEST_PASSWORD

RECONNECT_DELAYS_S = (0.25, 0.5, 1.0, 2.0)
HANDSHAKE_TIMEOUT_S = 5.0
SESSION_COOKIE = "__Host-nexus_session"

Connect = Callable[[], Awaitable[ClientConnection]]
"""Opens a new WebSocket to the service (the same address every time)."""

_CONNECT_ERRORS = (OSError, ConnectionClosed, InvalidHandshake, TimeoutError)


class _ReconnectingClient:
    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.frames: list[dict[str, Any]] = []
        self.connected_at: list[float] = []  # time.monotonic() of each usable connection
        self.dropped_at: list[float] = []
        self.finished = False  # the service ended this client (chat over, unknown token)

    # --- subclass hooks ------------------------------------------------------------------

    async def _handshake(self, ws: ClientConnection, *, first: bool) -> None:
        raise NotImplementedError

    def _note(self, frame: dict[str, Any]) -> None:
        """Bookkeeping for one received frame."""

    # --- the connection ------------------------------------------------------------------

    async def open(self) -> None:
        ws = await self._connect()
        await self._handshake(ws, first=True)
        self._ws = ws
        self.connected_at.append(time.monotonic())
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        self.finished = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()

    @property
    def connected(self) -> bool:
        return self._ws is not None

    async def send(self, **frame: Any) -> bool:
        """Send on the current connection; False when there is none or it broke meanwhile."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(frame))
        except ConnectionClosed:
            return False
        return True

    async def receive(self, ws: ClientConnection) -> dict[str, Any]:
        """The next frame on ``ws`` (during a handshake), recorded like every other."""
        return self._record(await asyncio.wait_for(ws.recv(), HANDSHAKE_TIMEOUT_S))

    def _record(self, raw: str | bytes) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(raw)
        self.frames.append(frame)
        self._note(frame)
        return frame

    async def _run(self) -> None:
        while True:
            ws = self._ws
            assert ws is not None
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    self._record(raw)
            self._ws = None
            if self.finished:
                return
            self.dropped_at.append(time.monotonic())
            if not await self._reconnect():
                return

    async def _reconnect(self) -> bool:
        for attempt in itertools.count():
            await asyncio.sleep(RECONNECT_DELAYS_S[min(attempt, len(RECONNECT_DELAYS_S) - 1)])
            try:
                ws = await self._connect()
            except _CONNECT_ERRORS:
                continue
            try:
                await self._handshake(ws, first=False)
            except _CONNECT_ERRORS:
                await ws.close()
                continue
            if self.finished:
                await ws.close()
                return False
            self._ws = ws
            self.connected_at.append(time.monotonic())
            return True
        raise AssertionError("unreachable")

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Wait until ``condition()`` holds; AssertionError naming ``what`` after the timeout."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
            await asyncio.sleep(0.02)


class ResumingVisitor(_ReconnectingClient):
    def __init__(self, connect: Connect, **start: Any) -> None:
        super().__init__(connect)
        self._start = start
        self.token = ""
        self.messages: dict[int, dict[str, Any]] = {}  # seq → message, de-duplicated
        self.acks: dict[str, int] = {}  # client_id → seq the server acknowledged
        self.last_seq = 0
        self.services: list[str] = []  # "ok"/"unavailable" as pushed by the server
        self.errors: list[str] = []

    async def _handshake(self, ws: ClientConnection, *, first: bool) -> None:
        if first:
            await ws.send(json.dumps({"type": "start", **self._start}))
        else:
            await ws.send(json.dumps(
                {"type": "resume", "token": self.token, "last_seq": self.last_seq}
            ))  # fmt: skip
        while True:
            frame = await self.receive(ws)
            if frame["type"] == "welcome":
                self.token = frame.get("token") or self.token
                return
            if frame["type"] == "error" and frame.get("code") == "chat_not_found":
                self.finished = True
                return

    def _note(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        seq = frame.get("seq")
        if isinstance(seq, int):
            self.last_seq = max(self.last_seq, seq)
        if kind == "message":
            self.messages.setdefault(frame["seq"], frame)
            if "client_id" in frame:  # the echo of our own line: stored, so acknowledged
                self.acks[frame["client_id"]] = frame["seq"]
        elif kind == "service":
            self.services.append(frame["status"])
        elif kind == "error":
            self.errors.append(frame["code"])
        elif kind == "ended":
            self.finished = True

    def texts_from(self, sender: str) -> list[str]:
        """Texts of the de-duplicated messages from ``sender``, in seq order."""
        return [m["text"] for _, m in sorted(self.messages.items()) if m["sender"] == sender]


class ReconnectingConsole(_ReconnectingClient):
    def __init__(self, connect: Connect) -> None:
        super().__init__(connect)
        self.hellos: list[dict[str, Any]] = []
        self.messages: dict[tuple[str, int], dict[str, Any]] = {}  # (chat, seq) → message
        self.acks: dict[str, int] = {}
        self.services: list[str] = []

    async def _handshake(self, ws: ClientConnection, *, first: bool) -> None:
        await ws.send(json.dumps({"type": "hello"}))
        while (await self.receive(ws))["type"] != "hello":
            pass

    def _note(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            self.hellos.append(frame)
        elif kind == "message":
            self.messages.setdefault((frame["chat_id"], frame["seq"]), frame)
            if "client_id" in frame:  # the echo of our own line: stored, so acknowledged
                self.acks[frame["client_id"]] = frame["seq"]
        elif kind == "service":
            self.services.append(frame["status"])

    async def take(self, timeout_s: float = 5.0) -> str:
        """Take the first waiting chat; returns its id."""
        opened = len([f for f in self.frames if f.get("type") == "chat_opened"])
        assert await self.send(type="take")
        await self.wait_for(
            lambda: len([f for f in self.frames if f.get("type") == "chat_opened"]) > opened,
            timeout_s,
            "chat_opened",
        )
        frame = self.latest("chat_opened")
        assert frame is not None
        return str(frame["chat_id"])

    def chat_messages(self, chat_id: str) -> dict[int, dict[str, Any]]:
        return {seq: m for (chat, seq), m in self.messages.items() if chat == chat_id}

    def latest(self, kind: str) -> dict[str, Any] | None:
        return next((f for f in reversed(self.frames) if f.get("type") == kind), None)


async def login(base_url: str, username: str, *, origin: str, ssl: SSLContext | None = None) -> str:
    """Sign in through the real login form at ``base_url``; returns the session cookie value."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/console/login",
            data={"username": username, "password": TEST_PASSWORD},
            headers={"Origin": origin},
            allow_redirects=False,
            ssl=ssl if ssl is not None else True,
        ) as response,
    ):
        cookie = response.cookies.get(SESSION_COOKIE)
        assert response.status == 303 and cookie, f"login of {username} failed: {response.status}"
        return cookie.value


def visitor_connector(
    ws_base: str, origin: str, *, ssl: SSLContext | None = None, **options: Any
) -> Connect:
    """Opens /ws/visitor at ``ws_base`` as a page on ``origin`` would."""

    async def open_socket() -> ClientConnection:
        return await connect(f"{ws_base}/ws/visitor", origin=Origin(origin), ssl=ssl,
                             open_timeout=HANDSHAKE_TIMEOUT_S, **options)  # fmt: skip

    return open_socket


def console_connector(
    ws_base: str, origin: str, session_id: str, *, ssl: SSLContext | None = None
) -> Connect:
    """Opens /ws/console at ``ws_base`` with the session cookie, as the console page does."""

    async def open_socket() -> ClientConnection:
        return await connect(
            f"{ws_base}/ws/console",
            origin=Origin(origin),
            ssl=ssl,
            open_timeout=HANDSHAKE_TIMEOUT_S,
            additional_headers={"Cookie": f"{SESSION_COOKIE}={session_id}"},
        )

    return open_socket


async def open_chat(url: str) -> tuple[ResumingVisitor, ReconnectingConsole, str]:
    """A visitor and anna, both connected straight to the server at ``url``, in an active
    chat with one message each way; returns them and the chat id."""
    ws_base = url.replace("http://", "ws://")
    visitor = ResumingVisitor(visitor_connector(ws_base, url))
    await visitor.open()
    session_id = await login(url, "anna", origin=url)
    console = ReconnectingConsole(console_connector(ws_base, url, session_id))
    await console.open()
    chat_id = await console.take()
    await visitor.send(type="message", text="hej", client_id="v1")
    await console.send(type="message", chat_id=chat_id, text="hej, välkommen", client_id="c1")
    await visitor.wait_for(lambda: "hej, välkommen" in visitor.texts_from("counsellor"), 5,
                           "the counsellor's message")  # fmt: skip
    return visitor, console, chat_id
