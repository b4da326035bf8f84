"""The statistics store on a real Redis: counters per day and hour, samples, survey tokens."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis

from chat_server.domain.models import Presence
from chat_server.store.keys import Keys
from chat_server.store.presence import PresenceStore
from chat_server.store.stats import (
    FEEDBACK_TOKEN_TTL_S,
    STATS_DAY_TTL_S,
    StatsStore,
    issue_feedback_token,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def ms(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> int:
    """Epoch milliseconds of a Stockholm wall-clock time."""
    moment = datetime(year, month, day, hour, minute, second, tzinfo=STOCKHOLM)
    return int(moment.astimezone(UTC).timestamp() * 1000)


NOON = ms(2024, 5, 6, 12)


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    connection = Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


@pytest.fixture
def store(client: Redis) -> StatsStore:
    return StatsStore(client, "nx:", clock_ms=lambda: NOON)


async def test_an_answered_chat_counts_on_the_day_and_hour_it_was_offered(
    store: StatsStore, raw_redis: redis.Redis
) -> None:
    """Offered 23:59:30, answered after midnight: it belongs to the first day, hour 23."""
    offered = ms(2024, 5, 6, 23, 59, 30)
    await store.record_chat_end(
        enqueued_ms=offered, answered_ms=offered + 45_000, ended_ms=offered + 1_000_000,
        topic="honour", language="ar", urgent=True, reason="counsellor_ended",
        outcomes=("support_talk", "referral_shelter"),
    )  # fmt: skip
    assert raw_redis.keys("nx:stats:day:*") == ["nx:stats:day:2024-05-06"]
    assert raw_redis.hgetall("nx:stats:day:2024-05-06") == {
        "chats_offered": "1", "offered_by_hour:23": "1", "topic:honour": "1", "language:ar": "1",
        "chats_urgent": "1", "chats_answered": "1", "answered_by_hour:23": "1", "wait:le_60": "1",
        "handle:le_1200": "1", "outcome:support_talk": "1", "outcome:referral_shelter": "1",
        "end_reason:counsellor_ended": "1",
    }  # fmt: skip
    assert 0 < raw_redis.ttl("nx:stats:day:2024-05-06") <= STATS_DAY_TTL_S


async def test_an_abandoned_chat_ignores_outcomes_and_counts_its_wait(
    store: StatsStore, raw_redis: redis.Redis
) -> None:
    """answered_ms 0 means never answered: wait runs to the end; outcomes cannot apply."""
    await store.record_chat_end(
        enqueued_ms=NOON, answered_ms=0, ended_ms=NOON + 8_000, topic="", language="xx",
        urgent=False, reason="quick_exit", outcomes=("support_talk",),
    )  # fmt: skip
    assert raw_redis.hgetall("nx:stats:day:2024-05-06") == {
        "chats_offered": "1", "offered_by_hour:12": "1", "topic:unspecified": "1",
        "language:other": "1", "chats_abandoned": "1", "abandoned_by_hour:12": "1",
        "abandon_wait:le_10": "1", "chats_abandoned_short": "1", "end_reason:quick_exit": "1",
    }  # fmt: skip


async def test_callbacks_and_feedback_count_on_today(
    store: StatsStore, raw_redis: redis.Redis
) -> None:
    """Events without an offer time count on the local day of now; feedback has no hour."""
    await store.record_callback("requested")
    await store.record_callback("completed")
    await store.record_feedback(5, "yes")
    assert raw_redis.hgetall("nx:stats:day:2024-05-06") == {
        "callbacks_requested": "1", "callbacks_completed": "1", "feedback_responses": "1",
        "feedback:helped:5": "1", "feedback:contact_again:yes": "1",
    }  # fmt: skip
    assert store.touched_days == {date(2024, 5, 6)}
    with pytest.raises(ValueError, match="callback status"):
        await store.record_callback("lost")  # type: ignore[arg-type]


async def test_read_days_returns_only_counters(store: StatsStore, client: Redis) -> None:
    """The merge marker and anything that is not a counter stay out of what is read."""
    await store.record_callback("requested")
    await client.hset("nx:stats:day:2024-05-06", mapping={"_merged": "1", "junk field": "7"})
    days = await store.read_days([date(2024, 5, 5), date(2024, 5, 6)])
    assert list(days) == [date(2024, 5, 6)]
    assert days[date(2024, 5, 6)].counters == {"callbacks_requested": 1}
    assert days[date(2024, 5, 6)].merged


async def test_a_feedback_token_is_a_bare_hash_and_works_once(
    store: StatsStore, client: Redis, raw_redis: redis.Redis
) -> None:
    """Redis holds sha256(token) -> "1" for an hour; the token redeems once, then never."""
    token = await issue_feedback_token(client, "nx:")
    key = f"nx:feedback:{hashlib.sha256(token.encode()).hexdigest()}"
    assert raw_redis.keys("nx:feedback:*") == [key]
    assert raw_redis.get(key) == "1"
    assert FEEDBACK_TOKEN_TTL_S - 5 < raw_redis.ttl(key) <= FEEDBACK_TOKEN_TTL_S
    assert len(token) >= 32
    assert not await store.redeem_feedback_token("not-" + token)
    assert await store.redeem_feedback_token(token)
    assert not await store.redeem_feedback_token(token)
    assert not await store.redeem_feedback_token("")
    assert raw_redis.keys("nx:feedback:*") == []


async def test_one_queue_sample_per_slot_whoever_takes_it(
    store: StatsStore, client: Redis, raw_redis: redis.Redis
) -> None:
    """Two instances sampling in the same 30 s slot store one point; old points are trimmed."""
    other = StatsStore(client, "nx:")
    assert await store.sample_queue(NOON + 1_000, 3, 30, 3600)
    assert not await other.sample_queue(NOON + 20_000, 9, 30, 3600)
    assert await other.sample_queue(NOON + 31_000, 4, 30, 3600)
    assert await store.queue_samples(0) == [(NOON, 3), (NOON + 30_000, 4)]
    assert await store.sample_queue(NOON + 3_700_000, 1, 30, 3600)
    assert await store.queue_samples(0) == [(NOON + 3_690_000, 1)]
    assert 0 < raw_redis.ttl("nx:stats:queue") <= 3600


async def test_staff_loads_reads_presence_and_chats(store: StatsStore, client: Redis) -> None:
    """Presence comes from the presence hash, load from the counsellor's chat set."""
    await PresenceStore(client, Keys("nx:")).set("anna", Presence.AVAILABLE, NOON)
    await client.sadd("nx:staff:anna:chats", "c1", "c2")
    loads = await store.staff_loads(["anna", "bo"])
    assert (loads["anna"].presence, loads["anna"].chats) == (Presence.AVAILABLE, 2)
    assert (loads["bo"].presence, loads["bo"].chats) == (Presence.OFFLINE, 0)
