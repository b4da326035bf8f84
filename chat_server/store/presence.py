"""Counsellor presence, shared by all instances; it lapses unless a console renews it."""

from __future__ import annotations

from typing import Final

from redis.asyncio import Redis

from ..domain.models import Presence
from .codec import as_str
from .keys import Keys

PRESENCE_TTL_S: Final = 90


class PresenceStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def set(self, username: str, presence: Presence, now_ms: int) -> None:
        key = self._keys.staff_presence(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            if presence is Presence.OFFLINE:
                pipe.delete(key)
                pipe.zrem(self._keys.staff_on_duty, username)
            else:
                pipe.hset(key, mapping={"presence": presence.value, "since_ms": now_ms})
                pipe.expire(key, PRESENCE_TTL_S)
                pipe.zadd(self._keys.staff_on_duty, {username: now_ms})
                pipe.expire(self._keys.staff_on_duty, 86400)
            pipe.publish(self._keys.queue_channel, "presence")
            await pipe.execute()

    async def set_auto_accept(self, username: str, enabled: bool) -> None:
        await self._redis.hset(self._keys.staff_presence(username), "auto_accept", int(enabled))

    async def mark_idle(self, username: str, now_ms: int) -> None:
        """A chat of theirs ended: routing prefers whoever has been idle longest."""
        await self._redis.hset(self._keys.staff_presence(username), "idle_since_ms", now_ms)

    async def renew(self, username: str) -> None:
        await self._redis.expire(self._keys.staff_presence(username), PRESENCE_TTL_S)

    async def get(self, username: str) -> Presence:
        value = await self._redis.hget(self._keys.staff_presence(username), "presence")
        return Presence(as_str(value)) if value else Presence.OFFLINE
