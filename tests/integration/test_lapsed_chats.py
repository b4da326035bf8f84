"""Chats that lapse while waiting (the visitor closed the tab) are counted once, on any number
of instances: the queue scripts note them, the queue watch drains and counts them."""

from __future__ import annotations

import asyncio
import io
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis

from chat_server.config import Settings
from chat_server.domain.models import Sender
from chat_server.domain.protocol import ProtocolError
from chat_server.domain.stats import (
    CHATS_ABANDONED,
    CHATS_ABANDONED_SHORT,
    CHATS_OFFERED,
    END_REASON,
    SHORT_ABANDON_S,
    counter_field,
)
from chat_server.store.chats import ChatStore
from chat_server.store.connection import connect
from chat_server.store.keys import Keys
from chat_server.store.routing import RoutingStore
from chat_server.store.scripts import Scripts
from chat_server.web.appkeys import SERVICES
from chat_server.web.queue_watch import QueueWatch
from chat_server.web.supervision import SUPERVISION
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    open_visitor,
    running_server,
    start_visitor,
)

LAPSED = "nx:queue:lapsed"
EXPIRED = counter_field(END_REASON, "expired")
VISITOR_ENDED = counter_field(END_REASON, "visitor_ended")
# Time for a 1 s grace period to run out and a 0.2 s sweep (or a 1 s routing tick) to notice.
COUNTED_WITHIN_S = 8.0
# After the count: long enough for several more sweeps and routing rounds to count again.
SETTLE_S = 1.5


def fast_settings(redis_url: str, staff_file: Path, **overrides: float) -> Settings:
    return make_settings(
        redis_url, staff_file, free_port(),
        **{"visitor_gone_ttl_s": 1, "sweep_interval_s": 0.2, **overrides},
    )  # fmt: skip


async def counters(*servers: RunningServer) -> Counter[str]:
    """Today's (and, around midnight, yesterday's) chat counters, as the first server reads
    them; the other servers share its Redis."""
    stats = servers[0].app[SUPERVISION].stats
    now_ms = int(time.time() * 1000)
    days = {stats.today(now_ms - 60_000), stats.today(now_ms)}
    total: Counter[str] = Counter()
    for day in (await stats.read_days(days)).values():
        total.update(day.counters)
    return total


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()


async def offered(servers: tuple[RunningServer, ...], count: int) -> bool:
    return (await counters(*servers))[CHATS_OFFERED] >= count


def waiting_id(raw_redis: redis.Redis) -> str:
    (chat_id,) = raw_redis.zrange("nx:queue", 0, -1)
    return str(chat_id)


async def known_to_every_watch(chat_id: str, *servers: RunningServer) -> bool:
    for server in servers:
        watch = server.app[SERVICES].queue_watch
        if watch is None or watch.latest is None:
            return False
        if chat_id not in {chat.chat_id for chat in watch.latest.chats}:
            return False
    return True


# --- the scripts, on a real Redis without a server ---------------------------------------


