"""A server instance crashes (SIGKILL) and comes back: how long until every visitor is back.

Each visitor has written one line, so it resumes with a real ``last_seq``. After the kill the
server is started again at once and all visitors try to ``resume`` together (a thundering
herd, as after a real crash), retrying every 0.1-0.3 s while the port is closed or the server
answers ``unavailable``. Replayed events at or below ``last_seq`` would be duplicates.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

from websockets.exceptions import InvalidHandshake

from .crowd import RETRY_PAUSE_S, Crowd, Visitor, grow
from .latency import log
from .processes import Child
from .tally import latency_summary
from .wsclient import Conn, Frame, FrameHandler, open_conn, wait_for

ANSWER_TIMEOUT_S = 30.0
STRAY_FRAMES_WAIT_S = 0.5
WRITE_ATTEMPTS = 20


class Comeback:
    """The outcome of all resumes: when each got ``welcome``, refusals, replayed duplicates."""

    def __init__(self) -> None:
        self.welcomed_ns: list[int] = []
        self.connected_ns: list[int] = []  # when each successful attempt's handshake was done
        self.handshake_ns: list[int] = []  # how long that TCP + WebSocket handshake took
        self.failed: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.attempts = 0
        self.replayed_duplicates = 0
        self.conns: list[Conn] = []

    def replay_watcher(self, last_seq: int) -> FrameHandler:
        def watch(frame: Frame, _now_ns: int) -> None:
            seq = frame.get("seq")
            stored = frame.get("type") in ("message", "state")
            if stored and isinstance(seq, int) and seq <= last_seq:
                self.replayed_duplicates += 1

        return watch

    async def write_one_line(self, visitor: Visitor) -> None:
        """Write one line and note its seq, retrying a refusal (``unavailable``) briefly."""
        for _ in range(WRITE_ATTEMPTS):
            answer = visitor.conn.waiter(("message", "error"))
            await visitor.conn.send({"type": "message", "text": "hallå?", "client_id": "r"})
            frame = await wait_for(answer, ANSWER_TIMEOUT_S)
            if frame["type"] == "message":  # the echo of the line: it is stored
                visitor.last_seq = int(frame["seq"])
                return
            self.refusals[f"write_{frame.get('code')}"] += 1
            await asyncio.sleep(random.uniform(*RETRY_PAUSE_S))
        raise RuntimeError("a visitor could not write its line before the restart")

    async def resume(self, server: Child, visitor: Visitor, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.attempts += 1
            conn: Conn | None = None
            try:
                started_ns = time.monotonic_ns()
                conn = await open_conn(
                    f"{server.ws_url}/ws/visitor",
                    server.url,
                    on_frame=self.replay_watcher(visitor.last_seq),
                )
                self.connected_ns.append(time.monotonic_ns())
                self.handshake_ns.append(self.connected_ns[-1] - started_ns)
                answer = conn.waiter(("welcome", "error"))
                await conn.send(
                    {"type": "resume", "token": visitor.token, "last_seq": visitor.last_seq}
                )
                frame = await wait_for(answer, ANSWER_TIMEOUT_S)
            except (OSError, InvalidHandshake, ConnectionError, TimeoutError) as error:
                self.refusals[type(error).__name__] += 1
                if conn is not None:
                    await conn.abort()
                await asyncio.sleep(random.uniform(*RETRY_PAUSE_S))
                continue
            if frame["type"] == "welcome":
                self.welcomed_ns.append(time.monotonic_ns())
                self.conns.append(conn)
                return
            code = str(frame.get("code"))
            await conn.abort()
            if code == "chat_not_found":
                self.failed[code] += 1
                return
            self.refusals[code] += 1
            await asyncio.sleep(random.uniform(*RETRY_PAUSE_S))
        self.failed["timeout"] += 1


async def run_reconnect(
    server: Child, visitors: int, *, concurrency: int, timeout_s: float
) -> dict[str, Any]:
    """Kill ``server`` under ``visitors`` connected visitors, restart it, time the comeback."""
    crowd = Crowd()
    await grow(crowd, server, "nexus", visitors, concurrency=concurrency)
    comeback = Comeback()
    await asyncio.gather(*(comeback.write_one_line(v) for v in crowd.visitors))
    killed_ns = time.monotonic_ns()
    server.kill()
    await asyncio.gather(*(v.conn.reader for v in crowd.visitors))
    server.start()
    deadline = time.monotonic() + timeout_s
    # No readiness probe here: with a thousand connections arriving at once, a probe waits in
    # the same listen queue and times the queue, not the server. The first welcome does.
    await asyncio.gather(*(comeback.resume(server, v, deadline) for v in crowd.visitors))
    if server.proc is None or server.proc.poll() is not None:
        raise RuntimeError(f"the restarted server died:\n{server.log_tail()}")
    await asyncio.sleep(STRAY_FRAMES_WAIT_S)
    first_ns = min(comeback.welcomed_ns, default=killed_ns)
    last_ns = max(comeback.welcomed_ns, default=killed_ns)
    listening_ns = min(comeback.connected_ns, default=killed_ns)
    await asyncio.gather(*(c.abort() for c in comeback.conns))
    log(
        f"nexus: {len(comeback.welcomed_ns)}/{visitors} visitors back "
        f"{(last_ns - killed_ns) / 1e9:.2f} s after the kill"
    )
    return {
        "visitors": visitors,
        "resumed": len(comeback.welcomed_ns),
        "failed": dict(comeback.failed),
        "first_handshake_after_kill_s": round((listening_ns - killed_ns) / 1e9, 2),
        "first_welcome_after_kill_s": round((first_ns - killed_ns) / 1e9, 2),
        "all_welcomed_after_kill_s": round((last_ns - killed_ns) / 1e9, 2),
        "welcome_after_first_welcome": latency_summary(
            [t - first_ns for t in comeback.welcomed_ns]
        ),
        "handshake": latency_summary(comeback.handshake_ns),
        "connection_attempts": comeback.attempts,
        "refusals": dict(comeback.refusals),
        "replayed_duplicates": comeback.replayed_duplicates,
    }
