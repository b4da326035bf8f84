"""A counsellor's working stretch, for the break suggestion: when it began, how many chats.

Staff state, not visitor state: ``staff:<user>:wellbeing`` (a hash: ``since_ms``,
``suggested``) and ``staff:<user>:wellbeing:done`` (a set of SHA-256 hashes of the chat ids
finished in this stretch, so two open consoles count a chat once and no chat id is kept).
Both lapse ``idle_reset_s`` after the console last checked in: a counsellor who was away that
long starts a fresh stretch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

from .codec import str_dict

MAX_COUNTED_CHATS: Final = 100


@dataclass(frozen=True, slots=True)
class Stretch:
    since_ms: int
    chats_done: int
    suggested: bool


class WellbeingStore:
    def __init__(self, redis: Redis, prefix: str, idle_reset_s: int) -> None:
        self._redis = redis
        self._prefix = prefix
        self._idle_reset_s = idle_reset_s

    def _keys(self, username: str) -> tuple[str, str]:
        base = f"{self._prefix}staff:{username}:wellbeing"
        return base, f"{base}:done"

    async def check_in(self, username: str, now_ms: int, finished_chat: str = "") -> Stretch:
        """Start the stretch if none is running, count ``finished_chat`` once, keep both keys
        alive for ``idle_reset_s``; returns the stretch."""
        state, done = self._keys(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(state, "since_ms", now_ms)
            if finished_chat:
                digest = hashlib.sha256(finished_chat.encode("utf-8")).hexdigest()[:32]
                pipe.sadd(done, digest)
            pipe.expire(state, self._idle_reset_s)
            pipe.expire(done, self._idle_reset_s)
            pipe.hgetall(state)
            pipe.scard(done)
            results = await pipe.execute()
        data = str_dict(results[-2])
        return Stretch(
            since_ms=int(data.get("since_ms", now_ms)),
            chats_done=min(int(results[-1]), MAX_COUNTED_CHATS),
            suggested=data.get("suggested") == "1",
        )

    async def mark_suggested(self, username: str) -> bool:
        """Remember that a break was suggested in this stretch; False if it already was."""
        state, _ = self._keys(username)
        return bool(await self._redis.hsetnx(state, "suggested", "1"))

    async def end_stretch(self, username: str) -> None:
        """The counsellor took a break: the next check-in starts a new stretch."""
        await self._redis.delete(*self._keys(username))
