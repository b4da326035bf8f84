"""Anonymous statistics in Redis: one counter hash per day, queue-length samples, feedback tokens.

Only counts are written: the field names come from :mod:`chat_server.domain.stats` (fixed
codes, never visitor input) and every value is a whole number. The day hashes keep the recent
days only (``STATS_DAY_TTL_S``); their durable home is the roll-up files of
:mod:`chat_server.stats_archive`, and ``MERGED_FIELD`` records that a day's file has been
folded back in after Redis lost the day, so it is never added twice. A chat whose outcome its
counsellor may still give is held by :mod:`chat_server.store.outcomes` and its outcome fields
added to its day later, once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from ..domain import stats, survey
from ..domain.models import Presence
from .codec import as_str, str_dict
from .keys import Keys
from .outcomes import OUTCOME_GRACE_S, LateOutcome, LateOutcomes, SettleStatus

STATS_DAY_TTL_S: Final = 8 * 86400
FEEDBACK_TOKEN_TTL_S: Final = 3600
FEEDBACK_TOKEN_BYTES: Final = 24  # 192 bits, like the chat token
MERGED_FIELD: Final = "_merged"  # not a counter: a leading underscore is never a metric name
STATS_NUDGE: Final = json.dumps({"kind": "stats"})

# Fold a day's archived counts into its hash once: atomic, so two instances cannot both do it.
# KEYS[1] day hash. ARGV[1] marker field, ARGV[2] TTL s, then field/count pairs.
_MERGE_ARCHIVED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], ARGV[1], '1')
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# One sample per time slot, whichever instance comes first; older samples are trimmed.
# KEYS[1] samples zset. ARGV[1] slot start ms, ARGV[2] queue length, ARGV[3] oldest ms kept,
# ARGV[4] TTL s.
_SAMPLE_QUEUE = """
if redis.call('ZCOUNT', KEYS[1], ARGV[1], ARGV[1]) > 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1] .. ':' .. ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StatsKeys:
    prefix: str = "nx:"

    @property
    def day_prefix(self) -> str:
        """A day hash's key is this and the ISO date (the late-outcome script builds it)."""
        return f"{self.prefix}stats:day:"

    def day(self, day: date) -> str:
        return f"{self.day_prefix}{day.isoformat()}"

    @property
    def queue_samples(self) -> str:
        return f"{self.prefix}stats:queue"

    def feedback_token(self, token_hash: str) -> str:
        return f"{self.prefix}feedback:{token_hash}"

    @property
    def supervisor_channel(self) -> str:
        """Nudges for the supervisor view: ``{"kind": "stats"}`` and raised hands."""
        return f"{self.prefix}ch:supervisor"


async def issue_feedback_token(redis: Redis, prefix: str) -> str:
    """A fresh one-time token for the post-chat survey, valid FEEDBACK_TOKEN_TTL_S.

    Redis keeps only its SHA-256 and the value "1": nothing links it to the chat it ended.
    """
    token = secrets.token_urlsafe(FEEDBACK_TOKEN_BYTES)
    key = StatsKeys(prefix).feedback_token(_token_hash(token))
    await redis.set(key, "1", ex=FEEDBACK_TOKEN_TTL_S, nx=True)
    return token


@dataclass(frozen=True, slots=True)
class StoredDay:
    """A day's counters as Redis holds them; ``merged``: its roll-up file is already in."""

    counters: dict[str, int] = field(default_factory=dict)
    merged: bool = False


@dataclass(frozen=True, slots=True)
class StaffLoad:
    presence: Presence
    chats: int


