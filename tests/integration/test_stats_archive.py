"""The roll-up files: the durable home of the counts, surviving a Redis that forgets."""

from __future__ import annotations

import io
import json
import stat
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis

from chat_server.stats_archive import ArchiveError, StatsArchive, StatsRollup, read_range
from chat_server.store.stats import StatsStore
from chat_server.supervisor_config import SupervisorConfig
from tests.integration.supervisor_helpers import signed_in, supervised_server
from tests.integration.test_stats_store import NOON
from tests.support.servers import free_port, make_settings

DAY = date(2024, 5, 6)


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    connection = Redis.from_url(redis_url, decode_responses=True)
    yield connection
    await connection.aclose()


@pytest.fixture
def store(client: Redis) -> StatsStore:
    return StatsStore(client, "nx:", clock_ms=lambda: NOON)


@pytest.fixture
def archive(tmp_path: Path) -> StatsArchive:
    return StatsArchive(tmp_path / "stats")


async def answered_chat(store: StatsStore, wait_s: int = 20) -> None:
    """One answered chat offered at noon on DAY."""
    await store.record_chat_end(
        enqueued_ms=NOON, answered_ms=NOON + wait_s * 1000, ended_ms=NOON + 600_000,
        topic="honour", language="sv", urgent=False, reason="counsellor_ended",
    )  # fmt: skip


async def test_a_flush_writes_the_day_atomically_and_privately(
    store: StatsStore, archive: StatsArchive
) -> None:
    """One 0600 JSON file per day in a 0700 directory, holding exactly the counters."""
    await answered_chat(store)
    await StatsRollup(store, archive, 60).flush()
    path = archive.path_for(DAY)
    body = json.loads(path.read_text())
    assert body == {
        "version": 1,
        "date": "2024-05-06",
        "counters": {
            "chats_offered": 1, "offered_by_hour:12": 1, "topic:honour": 1, "language:sv": 1,
            "chats_answered": 1, "answered_by_hour:12": 1, "wait:le_30": 1, "handle:le_600": 1,
            "outcome:unspecified": 1, "end_reason:counsellor_ended": 1,
        },
    }  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.directory.stat().st_mode) == 0o700
    assert [p.name for p in archive.directory.iterdir()] == ["2024-05-06.json"]


async def test_counts_survive_redis_forgetting_them(
    store: StatsStore, archive: StatsArchive, client: Redis, raw_redis: redis.Redis
) -> None:
    """After Redis loses the day, reads add file and Redis; the next flush folds the file in
    once, however many instances flush, and nothing is counted twice."""
    for _ in range(3):
        await answered_chat(store)
    await StatsRollup(store, archive, 60).flush()
    raw_redis.flushall()
    assert (await read_range(store, archive, [DAY]))[DAY]["chats_offered"] == 3
    await answered_chat(store, wait_s=200)
    assert (await read_range(store, archive, [DAY]))[DAY]["chats_offered"] == 4
    first, second = (
        StatsRollup(store, archive, 60),
        StatsRollup(StatsStore(client, "nx:"), archive, 60),
    )
    for rollup in (first, second, first):
        await rollup.flush()
    assert raw_redis.hget("nx:stats:day:2024-05-06", "chats_offered") == "4"
    assert raw_redis.hget("nx:stats:day:2024-05-06", "wait:le_300") == "1"
    assert archive.read(DAY)["chats_offered"] == 4
    assert (await read_range(store, archive, [DAY]))[DAY]["chats_offered"] == 4


async def test_a_file_never_loses_a_count(store: StatsStore, archive: StatsArchive) -> None:
    """If Redis somehow holds less than the file for a field, the file keeps the larger."""
    archive.write(DAY, {"chats_offered": 10, "callbacks_requested": 2})
    await store.merge_archived(DAY, {})  # marks the day merged without adding the file
    await store.record_callback("requested")
    await StatsRollup(store, archive, 60).flush()
    assert archive.read(DAY) == {"chats_offered": 10, "callbacks_requested": 2}


