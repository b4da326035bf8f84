"""Two instances, 50 counsellors, 500 visitors at once: no double assignment, no overrun."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
import redis

from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    open_console,
    running_server,
    start_visitor,
    write_staff,
)

COUNSELLORS = 50
VISITORS = 500
CAPACITY = 2


class Bot:
    """A counsellor who accepts every offer (or auto-accepts), ends each chat at once, and
    records how many chats it held at the same time."""

    def __init__(self, console: Client, name: str) -> None:
        self.console = console
        self.name = name
        self.holding: set[str] = set()
        self.most_held = 0
        self.opened: list[str] = []

    async def run(self, done: asyncio.Event) -> None:
        while not done.is_set():
            try:
                frame = await self.console.recv(timeout=0.5)
            except TimeoutError:
                continue
            except Exception:
                return
            kind = frame["type"]
            if kind == "offer":
                await self.console.send(type="accept", chat_id=frame["chat_id"])
            elif kind == "chat_opened":
                self.holding.add(frame["chat_id"])
                self.opened.append(frame["chat_id"])
                self.most_held = max(self.most_held, len(self.holding))
                await self.console.send(type="end", chat_id=frame["chat_id"])
            elif kind == "chat_ended":
                self.holding.discard(frame["chat_id"])
            elif kind == "presence" and frame.get("presence") == "paused":
                await self.console.send(type="presence", presence="available")


@pytest.mark.slow
async def test_many_counsellors_on_two_instances_never_double_assign(
    redis_url: str, tmp_path: Path, raw_redis: redis.Redis
) -> None:
    """Every chat is opened exactly once, nobody over capacity, every visitor is answered."""
    staff = tmp_path / "staff.json"
    write_staff(staff, {f"c{i:02}": {"capacity": CAPACITY} for i in range(COUNSELLORS)})
    settings = [
        make_settings(
            redis_url,
            staff,
            free_port(),
            routing_tick_s=0.2,
            offer_timeout_s=20,
            visitor_gone_ttl_s=600,
        )
        for _ in range(2)
    ]
    async with running_server(settings[0]) as a, running_server(settings[1]) as b:
        instances: tuple[RunningServer, RunningServer] = (a, b)
        bots = []
        for i in range(COUNSELLORS):
            console = await open_console(instances[i % 2], f"c{i:02}")
            if i % 3 == 0:
                await console.send(type="auto_accept", enabled=True)
            bots.append(Bot(console, f"c{i:02}"))
        done = asyncio.Event()
        runners = [asyncio.create_task(bot.run(done)) for bot in bots]
        started = await asyncio.gather(*(start_visitor(instances[i % 2]) for i in range(VISITORS)))
        # The visitors step away after their welcome (their chats keep waiting): this keeps
        # the test process from parsing every queue-position update of 500 sockets.
        await asyncio.gather(*(client.close() for client, _ in started))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 240
        while sum(len(bot.opened) for bot in bots) < VISITORS and loop.time() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # any late double assignment would show up now
        done.set()
        await asyncio.gather(*runners)
        opened = Counter(chat for bot in bots for chat in bot.opened)
        assert len(opened) == VISITORS
        assert max(opened.values()) == 1, "a chat was opened by two counsellors"
        assert max(bot.most_held for bot in bots) <= CAPACITY
        for bot in bots:
            await bot.console.close()
    assert list(raw_redis.scan_iter("nx:chat:*")) == []