class StatsStore:
    """Writes and reads the statistics; ``tz`` decides which day and hour a count belongs to."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        *,
        tz: str = "Europe/Stockholm",
        vocabulary: stats.Vocabulary = stats.DEFAULT_VOCABULARY,
        clock_ms: Callable[[], int] = _wall_clock_ms,
        outcome_grace_s: float = OUTCOME_GRACE_S,
    ) -> None:
        self._redis = redis
        self.keys = StatsKeys(prefix)
        self.late_outcomes = LateOutcomes(
            redis,
            prefix,
            day_key_prefix=self.keys.day_prefix,
            day_ttl_s=STATS_DAY_TTL_S,
            nudge_channel=self.keys.supervisor_channel,
            nudge=STATS_NUDGE,
            grace_s=outcome_grace_s,
        )
        self._chat_keys = Keys(prefix)
        self.zone = ZoneInfo(tz)
        self.vocabulary = vocabulary
        self.clock_ms = clock_ms
        self.touched_days: set[date] = set()
        self._merge = redis.register_script(_MERGE_ARCHIVED)
        self._sample = redis.register_script(_SAMPLE_QUEUE)

    def today(self, now_ms: int | None = None) -> date:
        """The local date now (or at ``now_ms``)."""
        return stats.local_day_and_hour(self.clock_ms() if now_ms is None else now_ms, self.zone)[0]

    # --- recording -----------------------------------------------------------------------

    async def record_chat_end(
        self,
        *,
        enqueued_ms: int,
        answered_ms: int,
        ended_ms: int,
        topic: str,
        language: str,
        urgent: bool,
        reason: str,
        outcomes: Sequence[str] | LateOutcome = (),
    ) -> None:
        """Count one ended chat on the day and hour it was offered (answered_ms 0: never
        answered, and then outcomes are ignored). ``outcomes`` is the codes, or a
        :class:`LateOutcome`: count the chat without outcome fields now and let its counsellor
        give them until the grace period ends (in the same transaction, so a chat is never
        counted without also waiting). Raises RedisError if Redis fails."""
        offered_ms = enqueued_ms if enqueued_ms > 0 else ended_ms
        answered = answered_ms > 0
        day, hour = stats.local_day_and_hour(offered_ms, self.zone)
        late = outcomes if isinstance(outcomes, LateOutcome) and answered else None
        codes = () if isinstance(outcomes, LateOutcome) else tuple(outcomes)
        increments = stats.increments_for_chat_ended(
            wait_s=((answered_ms if answered else ended_ms) - offered_ms) / 1000,
            handle_s=(ended_ms - answered_ms) / 1000 if answered else None,
            answered=answered,
            topic=topic,
            language=language,
            outcomes=None if late else codes if answered else (),
            hour=hour,
            end_reason=reason,
            urgent=urgent,
            vocabulary=self.vocabulary,
        )
        await self._add(day, increments, (late, ended_ms) if late else None)

    async def settle_outcome(
        self, chat_id: str, outcomes: Sequence[str], *, counsellor: str
    ) -> SettleStatus:
        """Count the late outcome of ``chat_id`` as ``counsellor`` gives it (none:
        ``outcome:unspecified``), once. "not_found": nothing waits for it (never did, already
        settled, expired); "not_your_chat": another counsellor held it. Raises RedisError."""
        increments = stats.increments_for_outcomes(outcomes, self.vocabulary)
        settled = await self.late_outcomes.settle(chat_id, increments, counsellor=counsellor)
        if settled.day is not None:
            self.touched_days.add(settled.day)
        return settled.status

    async def settle_overdue_outcomes(self, now_ms: int | None = None) -> int:
        """Count every late outcome whose grace period is over as ``outcome:unspecified``
        (each once, whichever instance gets there first); returns how many this call
        counted. Raises RedisError."""
        now = self.clock_ms() if now_ms is None else now_ms
        unspecified = stats.increments_for_outcomes((), self.vocabulary)
        counted = 0
        while chat_ids := await self.late_outcomes.overdue(now):
            for chat_id in chat_ids:
                settled = await self.late_outcomes.settle(chat_id, unspecified)
                if settled.day is not None:
                    self.touched_days.add(settled.day)
                    counted += 1
        return counted

    async def record_callback(
        self, status: stats.CallbackStatus, *, now_ms: int | None = None
    ) -> None:
        """Count one callback event today; raises ValueError for an unknown status."""
        await self._add(self.today(now_ms), stats.increments_for_callback(status))

    async def record_feedback(
        self, helped: int | None, contact_again: str | None, *, now_ms: int | None = None
    ) -> None:
        """Count one survey answer today (per day only: no hour, to stay unlinkable)."""
        increments = stats.increments_for_feedback(helped=helped, contact_again=contact_again)
        await self._add(self.today(now_ms), increments)

    async def record_survey_answers(
        self, answers: Mapping[str, str], *, now_ms: int | None = None
    ) -> None:
        """Count one survey form today: ``answers`` maps question ids to answer codes, as
        :func:`chat_server.domain.survey.parse_answers` returns them (per day, no hour)."""
        await self._add(self.today(now_ms), survey.increments_for_answers(answers))

    async def redeem_feedback_token(self, token: str) -> bool:
        """Use up a survey token; True once per token issued in the last hour, else False."""
        if not token or len(token) > 128:
            return False
        return await self._redis.getdel(self.keys.feedback_token(_token_hash(token))) is not None

    async def _add(
        self,
        day: date,
        increments: Mapping[str, int],
        late: tuple[LateOutcome, int] | None = None,
    ) -> None:
        key = self.keys.day(day)
        async with self._redis.pipeline(transaction=True) as pipe:
            for name, count in increments.items():
                pipe.hincrby(key, name, count)
            pipe.expire(key, STATS_DAY_TTL_S)
            if late is not None:
                self.late_outcomes.hold(pipe, late[0], day, ended_ms=late[1])
            pipe.publish(self.keys.supervisor_channel, STATS_NUDGE)
            await pipe.execute()
        self.touched_days.add(day)

    # --- reading and archiving -----------------------------------------------------------

    async def read_days(self, days: Iterable[date]) -> dict[date, StoredDay]:
        """The counters Redis holds for ``days`` (a day it lacks is absent from the result)."""
        wanted = list(days)
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in wanted:
                pipe.hgetall(self.keys.day(day))
            replies = await pipe.execute()
        found = {}
        for day, raw in zip(wanted, replies, strict=True):
            data = str_dict(raw)
            if data:
                counters = {k: int(v) for k, v in data.items() if stats.is_counter_field(k)}
                found[day] = StoredDay(counters, merged=MERGED_FIELD in data)
        return found

    async def merge_archived(self, day: date, archived: Mapping[str, int]) -> bool:
        """Fold a day's archived counts into Redis unless already done; True if done now."""
        pairs: list[str | int] = []
        for name, count in archived.items():
            if stats.is_counter_field(name) and count > 0:
                pairs += [name, count]
        done = await self._merge(
            keys=[self.keys.day(day)], args=[MERGED_FIELD, STATS_DAY_TTL_S, *pairs]
        )
        return bool(done)

    # --- the live view -------------------------------------------------------------------

    async def sample_queue(self, now_ms: int, waiting: int, interval_s: float, keep_s: int) -> bool:
        """Record the queue length for the current slot of ``interval_s``, once across all
        instances; keeps ``keep_s`` of history. True if this call stored the sample."""
        slot_ms = int(interval_s * 1000)
        slot_start = now_ms - now_ms % slot_ms
        stored = await self._sample(
            keys=[self.keys.queue_samples],
            args=[slot_start, max(0, waiting), slot_start - keep_s * 1000, keep_s],
        )
        return bool(stored)

    async def queue_samples(self, since_ms: int) -> list[tuple[int, int]]:
        """The (slot start ms, queue length) samples from ``since_ms`` on, oldest first."""
        members = await self._redis.zrangebyscore(self.keys.queue_samples, since_ms, "+inf")
        points = []
        for member in members:
            ts, _, count = as_str(member).partition(":")
            points.append((int(ts), int(count)))
        return points

    async def staff_loads(self, usernames: Sequence[str]) -> dict[str, StaffLoad]:
        """Each counsellor's presence and number of chats held, in one round trip."""
        keys = self._chat_keys
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in usernames:
                pipe.hget(keys.staff_presence(name), "presence")
                pipe.scard(keys.staff_chats(name))
            replies = await pipe.execute()
        loads = {}
        for i, name in enumerate(usernames):
            raw_presence, chats = as_str(replies[2 * i]), int(replies[2 * i + 1] or 0)
            try:
                presence = Presence(raw_presence) if raw_presence else Presence.OFFLINE
            except ValueError:
                presence = Presence.OFFLINE
            loads[name] = StaffLoad(presence, chats)
        return loads
