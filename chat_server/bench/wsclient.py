"""WebSocket clients for the benchmark, on the independent ``websockets`` library.

A ``Conn`` reads every frame in its own task, stamps it with the monotonic clock on arrival
and hands it to a handler; one-off waits (``welcome``, ``chat_opened``...) are futures
registered before the frame that triggers them is sent, so none is missed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

Frame = dict[str, Any]
FrameHandler = Callable[[Frame, int], None]
"""Called with (frame, arrival time in monotonic ns) for every frame, on the event loop."""

OPEN_TIMEOUT_S = 30.0
SESSION_COOKIE = "__Host-nexus_session"


class Conn:
    def __init__(self, ws: ClientConnection, on_frame: FrameHandler | None = None) -> None:
        self.ws = ws
        self.on_frame = on_frame
        self.close_code: int | None = None
        self.frames = 0
        self.bytes_received = 0
        self._waiters: list[tuple[Callable[[Frame], bool], asyncio.Future[Frame]]] = []
        self.reader = asyncio.get_running_loop().create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            async for raw in self.ws:
                now_ns = time.monotonic_ns()
                self.frames += 1
                self.bytes_received += len(raw)
                if not self._waiters and self.on_frame is None:
                    continue  # an idle connection: count the frame, skip the parsing
                frame: Frame = json.loads(raw)
                if self._waiters:
                    self._resolve_waiters(frame)
                if self.on_frame is not None:
                    self.on_frame(frame, now_ns)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code if self.ws.close_code is not None else 1006
            for _, future in self._waiters:
                if not future.done():
                    future.set_exception(ConnectionError(f"closed {self.close_code}"))
            self._waiters.clear()

    def _resolve_waiters(self, frame: Frame) -> None:
        for entry in list(self._waiters):
            matches, future = entry
            if not future.done() and matches(frame):
                future.set_result(frame)
                self._waiters.remove(entry)
                return

    def waiter(self, kind: str | tuple[str, ...], **fields: Any) -> asyncio.Future[Frame]:
        """A future for the next frame of type ``kind`` (one of, for a tuple) with ``fields``."""
        kinds = (kind,) if isinstance(kind, str) else kind
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        if self.reader.done():
            future.set_exception(ConnectionError(f"closed {self.close_code}"))
            return future

        def matches(frame: Frame) -> bool:
            return frame.get("type") in kinds and all(frame.get(k) == v for k, v in fields.items())

        self._waiters.append((matches, future))
        return future

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    @property
    def open(self) -> bool:
        return not self.reader.done()

    async def close(self) -> None:
        await self.ws.close()
        await self.reader

    async def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (fast, for thousands)."""
        self.ws.transport.abort()
        await self.reader


async def open_conn(
    url: str,
    origin: str,
    *,
    on_frame: FrameHandler | None = None,
    compression: bool = True,
    cookie: str = "",
) -> Conn:
    """Connect like a browser would: an Origin header, permessage-deflate offered (unless
    ``compression`` is off), no client pings (the server's heartbeat is what we measure)."""
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else None
    ws = await connect(
        url,
        origin=Origin(origin),
        additional_headers=headers,
        compression="deflate" if compression else None,
        ping_interval=None,
        open_timeout=OPEN_TIMEOUT_S,
        close_timeout=2,
        max_size=2**20,
        max_queue=None,
        proxy=None,
    )
    return Conn(ws, on_frame)


async def login(base_url: str, username: str, password: str) -> str:
    """Sign in through the real form; returns the session cookie value or raises."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/console/login",
            data={"username": username, "password": password},
            headers={"Origin": base_url},
            allow_redirects=False,
        ) as response,
    ):
        cookie = response.cookies.get(SESSION_COOKIE)
        if cookie is None or not cookie.value:
            raise RuntimeError(f"login of {username} failed with HTTP {response.status}")
        return cookie.value


async def wait_for(future: asyncio.Future[Frame], timeout_s: float) -> Frame:
    return await asyncio.wait_for(future, timeout_s)
