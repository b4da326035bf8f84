"""Late outcomes in Redis: chats whose counsellor may still give the outcome codes.

A chat that ended other than by its counsellor's ``end`` (the visitor ended it, a quick exit,
expiry) is counted at once without outcome fields (see :mod:`chat_server.domain.stats`), and
waits here: one hash per chat (``late-outcome:<chat id>``: the counsellor's username and the
statistics day the chat counts on) and one sorted set of those chat ids scored by their
deadline (``late-outcomes``). Both carry a TTL. No visitor data is kept: the chat id is a
random handle and the chat itself is already gone.

Settling (``settle_outcome.lua``) is one script: whoever finds the chat's hash adds the outcome
fields to the day hash, deletes the hash and takes the id out of the set, so the outcome is
counted exactly once even when the counsellor and an expiry sweep on another instance try at
the same moment. The hash, not the set member, decides, so an id whose set expired with it
is still counted once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, Final, Literal

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from ..domain.outcomes import OUTCOME_GRACE_S
from .codec import as_str

__all__ = ["OUTCOME_GRACE_S", "LateOutcome", "LateOutcomes", "PendingOutcome", "SettleStatus"]

# The pending keys outlive the deadline by a day, so a sweep after a long outage still finds
# them; after that the outcome is lost (never guessed), and the keys are gone anyway.
LATE_OUTCOME_TTL_MARGIN_S: Final = 86400
OVERDUE_BATCH: Final = 100

SettleStatus = Literal["saved", "not_found", "not_your_chat"]


@dataclass(frozen=True, slots=True)
class LateOutcome:
    """Who may still give the outcome of this ended chat (its last counsellor)."""

    chat_id: str
    counsellor: str


@dataclass(frozen=True, slots=True)
class PendingOutcome:
    """An ended chat whose outcome its counsellor may still give, until ``deadline_ms``."""

    chat_id: str
    deadline_ms: int


@dataclass(frozen=True, slots=True)
class Settled:
    """What a settle attempt did; ``day``: the statistics day it counted on (when saved)."""

    status: SettleStatus
    day: date | None = None


@dataclass(frozen=True, slots=True)
class LateOutcomeKeys:
    prefix: str = "nx:"

    def chat(self, chat_id: str) -> str:
        return f"{self.prefix}late-outcome:{chat_id}"

    @property
    def deadlines(self) -> str:
        return f"{self.prefix}late-outcomes"


class LateOutcomes:
    """The pending outcomes; ``day_key_prefix`` + ISO date names a statistics day hash, kept
    ``day_ttl_s``; each settle publishes ``nudge`` on ``nudge_channel``."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        day_key_prefix: str,
        day_ttl_s: int,
        nudge_channel: str,
        nudge: str,
        grace_s: float = OUTCOME_GRACE_S,
    ) -> None:
        if grace_s <= 0:
            raise ValueError("the grace period must be positive")
        self._redis = redis
        self.keys = LateOutcomeKeys(prefix)
        self.grace_s = grace_s
        self.ttl_s = int(grace_s) + LATE_OUTCOME_TTL_MARGIN_S
        self._day_args = (day_key_prefix, day_ttl_s, nudge_channel, nudge)
        lua = resources.files("chat_server.store") / "lua" / "settle_outcome.lua"
        self._settle = redis.register_script(lua.read_text("utf-8"))

    def hold(self, pipe: Pipeline, late: LateOutcome, day: date, ended_ms: int) -> None:
        """Queue, on ``pipe`` (a MULTI, with the chat's other counts), the commands that make
        the chat wait for its outcome until ``ended_ms`` + the grace period."""
        key = self.keys.chat(late.chat_id)
        pipe.hset(key, mapping={"counsellor": late.counsellor, "day": day.isoformat()})
        pipe.expire(key, self.ttl_s)
        pipe.zadd(self.keys.deadlines, {late.chat_id: ended_ms + int(self.grace_s * 1000)})
        pipe.expire(self.keys.deadlines, self.ttl_s)

    async def settle(
        self, chat_id: str, increments: Mapping[str, int], *, counsellor: str = ""
    ) -> Settled:
        """Add ``increments`` (outcome counters) to the chat's day, once. ``counsellor``: only
        that counsellor may settle ("" = anyone, for the expiry sweep). "not_found" when
        nothing waits (unknown, already settled or long expired). Raises RedisError."""
        pairs: list[str | int] = []
        for name, count in increments.items():
            pairs += [name, count]
        reply = await self._settle(
            keys=[self.keys.deadlines, self.keys.chat(chat_id)],
            args=[chat_id, counsellor, *self._day_args, *pairs],
        )
        status = as_str(reply[0])
        if status == "ok":
            return Settled("saved", date.fromisoformat(as_str(reply[1])))
        return Settled("not_your_chat" if status == "not_your_chat" else "not_found")

    async def pending_for(self, counsellor: str, now_ms: int) -> list[PendingOutcome]:
        """The outcomes ``counsellor`` may still give (deadline not passed), oldest first:
        what a console shows again after a reload. The waiting set is small (chats that
        ended within one grace period), so it is read whole. Raises RedisError."""
        entries: list[Any] = await self._redis.zrangebyscore(
            self.keys.deadlines, now_ms, "+inf", withscores=True
        )  # (chat id, deadline) pairs
        if not entries:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for chat_id, _deadline in entries:
                pipe.hget(self.keys.chat(as_str(chat_id)), "counsellor")
            owners = await pipe.execute()
        return [
            PendingOutcome(as_str(chat_id), int(deadline))
            for (chat_id, deadline), owner in zip(entries, owners, strict=True)
            if owner is not None and as_str(owner) == counsellor
        ]

    async def overdue(self, now_ms: int, limit: int = OVERDUE_BATCH) -> list[str]:
        """Ids of chats whose deadline has passed, oldest first, at most ``limit``."""
        ids = await self._redis.zrangebyscore(
            self.keys.deadlines, "-inf", now_ms, start=0, num=limit
        )
        return [as_str(chat_id) for chat_id in ids]
