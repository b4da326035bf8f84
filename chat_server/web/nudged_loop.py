"""A background step that runs on every queue nudge (debounced) and at least every interval.

The dispatcher (routing rounds) and the queue watch (positions and the console's queue list)
are both such loops on every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError

from ..services import Services

log = logging.getLogger(__name__)

# Under a storm of nudges (thousands of visitors joining) a step that reads a long queue could
# run back to back and starve everything else: after each step the loop rests for
# STEP_REST_FACTOR × the step's duration (capped at the interval), so steps take at most a
# quarter of the time. A step over a short queue takes a millisecond or two; nothing waits.
STEP_REST_FACTOR = 3.0


class NudgedLoop:
    """Subclasses implement :meth:`step`; ``interval_s`` and ``debounce_s`` pace it."""

    name = "nudged-loop"

    def __init__(self, services: Services, *, interval_s: float, debounce_s: float) -> None:
        self._services = services
        self._interval_s = interval_s
        self._debounce_s = debounce_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._services.hub.subscribe(self._services.keys.queue_channel, self._on_nudge)
        self._services.hub.add_resync_hook(self.poke)
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        # A flag as well as the cancel: redis-py may turn a cancel during a command into a
        # connection error, which the loop would otherwise survive.
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_nudge(self, _channel: str, _data: str) -> None:
        self._wake.set()

    def poke(self) -> None:
        self._wake.set()

    async def step(self) -> None:
        raise NotImplementedError

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval_s):
                    await self._wake.wait()
            await asyncio.sleep(self._debounce_s)  # one step for a burst of nudges
            self._wake.clear()
            loop = asyncio.get_running_loop()
            started_s = loop.time()
            try:
                await self.step()
                rest_s = (loop.time() - started_s) * STEP_REST_FACTOR
                await asyncio.sleep(min(rest_s, self._interval_s))
            except RedisError:
                await asyncio.sleep(self._interval_s)  # Redis is away; the hub reports it
            except Exception:
                log.exception("%s failed a step", self.name)
                await asyncio.sleep(self._interval_s)
