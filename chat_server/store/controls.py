"""Supervisor controls shared by all instances: paused intake, a notice, today's override.

Staff state, not visitor state; each key still expires (at the latest after a day) so a
forgotten pause cannot close the service for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from .codec import str_dict

CONTROL_TTL_S: Final = 86400


@dataclass(frozen=True, slots=True)
class Controls:
    intake_paused: bool = False
    pause_message_sv: str = ""
    pause_message_en: str = ""
    notice_sv: str = ""
    notice_en: str = ""
    day_override: str = ""  # "open" | "closed" | "" (none)
    day_override_date: str = ""  # the local date (YYYY-MM-DD) the override was set for


class ControlStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = f"{prefix}control"
        self.channel = f"{prefix}ch:control"

    async def get(self) -> Controls:
        data = str_dict(await self._redis.hgetall(self._key))
        return Controls(
            intake_paused=data.get("intake_paused") == "1",
            pause_message_sv=data.get("pause_message_sv", ""),
            pause_message_en=data.get("pause_message_en", ""),
            notice_sv=data.get("notice_sv", ""),
            notice_en=data.get("notice_en", ""),
            day_override=data.get("day_override", ""),
            day_override_date=data.get("day_override_date", ""),
        )

    async def update(self, **fields: str) -> None:
        """Set some control fields (strings; "" clears) and nudge every instance."""
        async with self._redis.pipeline(transaction=True) as pipe:
            mapping: dict[FieldT, EncodableT] = {}
            mapping.update(fields)
            pipe.hset(self._key, mapping=mapping)
            pipe.expire(self._key, CONTROL_TTL_S)
            pipe.publish(self.channel, "changed")
            await pipe.execute()
