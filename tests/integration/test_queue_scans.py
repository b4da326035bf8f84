"""Cheap queue scans on a real Redis: a change reads the queue's ids and its head only, the
sweep the rest; routing reads a head window and still finds a match further down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis

from chat_server.domain.queue import queue_score
from chat_server.services import Services
from chat_server.store.chats import ChatStore
from chat_server.store.connection import connect
from chat_server.store.keys import Keys
from chat_server.store.scripts import Scripts
from chat_server.web.appkeys import SERVICES
from chat_server.web.dispatcher import Dispatcher
from chat_server.web.queue_watch import HEAD_ROWS, QueueWatch
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    open_console,
    running_server,
    write_staff,
)

LAPSED = "nx:queue:lapsed"
TOPICS = ("violence_close", "honour", "older_person")


async def eventually(check: Callable[[], bool], within_s: float = 8.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


def hmget_calls(raw_redis: redis.Redis) -> int:
    stats = raw_redis.info("commandstats")
    return int(stats.get("cmdstat_hmget", {}).get("calls", 0))


# --- the store, without a server ---------------------------------------------------------


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    connection = connect(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
def chats(client: Redis) -> ChatStore:
    return ChatStore(client, Keys(), Scripts(client), 600)


async def fill(chats: ChatStore, count: int, *, urgent_every: int = 0) -> list[str]:
    """``count`` waiting chats, one ms apart, topics in turn; returns their ids by arrival."""
    ids = []
    for i in range(count):
        urgent = bool(urgent_every) and i % urgent_every == 0
        new = await chats.create_chat(now_ms=1_000 + i, topic=TOPICS[i % 3], language="sv",
                                      urgent=urgent)  # fmt: skip
        ids.append(new.chat_id)
    return ids


async def test_a_head_snapshot_reads_only_the_head_hashes(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    """60 waiting, head 50: 50 HMGETs; every chat in serving order, the tail from its score."""
    await fill(chats, 60, urgent_every=7)
    order = raw_redis.zrange("nx:queue", 0, -1)
    before = hmget_calls(raw_redis)
    snapshot = await chats.queue_snapshot(head=HEAD_ROWS)
    assert hmget_calls(raw_redis) - before == HEAD_ROWS
    assert snapshot.waiting == 60 and snapshot.described == HEAD_ROWS
    assert [c.chat_id for c in snapshot.chats] == order
    full = await chats.queue_snapshot()
    assert full.described == 60 and [c.chat_id for c in full.chats] == order
    for head_only, read in zip(snapshot.chats, full.chats, strict=True):
        assert (head_only.enqueued_ms, head_only.urgent) == (read.enqueued_ms, read.urgent)
        assert queue_score(head_only.enqueued_ms, head_only.urgent) == raw_redis.zscore(
            "nx:queue", head_only.chat_id
        )
    assert all(c.topic for c in snapshot.chats[:HEAD_ROWS])
    assert all(c.topic == "" for c in snapshot.chats[HEAD_ROWS:])


async def test_a_lapsed_chat_behind_the_head_waits_for_the_sweep(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    """A head snapshot leaves an expired entry beyond the head; the sweep drops and notes it;
    one within the head is dropped at once."""
    ids = await fill(chats, 60)
    raw_redis.delete(f"nx:chat:{ids[55]}", f"nx:chat:{ids[3]}")
    head = await chats.queue_snapshot(head=HEAD_ROWS, drain_lapsed=True)
    assert head.lapsed == (ids[3],)
    assert head.waiting == 59 and ids[55] in {c.chat_id for c in head.chats}
    assert not raw_redis.exists(LAPSED)
    swept = await chats.queue_snapshot()
    assert swept.waiting == 58 and ids[55] not in {c.chat_id for c in swept.chats}
    assert raw_redis.smembers(LAPSED) == {ids[55]}


async def test_queued_fields_reads_waiting_chats_only(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    """The fill-in read returns the fields of waiting chats and skips a gone one."""
    ids = await fill(chats, 3)
    raw_redis.delete(f"nx:chat:{ids[1]}")
    fields = await chats.queued_fields(ids)
    assert [c.chat_id for c in fields.chats] == [ids[0], ids[2]]
    assert [c.topic for c in fields.chats] == [TOPICS[0], TOPICS[2]]
    assert set(fields.aliases) == {ids[0], ids[2]} and fields.waiting == 0


# --- the queue watch and routing in a running server ----------------------------------------

TEAM = {
    "bo": {"languages": ["sv", "ar"], "topics": ["honour"], "capacity": 2},
    "dana": {"languages": ["sv"], "topics": ["violence_close"], "capacity": 1},
}


@pytest_asyncio.fixture
async def server(redis_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    staff = tmp_path / "staff.json"
    write_staff(staff, TEAM)
    # Long intervals: every step after the first reads only the head, no chat relaxes, and
    # routing rounds run on nudges only (no tick).
    settings = make_settings(redis_url, staff, free_port(), sweep_interval_s=600,
                             relax_after_s=600, backup_after_s=3600,
                             routing_tick_s=600)  # fmt: skip
    async with running_server(settings) as running:
        yield running


def services_of(server: RunningServer) -> tuple[Services, QueueWatch, Dispatcher]:
    services = server.app[SERVICES]
    assert services.queue_watch is not None and services.dispatcher is not None
    return services, services.queue_watch, services.dispatcher


def watch_sees(watch: QueueWatch, ids: list[str]) -> Callable[[], bool]:
    return lambda: watch.latest is not None and [c.chat_id for c in watch.latest.chats] == ids


_last_ms = 0


async def create(services: Services, count: int, **start: str) -> list[str]:
    """``count`` waiting chats, each enqueued 1 ms after the one before (so the queue's order
    is the order of creation)."""
    global _last_ms
    ids = []
    for _ in range(count):
        _last_ms = max(services.clock_ms(), _last_ms + 1)
        ids.append((await services.chats.create_chat(now_ms=_last_ms, **start)).chat_id)
    return ids


async def test_the_watch_fills_in_the_tail_and_places_follow_a_take(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """After head-only steps every chat still has its topic; a take from the middle and a new
    arrival move everyone to the right place."""
    services, watch, _ = services_of(server)
    ids = []
    for topic in TOPICS:
        ids += await create(services, 20, topic=topic, language="en")
    assert await eventually(watch_sees(watch, ids))
    swept_at = watch._swept_s
    taken = ids[52]
    await services.chats.claim("bo", capacity=2, now_ms=services.clock_ms(), chat_id=taken)
    ids.remove(taken)
    ids += await create(services, 1, topic="honour", language="en")
    assert await eventually(watch_sees(watch, ids))
    assert watch._swept_s == swept_at  # no sweep: these were head-only steps
    latest = watch.latest
    assert latest is not None and latest.waiting == len(ids) == 60
    expected = [TOPICS[i // 20] for i in range(60) if i != 52] + ["honour"]
    assert [c.topic for c in latest.chats] == expected
    assert all(latest.aliases[c.chat_id] for c in latest.chats)
    assert [c.chat_id for c in latest.chats] == raw_redis.zrange("nx:queue", 0, -1)


async def test_routing_finds_a_match_beyond_the_head_window(server: RunningServer) -> None:
    """60 chats nobody on duty may take yet, then one in Arabic about honour at place 61:
    bo (who speaks Arabic, honour) is offered that one."""
    services, watch, _ = services_of(server)
    ids = await create(services, 60, topic="violence_close", language="en")
    (deep,) = await create(services, 1, topic="honour", language="ar")
    assert await eventually(watch_sees(watch, [*ids, deep]))
    bo = await open_console(server, "bo")
    offer = await bo.expect("offer")
    assert offer["chat_id"] == deep and offer["language"] == "ar"
    await bo.close()


async def test_a_round_that_fits_nobody_stops_at_its_window_until_a_fit_joins(
    server: RunningServer,
) -> None:
    """With nothing in the queue for bo, the round reads no further than its window; a fitting
    chat that joins far down is offered to bo as the queue watch sees it."""
    services, watch, dispatcher = services_of(server)
    ids = await create(services, 80, topic="older_person", language="en")
    assert await eventually(watch_sees(watch, ids))
    bo = await open_console(server, "bo")
    assert await eventually(lambda: dispatcher._unfitted is not None)
    assert [f for f in bo.seen if f["type"] == "offer"] == []
    (fits,) = await create(services, 1, topic="honour", language="sv")
    offer = await bo.expect("offer")
    assert offer["chat_id"] == fits
    await bo.close()


async def test_an_assignment_sets_off_no_second_round_here(server: RunningServer) -> None:
    """dana auto-accepts: the round that assigns her the chat hears its own claim's nudge and
    does not run again for it."""
    services, watch, dispatcher = services_of(server)
    dana = await open_console(server, "dana")
    await dana.send(type="auto_accept", enabled=True)
    await dana.expect("auto_accept")
    (chat_id,) = await create(services, 1, topic="violence_close", language="sv")
    assert (await dana.expect("chat_opened"))["chat_id"] == chat_id
    assert await eventually(lambda: dispatcher._own_nudges["claimed"] == 0)  # echo heard
    rounds = dispatcher.rounds
    # The queue watch heard the same claim (the chat left its snapshot): the nudge is past.
    assert await eventually(watch_sees(watch, []))
    assert not dispatcher._wake.is_set() and dispatcher.rounds == rounds
    await dana.close()


async def test_the_dispatcher_counts_the_echoes_it_expects(
    server: RunningServer,
) -> None:
    """Only our own echoes are swallowed: a foreign nudge still wakes the dispatcher."""
    _, _, dispatcher = services_of(server)
    dispatcher._wake.clear()
    dispatcher._on_nudge("nx:ch:queue", "claimed")
    assert dispatcher._wake.is_set()
    with dispatcher._own_nudge("claimed"):
        pass
    dispatcher._wake.clear()
    dispatcher._on_nudge("nx:ch:queue", "claimed")
    assert not dispatcher._wake.is_set() and dispatcher._own_nudges["claimed"] == 0
    dispatcher._on_nudge("nx:ch:queue", "claimed")
    assert dispatcher._wake.is_set()
