"""One WebSocket connection with a single writer task, so frames never interleave.

Everything sent to a client goes through the outbox: plain frames, or a coroutine that yields
frames once it has run (used to fill a gap from the stored history in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import WSMsgType, web

from ..domain.protocol import CloseCode

log = logging.getLogger(__name__)

OUTBOX_LIMIT = 2000
FINISH_TIMEOUT_S = 2.0  # a client that does not read its last frames is cut off after this
Deferred = Callable[[], Awaitable[Iterable[str]]]


class Peer:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self._outbox: asyncio.Queue[str | Deferred | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="peer-writer")
        self.close_after: tuple[int, str] | None = None

    def send(self, item: str | Deferred) -> None:
        if self._outbox.qsize() >= OUTBOX_LIMIT:
            # A client that does not read cannot hold server memory; it may resume later.
            log.warning("closing a connection whose outbox is full")
            self.close_soon(1013, "too slow")
            return
        self._outbox.put_nowait(item)

    async def first_frame(self, timeout_s: float) -> str | bytes | None:
        """The client's first frame, or None: none in ``timeout_s`` (then close 4408) or the
        client closed first."""
        try:
            msg = await self.ws.receive(timeout=timeout_s)
        except TimeoutError:
            self.close_soon(CloseCode.HELLO_TIMEOUT, "no hello")
            return None
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return None
        data: str | bytes = msg.data
        return data

    def close_soon(self, code: int, reason: str) -> None:
        """Close after everything queued so far has been written."""
        self.close_after = (code, reason)
        self._outbox.put_nowait(None)

    async def _write_loop(self) -> None:
        while True:
            item = await self._outbox.get()
            if item is None:
                if self.close_after:
                    code, reason = self.close_after
                    with contextlib.suppress(Exception):
                        await self.ws.close(code=code, message=reason.encode())
                return
            try:
                frames: Iterable[str] = [item] if isinstance(item, str) else await item()
                for frame in frames:
                    await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            except Exception:
                log.exception("writing to a connection failed")

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        if not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=reason.encode())

    async def finish(self, timeout_s: float = FINISH_TIMEOUT_S) -> None:
        """End the connection: a normal close after everything queued has been written
        (unless a close is queued already), cut off if that takes over ``timeout_s``."""
        if not self.close_after:
            self.close_soon(CloseCode.NORMAL, "bye")
        try:
            await asyncio.wait_for(self.drain(), timeout=timeout_s)
        except TimeoutError:
            await self.aclose()

    async def drain(self) -> None:
        """Wait until the writer has finished (after ``close_soon``)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
