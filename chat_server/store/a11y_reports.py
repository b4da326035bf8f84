"""Accessibility fault reports in Redis: a capped list with a TTL, and a service-wide hourly
count in place of any per-address limit (no address is ever looked at). Each entry is
``{"day", "text"}`` and nothing else."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Final

from redis.asyncio import Redis

MAX_STORED_REPORTS: Final = 200
SERVICE_REPORTS_PER_H: Final = 30  # all visitors together


class A11yReports:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int) -> None:
        self._redis = redis
        self._key = f"{prefix}a11y:reports"
        self._count_prefix = f"{prefix}a11y:count:"
        self._ttl_s = ttl_s

    async def add(self, text: str, now: datetime, zone: tzinfo) -> bool:
        """Store one report (dated by its day in ``zone``); False when the service-wide
        hourly limit is reached."""
        hour_key = f"{self._count_prefix}{now:%Y%m%d%H}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(hour_key)
            pipe.expire(hour_key, 3600)
            count, _ = await pipe.execute()
        if int(count) > SERVICE_REPORTS_PER_H:
            return False
        entry = json.dumps({"day": now.astimezone(zone).date().isoformat(), "text": text})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self._key, entry)
            pipe.ltrim(self._key, 0, MAX_STORED_REPORTS - 1)
            pipe.expire(self._key, self._ttl_s)
            await pipe.execute()
        return True

    async def latest(self) -> list[dict[str, str]]:
        """The stored reports, newest first."""
        raw = await self._redis.lrange(self._key, 0, -1)
        return [json.loads(item) for item in raw]