async def test_a_damaged_file_is_left_untouched_and_named_in_the_log(
    store: StatsStore, archive: StatsArchive, log_capture: io.StringIO
) -> None:
    """A file that is not a roll-up is never overwritten; readers leave it out."""
    archive.directory.mkdir(mode=0o700)
    archive.path_for(DAY).write_text('{"date": "2024-05-06", "counters": {"Anna": 1}}')
    await answered_chat(store)
    noticed: list[str] = []
    rollup = StatsRollup(store, archive, 60, on_failure=lambda: noticed.append("failed"))
    await rollup.flush()
    assert "Anna" in archive.path_for(DAY).read_text()
    assert rollup.failures == 1 and noticed == ["failed"]
    assert archive.read_or_empty(DAY) == {}
    assert (await read_range(store, archive, [DAY]))[DAY]["chats_offered"] == 1
    assert "2024-05-06" in log_capture.getvalue()
    assert "Anna" not in log_capture.getvalue()


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"date": "2024-05-07", "counters": {}}',
        '{"date": "2024-05-06", "counters": {"chats_offered": -1}}',
        '{"date": "2024-05-06", "counters": {"chats_offered": 1.5}}',
        '{"date": "2024-05-06", "counters": {"chats_offered": true}}',
        '{"date": "2024-05-06", "counters": {"topic:Min man": 1}}',
        '{"date": "2024-05-06", "counters": []}',
    ],
)
def test_only_roll_ups_are_read(archive: StatsArchive, body: str) -> None:
    """Wrong JSON, another day, a negative or fractional count or a free-text name refuse."""
    archive.directory.mkdir(mode=0o700)
    archive.path_for(DAY).write_text(body)
    with pytest.raises(ArchiveError):
        archive.read(DAY)


def test_only_counters_are_written(archive: StatsArchive) -> None:
    """A field that is not a counter name, or a negative count, never reaches the disk."""
    with pytest.raises(ArchiveError):
        archive.write(DAY, {"visitor_ip": 1})
    with pytest.raises(ArchiveError):
        archive.write(DAY, {"chats_offered": -2})
    assert not archive.directory.exists()


async def test_the_server_restores_at_startup_and_rolls_up_at_shutdown(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, tmp_path: Path
) -> None:
    """A server started after Redis lost today folds today's file back in; stopping it writes
    what was counted since."""
    config = SupervisorConfig(stats_flush_interval_s=3600, stats_dir=tmp_path / "rollups")
    settings = make_settings(redis_url, staff_file, free_port())
    async with supervised_server(settings, config) as server:
        today = server.supervision.stats.today()
    raw_redis.flushall()
    archive = StatsArchive(tmp_path / "rollups")
    archive.write(today, {"chats_offered": 7, "chats_abandoned": 7, "topic:honour": 7})
    async with supervised_server(settings, config) as server:
        assert raw_redis.hget(f"nx:stats:day:{today}", "chats_offered") == "7"
        await server.supervision.stats.record_callback("requested")
        query = f"start={today}&end={today}"
        async with (
            signed_in(server, "sara") as http,
            http.get(f"{server.url}/supervisor/api/stats?{query}") as response,
        ):
            total = (await response.json())["total"]
        assert (total["chats_offered"], total["topic:honour"]) == (7, 7)
    assert archive.read(today) == {
        "chats_offered": 7, "chats_abandoned": 7, "topic:honour": 7, "callbacks_requested": 1,
    }  # fmt: skip


async def test_stats_dir_defaults_to_the_data_dir(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """Without NEXUS_STATS_DIR the roll-ups live in <NEXUS_DATA_DIR>/stats."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with supervised_server(settings, SupervisorConfig()) as server:
        await server.supervision.stats.record_feedback(4, None)
        today = server.supervision.stats.today()
    assert StatsArchive(settings.data_dir / "stats").read(today) == {
        "feedback_responses": 1, "feedback:helped:4": 1,
    }  # fmt: skip
