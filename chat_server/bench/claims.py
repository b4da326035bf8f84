"""Many counsellors press "take" at the same moment: how long a claim takes, and whether any
chat ever went to two counsellors (it must not: claiming is one Lua script).

Round one: ``claims`` consoles each take the first waiting chat, with as many chats waiting.
Round two: the consoles pair up and both members of a pair take the *same* chat by its id;
exactly one of each pair may win. A double assignment is a chat opened on two consoles, or a
visitor told twice that a counsellor joined.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from typing import Any

from .crowd import Crowd, grow
from .processes import Child
from .tally import latency_summary
from .wsclient import Conn, Frame, open_conn, wait_for

ANSWER_TIMEOUT_S = 30.0
QUEUE_SETTLE_S = 0.3
STRAY_FRAMES_WAIT_S = 0.5


class ClaimDesk:
    """The consoles, with the answers to their takes and the queue they last saw."""

    def __init__(self) -> None:
        self.consoles: list[Conn] = []
        self.latest_queue: list[str] = []
        self.waiting = 0
        self.opened: list[tuple[int, str]] = []  # (console, chat id), over all rounds
        self.answered_ns: dict[int, int] = {}  # console -> arrival of its latest answer

    def on_frame(self, console: int, frame: Frame, now_ns: int) -> None:
        kind = frame.get("type")
        if kind == "queue":
            self.waiting = int(frame.get("waiting", 0))
            self.latest_queue = [str(c["chat_id"]) for c in frame.get("chats", [])]
        elif kind == "chat_opened":
            self.opened.append((console, str(frame["chat_id"])))
            self.answered_ns[console] = now_ns
        elif kind == "error":
            self.answered_ns[console] = now_ns

    async def take_all(self, chat_ids: list[str] | None) -> tuple[list[Frame], list[int]]:
        """Every console sends ``take`` (console i for ``chat_ids[i // 2]`` if given) at
        once; returns the answers and each claim's latency in ns."""
        answers = [c.waiter(("chat_opened", "error")) for c in self.consoles]
        frames: list[Frame] = [
            {"type": "take", "chat_id": chat_ids[i // 2]} if chat_ids else {"type": "take"}
            for i in range(len(self.consoles))
        ]
        sent_ns = time.monotonic_ns()
        await asyncio.gather(*(c.send(f) for c, f in zip(self.consoles, frames, strict=True)))
        results = list(await asyncio.wait_for(asyncio.gather(*answers), ANSWER_TIMEOUT_S))
        latencies = [self.answered_ns[i] - sent_ns for i in range(len(self.consoles))]
        return results, latencies


async def _wait_for_queue(desk: ClaimDesk, waiting: int) -> None:
    """Until the consoles' queue frames say ``waiting`` chats wait (and list some of them:
    a queue frame lists only the first few)."""
    for _ in range(int(ANSWER_TIMEOUT_S / 0.05)):
        if desk.waiting >= waiting and desk.latest_queue:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the consoles never saw {waiting} chats waiting")


async def run_claims(
    visitor_server: Child, console_servers: list[Child], cookies: list[str], claims: int
) -> dict[str, Any]:
    """Two claim rounds with ``claims`` consoles (over the bots' sessions, round robin)."""
    desk = ClaimDesk()
    for i in range(claims):
        server = console_servers[i % len(console_servers)]
        console = await open_conn(
            f"{server.ws_url}/ws/console",
            server.url,
            cookie=cookies[i % len(cookies)],
            on_frame=functools.partial(desk.on_frame, i),
        )
        hello = console.waiter("hello")
        await console.send({"type": "hello"})
        desk.consoles.append(console)
        await wait_for(hello, ANSWER_TIMEOUT_S)
    crowd = Crowd()
    try:
        # Round one: everyone takes the first waiting chat.
        await grow(crowd, visitor_server, "nexus", claims, concurrency=50, track_joins=True)
        await _wait_for_queue(desk, claims)
        answers_one, latencies_one = await desk.take_all(None)
        # Round two: pairs race for the same chat, by the ids the queue frames list.
        await grow(
            crowd, visitor_server, "nexus", claims + claims // 2, concurrency=50, track_joins=True
        )
        await _wait_for_queue(desk, claims // 2)
        await asyncio.sleep(QUEUE_SETTLE_S)  # the latest queue frame lists the newest chats
        pairs = min(claims // 2, len(desk.latest_queue))
        raced = list(desk.latest_queue[:pairs])
        desk.consoles, spare = desk.consoles[: 2 * pairs], desk.consoles[2 * pairs :]
        answers_two, latencies_two = await desk.take_all(raced)
        desk.consoles += spare
        await asyncio.sleep(STRAY_FRAMES_WAIT_S)  # a second chat_opened would show up now
        opened = Counter(chat for _, chat in desk.opened)
        told_twice = sum(n - 1 for n in crowd.joins.values() if n > 1)
        double = sum(n - 1 for n in opened.values() if n > 1) + told_twice
        answers = answers_one + answers_two
        refused = Counter(str(a.get("code")) for a in answers if a["type"] == "error")
        winners_two = sum(1 for a in answers_two if a["type"] == "chat_opened")
        return {
            "concurrent_claims": claims,
            "first_waiting": {
                "taken": sum(1 for a in answers_one if a["type"] == "chat_opened"),
                **latency_summary(latencies_one),
            },
            "same_chat_race": {
                "chats": pairs,
                "winners": winners_two,
                **latency_summary(latencies_two),
            },
            "refusals": dict(refused),
            "visitors_told_joined": sum(crowd.joins.values()),
            "double_assignments": double + max(0, winners_two - pairs),
        }
    finally:
        await crowd.abort_all()
        await asyncio.gather(*(c.abort() for c in desk.consoles))
