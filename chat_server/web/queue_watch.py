"""Pushes the queue to this instance's visitors (their position) and consoles (the list).

Any instance's change to the queue publishes a nudge; each instance then takes one snapshot
(debounced) and fans it out locally, so a thousand waiting visitors cost one script call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError

from ..domain.estimate import estimate_wait_s, overflow
from ..domain.queue import positions
from ..services import Services
from ..store.chats import QueueSnapshot
from .console_session import queue_frame

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.05


class QueueWatch:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._dirty = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.latest: QueueSnapshot | None = None

    async def start(self) -> None:
        await self._services.hub.subscribe(self._services.keys.queue_channel, self._on_nudge)
        self._services.hub.add_resync_hook(self.poke)
        self._task = asyncio.create_task(self._loop(), name="queue-watch")

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_nudge(self, _channel: str, _data: str) -> None:
        self._dirty.set()

    def poke(self) -> None:
        self._dirty.set()

    async def _loop(self) -> None:
        interval = self._services.settings.sweep_interval_s
        # A flag as well as the cancel: redis-py may turn a cancel during a command into a
        # connection error, which the loop would otherwise survive.
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._dirty.wait()
            await asyncio.sleep(DEBOUNCE_S)
            self._dirty.clear()
            try:
                snapshot = await self._services.chats.queue_snapshot()
            except RedisError:
                continue
            self.latest = snapshot
            self._fan_out(snapshot)

    def _fan_out(self, snapshot: QueueSnapshot) -> None:
        s = self._services
        where = positions([c.chat_id for c in snapshot.chats])
        capacity = s.dispatcher.on_duty_capacity if s.dispatcher else 0
        handle_s = s.dispatcher.recent_handle_s if s.dispatcher else ()
        for chat_id, visitor in list(s.visitors.items()):
            if chat_id in where:
                estimate = estimate_wait_s(where[chat_id], capacity, handle_s, s.estimates)
                visitor.show_position(
                    where[chat_id], snapshot.waiting, estimate,
                    overflow(estimate, snapshot.waiting, s.estimates),
                )  # fmt: skip
        if s.consoles:
            frame = queue_frame(snapshot, s.clock_ms())
            for console in list(s.consoles):
                console.show_queue(frame)
