"""One pub/sub connection per server instance, fanning nudges out to local listeners.

Pub/sub is only a nudge: a listener that misses one (Redis restarted, the connection
dropped) is told to resync and reads the chat's stream again. After a connection error the
hub builds a fresh PubSub, subscribes every channel anew and then calls the resync hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

Listener = Callable[[str, str], None]
"""Called with (channel, data) on the event loop; must not block."""

RECONNECT_BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)


class Hub:
    def __init__(self, redis: Redis, base_channels: tuple[str, ...] = ()) -> None:
        self._redis = redis
        self._pubsub: PubSub = redis.pubsub(ignore_subscribe_messages=True)
        self._listeners: dict[str, set[Listener]] = {}
        self._base_channels = base_channels
        self._resync_hooks: set[Callable[[], None]] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self._stopping = False
        self.on_health_change: Callable[[bool], None] | None = None

    async def start(self) -> None:
        for channel in self._base_channels:
            self._listeners.setdefault(channel, set())
        await self._subscribe_all()
        self._set_connected(True)
        self._task = asyncio.create_task(self._read_loop(), name="hub-reader")

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            # redis-py may turn a cancel during a read into a connection error, which the
            # loop survives: the flag ends it, and the cancel is repeated until it is gone.
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    def add_resync_hook(self, hook: Callable[[], None]) -> None:
        self._resync_hooks.add(hook)

    def remove_resync_hook(self, hook: Callable[[], None]) -> None:
        self._resync_hooks.discard(hook)

    async def subscribe(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.setdefault(channel, set())
        first = not listeners and channel not in self._base_channels
        listeners.add(listener)
        if first and self.connected:
            # A failure here is healed by the reader's reconnect, which resubscribes all.
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get(channel)
        if listeners is None:
            return
        listeners.discard(listener)
        if not listeners and channel not in self._base_channels:
            del self._listeners[channel]
            if self.connected:
                with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                    await self._pubsub.unsubscribe(channel)

    async def _subscribe_all(self) -> None:
        channels = list(self._listeners)
        if channels:
            await self._pubsub.subscribe(*channels)

    def _set_connected(self, value: bool) -> None:
        if value != self.connected:
            self.connected = value
            if self.on_health_change:
                self.on_health_change(value)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = str(message["channel"])
        data = str(message["data"])
        for listener in list(self._listeners.get(channel, ())):
            try:
                listener(channel, data)
            except Exception:
                log.exception("a pub/sub listener failed")

    async def _read_loop(self) -> None:
        while not self._stopping:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    self._dispatch(message)
            except (RedisConnectionError, RedisTimeoutError, OSError):
                self._set_connected(False)
                log.warning("pub/sub connection lost; reconnecting")
                await self._reconnect()

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._stopping:
            delay = RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)]
            await asyncio.sleep(delay)
            attempt += 1
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await self._subscribe_all()
            except (RedisConnectionError, RedisTimeoutError, OSError):
                continue
            log.info("pub/sub connection restored")
            self._set_connected(True)
            for hook in list(self._resync_hooks):
                try:
                    hook()
                except Exception:
                    log.exception("a resync hook failed")
            return