@pytest_asyncio.fixture
async def client(redis_url: str) -> AsyncIterator[Redis]:
    connection = connect(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
def chats(client: Redis) -> ChatStore:
    return ChatStore(client, Keys(), Scripts(client), 600)


async def lapse(chats: ChatStore, raw_redis: redis.Redis) -> str:
    """A waiting chat whose hash then expired (deleted here, as expiry would)."""
    chat_id = (await chats.create_chat(now_ms=1000)).chat_id
    raw_redis.delete(f"nx:chat:{chat_id}")
    return chat_id


async def test_a_lapsed_chat_is_kept_with_a_ttl_until_a_drain_takes_it(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    """A plain snapshot notes a lapsed chat (with a TTL) and leaves it; a drain takes it once."""
    chat_id = await lapse(chats, raw_redis)
    plain = await chats.queue_snapshot()
    assert plain.waiting == 0 and plain.lapsed == ()
    assert raw_redis.smembers(LAPSED) == {chat_id} and 0 < raw_redis.ttl(LAPSED) <= 3600
    assert (await chats.queue_snapshot()).lapsed == ()
    assert raw_redis.smembers(LAPSED) == {chat_id}
    drained = await chats.queue_snapshot(drain_lapsed=True)
    assert drained.lapsed == (chat_id,)
    assert not raw_redis.exists(LAPSED)
    assert (await chats.queue_snapshot(drain_lapsed=True)).lapsed == ()


async def test_routing_rounds_and_claims_note_lapsed_chats_too(
    chats: ChatStore, client: Redis, raw_redis: redis.Redis
) -> None:
    """Whichever script drops the expired queue entry (routing, a named or a next claim) notes it."""
    routed, named, passed_over = [await lapse(chats, raw_redis) for _ in range(3)]
    await RoutingStore(client, Keys(), Scripts(client), 600).snapshot()
    assert raw_redis.smembers(LAPSED) == {routed, named, passed_over}  # the round saw all three
    raw_redis.delete(LAPSED)
    for chat_id in (named, passed_over):
        raw_redis.zadd("nx:queue", {chat_id: 1})  # back in the queue, hash still gone
    with pytest.raises(ProtocolError):
        await chats.claim("anna", capacity=2, now_ms=2000, chat_id=named)
    assert raw_redis.smembers(LAPSED) == {named} and raw_redis.ttl(LAPSED) > 0
    live = (await chats.create_chat(now_ms=3000)).chat_id
    assert await chats.claim("anna", capacity=2, now_ms=4000) == live
    assert raw_redis.smembers(LAPSED) == {named, passed_over} and raw_redis.ttl(LAPSED) > 0


async def test_an_ended_or_non_waiting_chat_is_not_lapsed(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    """A chat ended explicitly, or one in another state, leaves the queue without being noted."""
    ended = (await chats.create_chat(now_ms=1000)).chat_id
    await chats.end(ended, by=Sender.VISITOR, reason="visitor_ended", now_ms=2000)
    with pytest.raises(ProtocolError):
        await chats.claim("anna", capacity=2, now_ms=3000, chat_id=ended)
    other = (await chats.create_chat(now_ms=1000)).chat_id
    raw_redis.hset(f"nx:chat:{other}", "state", "active")
    snapshot = await chats.queue_snapshot(drain_lapsed=True)
    assert snapshot.waiting == 0 and snapshot.lapsed == ()
    assert raw_redis.zcard("nx:queue") == 0 and not raw_redis.exists(LAPSED)


# --- the queue watch and the statistics, on real servers ----------------------------------


async def test_a_visitor_who_leaves_while_waiting_counts_once_as_abandoned(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """Closing the tab while waiting: offered +1, abandoned +1, reason expired, exactly once."""
    async with running_server(fast_settings(redis_url, staff_file)) as server:
        visitor, _ = await start_visitor(server, language="sv")
        chat_id = waiting_id(raw_redis)
        assert await eventually(lambda: known_to_every_watch(chat_id, server), 5)
        await visitor.close()
        assert await eventually(lambda: offered((server,), 1), COUNTED_WITHIN_S)
        await asyncio.sleep(SETTLE_S)
        counted = await counters(server)
    assert counted[CHATS_OFFERED] == 1 and counted[CHATS_ABANDONED] == 1
    assert counted[EXPIRED] == 1
    assert raw_redis.zcard("nx:queue") == 0 and not raw_redis.exists(LAPSED)


async def test_two_instances_count_a_lapsed_chat_exactly_once(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """Both instances saw the waiting chat; after it lapses, the day holds it once."""
    async with (
        running_server(fast_settings(redis_url, staff_file)) as a,
        running_server(fast_settings(redis_url, staff_file)) as b,
    ):
        visitor, _ = await start_visitor(a)
        chat_id = waiting_id(raw_redis)
        assert await eventually(lambda: known_to_every_watch(chat_id, a, b), 5)
        await visitor.close()
        assert await eventually(lambda: offered((a, b), 1), COUNTED_WITHIN_S)
        await asyncio.sleep(SETTLE_S)
        counted = await counters(a, b)
    assert counted[CHATS_OFFERED] == 1 and counted[CHATS_ABANDONED] == 1
    assert counted[EXPIRED] == 1
    assert not raw_redis.exists(LAPSED)


async def test_a_visitor_who_ends_while_waiting_counts_once(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """An explicit end counts as visitor_ended, and the expiry that follows adds nothing."""
    async with running_server(fast_settings(redis_url, staff_file)) as server:
        visitor, _ = await start_visitor(server)
        chat_id = waiting_id(raw_redis)
        assert await eventually(lambda: known_to_every_watch(chat_id, server), 5)
        await visitor.send(type="end")
        await visitor.expect("ended")
        await visitor.close()
        assert await eventually(lambda: offered((server,), 1), COUNTED_WITHIN_S)
        await asyncio.sleep(SETTLE_S + 1)  # past the 1 s grace period as well
        counted = await counters(server)
    assert counted[CHATS_OFFERED] == 1 and counted[VISITOR_ENDED] == 1
    assert counted[EXPIRED] == 0
    assert not raw_redis.exists(LAPSED)


async def test_the_live_view_and_a_new_watch_leave_lapsed_chats_to_a_watch_that_knows(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    """The supervisor picture never drains; a watch drains only from its second step, and
    skips an id it never saw with a log line that names no chat."""
    # A long sweep: the server's own watch stays idle, nothing nudges the queue here.
    async with running_server(fast_settings(redis_url, staff_file, sweep_interval_s=60)) as server:
        stranger = "0123456789abcdef0123456789abcdef"
        raw_redis.sadd(LAPSED, stranger)
        raw_redis.expire(LAPSED, 60)
        await server.app[SUPERVISION].monitor.picture(int(time.time() * 1000))
        assert raw_redis.smembers(LAPSED) == {stranger}
        watch = QueueWatch(server.app[SERVICES])
        await watch.step()
        assert raw_redis.smembers(LAPSED) == {stranger}  # no snapshot before: it knows nothing
        await watch.step()
        assert not raw_redis.exists(LAPSED)
        assert (await counters(server))[CHATS_OFFERED] == 0
    printed = log_capture.getvalue()
    assert "1 lapsed chats were not in the last queue snapshot" in printed
    assert stranger not in printed


async def test_the_wait_of_a_lapsed_chat_ends_when_the_visitor_left(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """A visitor who leaves at once counts as a short abandon, although the chat expires
    only after a grace period longer than the short-abandon limit."""
    grace_s = SHORT_ABANDON_S + 1
    async with running_server(
        fast_settings(redis_url, staff_file, visitor_gone_ttl_s=grace_s)
    ) as server:
        visitor, _ = await start_visitor(server)
        chat_id = waiting_id(raw_redis)
        assert await eventually(lambda: known_to_every_watch(chat_id, server), 5)
        await visitor.close()
        assert await eventually(lambda: offered((server,), 1), grace_s + COUNTED_WITHIN_S)
        counted = await counters(server)
    assert counted[CHATS_ABANDONED] == 1 and counted[CHATS_ABANDONED_SHORT] == 1


async def test_a_resume_forgets_when_the_visitor_left(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """The moment the connection went is kept on the chat while the visitor is away and
    cleared when they come back."""
    async with running_server(
        fast_settings(redis_url, staff_file, visitor_gone_ttl_s=30)
    ) as server:
        visitor, welcome = await start_visitor(server)
        chat_id = waiting_id(raw_redis)
        await visitor.close()
        assert await eventually(
            lambda: _true(raw_redis.hexists(f"nx:chat:{chat_id}", "gone_ms")), 5
        )
        back = await open_visitor(server)
        await back.send(type="resume", token=welcome["token"], last_seq=0)
        await back.expect("welcome", resumed=True)
        assert not raw_redis.hexists(f"nx:chat:{chat_id}", "gone_ms")
        await back.close()


async def _true(value: object) -> bool:
    return bool(value)
