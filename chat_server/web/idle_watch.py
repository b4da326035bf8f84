"""Warns both sides of a quiet chat before it lapses (see domain/idle.py).

Each instance looks after its own connections: every IDLE_CHECK_S it reads, in one round
trip, the remaining lifetime of every chat a local visitor or console follows, and tells each
connection once when its chat enters the warning window (``idle_warning``) and once when the
chat was kept open (``idle_cleared``). Nothing is stored: the chat's TTL is the only state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from redis.exceptions import RedisError

from ..domain import protocol as p
from ..domain.idle import IdleNotice, idle_notice, lapses_in_s
from ..services import Services

log = logging.getLogger(__name__)

IDLE_CHECK_S: Final = 15.0  # a warning comes within this long of the window opening


class IdleWatch:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._services.settings.idle_warning_s > 0:
            self._task = asyncio.create_task(self._loop(), name="idle-watch")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(IDLE_CHECK_S)
            try:
                await self.check()
            except RedisError:
                continue  # Redis is away: its own notice has gone out; try again later

    async def check(self) -> None:
        """One round over this instance's connections (the loop's step; tests call it)."""
        s = self._services
        warn_s = s.settings.idle_warning_s
        visitors = list(s.visitors.items())
        consoles = list(s.consoles)
        chat_ids = sorted({c for c, _ in visitors} | {c for k in consoles for c in k.feeds})
        remaining = await s.chats.remaining_ms(chat_ids)
        for chat_id, visitor in visitors:
            left = remaining.get(chat_id, -2)
            notice = idle_notice(left, warn_s, warned=visitor.idle_warned)
            if notice is IdleNotice.WARN:
                visitor.idle_warned = True
                visitor.peer.send(p.encode("idle_warning", lapses_in_s=lapses_in_s(left)))
            elif notice is IdleNotice.CLEAR:
                visitor.idle_warned = False
                visitor.peer.send(p.encode("idle_cleared"))
        for console in consoles:
            for chat_id in list(console.feeds):
                left = remaining.get(chat_id, -2)
                warned = chat_id in console.idle_warned
                notice = idle_notice(left, warn_s, warned=warned)
                if notice is IdleNotice.WARN:
                    console.idle_warned.add(chat_id)
                    console.peer.send(p.encode("idle_warning", chat_id=chat_id,
                                               lapses_in_s=lapses_in_s(left)))  # fmt: skip
                elif notice is IdleNotice.CLEAR:
                    console.idle_warned.discard(chat_id)
                    console.peer.send(p.encode("idle_cleared", chat_id=chat_id))
