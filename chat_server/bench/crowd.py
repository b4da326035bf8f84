"""Many visitors at once: open them with bounded concurrency, retrying refusals like a widget.

A start that the server refuses for a passing reason (``unavailable``, close 4503, a reset
connection while it is overloaded) is retried after a short pause, as the widget does; each
refusal is counted, so a server that sheds load shows up in the results instead of hiding.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from websockets.exceptions import InvalidHandshake, InvalidStatus

from .processes import Child
from .wsclient import Conn, Frame, FrameHandler, open_conn, wait_for

ANSWER_TIMEOUT_S = 30.0
RETRY_PAUSE_S = (0.1, 0.3)  # uniform jitter, so retries do not come back in lockstep


@dataclass
class Visitor:
    """A visitor's connection, with what it needs to resume: its token and the last seq."""

    conn: Conn
    token: str = ""
    last_seq: int = 0


@dataclass
class Crowd:
    visitors: list[Visitor] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    joins: Counter[int] = field(default_factory=Counter)
    """``state`` frames (a counsellor joined) per visitor index, when joins are tracked."""

    def join_watcher(self, index: int) -> FrameHandler:
        def watch(frame: Frame, _now_ns: int) -> None:
            if frame.get("type") == "state":
                self.joins[index] += 1

        return watch

    @property
    def frames_received(self) -> int:
        return sum(v.conn.frames for v in self.visitors)

    async def abort_all(self) -> None:
        await asyncio.gather(*(v.conn.abort() for v in self.visitors))
        self.visitors.clear()


async def _try_once(
    server: Child, kind: str, index: int, compression: bool, on_frame: FrameHandler | None
) -> Visitor | str:
    """One attempt: a Visitor, or the reason it failed."""
    conn: Conn | None = None
    try:
        if kind == "bare":
            url = f"{server.ws_url}/ws/visitor?room=idle{index}"
            conn = await open_conn(url, server.url, compression=compression)
            await wait_for(conn.waiter("ready"), ANSWER_TIMEOUT_S)
            return Visitor(conn)
        conn = await open_conn(
            f"{server.ws_url}/ws/visitor", server.url, compression=compression, on_frame=on_frame
        )
        answer = conn.waiter(("welcome", "error"))
        await conn.send({"type": "start", "language": "sv"})
        frame = await wait_for(answer, ANSWER_TIMEOUT_S)
        if frame["type"] == "welcome":
            return Visitor(conn, token=str(frame["token"]))
        reason = str(frame.get("code"))
    except InvalidStatus as refused:
        reason = f"http_{refused.response.status_code}"
    except (OSError, InvalidHandshake, ConnectionError, TimeoutError) as error:
        reason = type(error).__name__
    if conn is not None:
        await conn.abort()
    return reason


async def open_visitor(
    crowd: Crowd,
    server: Child,
    kind: str,
    index: int,
    *,
    compression: bool,
    deadline: float,
    track_joins: bool = False,
) -> Visitor:
    """Open one visitor, retrying passing refusals until ``deadline`` (monotonic)."""
    on_frame = crowd.join_watcher(index) if track_joins else None
    while True:
        crowd.attempts += 1
        result = await _try_once(server, kind, index, compression, on_frame)
        if isinstance(result, Visitor):
            return result
        crowd.refusals[result] += 1
        if time.monotonic() > deadline:
            raise RuntimeError(f"visitor {index} could not start: {result}")
        await asyncio.sleep(random.uniform(*RETRY_PAUSE_S))


async def grow(
    crowd: Crowd,
    server: Child,
    kind: str,
    target: int,
    *,
    concurrency: int,
    compression: bool = True,
    timeout_s: float = 120.0,
    track_joins: bool = False,
) -> float:
    """Add visitors until the crowd has ``target``; returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    gate = asyncio.Semaphore(concurrency)

    async def add(index: int) -> None:
        async with gate:
            visitor = await open_visitor(
                crowd,
                server,
                kind,
                index,
                compression=compression,
                deadline=deadline,
                track_joins=track_joins,
            )
        crowd.visitors.append(visitor)

    await asyncio.gather(*(add(i) for i in range(len(crowd.visitors), target)))
    return time.monotonic() - started
