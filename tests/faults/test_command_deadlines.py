"""Command deadlines (chat_server/store/deadlines.py) against a real redis-server that hangs
(SIGSTOP: the socket stays open, nothing answers): a read or a held-back write fails with
redis-py's TimeoutError after SOCKET_TIMEOUT_S, not before and not much later, and the client
works again as soon as Redis does."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from chat_server.redis_settings import RedisConfig
from chat_server.store.connection import SOCKET_TIMEOUT_S, connect
from chat_server.store.deadlines import SWEEP_INTERVAL_S, DeadlineConnection
from tests.support.redis_nodes import RedisNode

pytestmark = pytest.mark.slow

# The sweep cuts an overdue read at most one interval late; the rest is the test's own slack.
LATEST_S = SOCKET_TIMEOUT_S + SWEEP_INTERVAL_S + 0.75


@pytest_asyncio.fixture
async def app_redis(redis_node: RedisNode, passwords: dict[str, str]) -> AsyncIterator[Redis]:
    client = connect(redis_node.url("nexus", passwords["nexus"]))
    yield client
    await client.aclose()


@contextmanager
def frozen(node: RedisNode) -> Iterator[None]:
    assert node.process is not None
    node.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        node.process.send_signal(signal.SIGCONT)


def write_held_back(client: Redis) -> bool:
    """Whether a connection of ``client`` holds bytes its transport could not send yet."""
    return any(
        c._writer is not None and c._writer.transport.get_write_buffer_size() > 0
        for c in client.connection_pool._in_use_connections
    )


def test_every_client_the_app_builds_has_deadline_connections() -> None:
    """Plain and Sentinel clients alike (nothing connects until the first command)."""
    plain = connect("redis://127.0.0.1:1/0")
    sentinel = connect("redis://nexus:pw@ignored:1/0", RedisConfig(sentinels=(("127.0.0.1", 1),)))
    for client in (plain, sentinel):
        assert issubclass(client.connection_pool.connection_class, DeadlineConnection)


async def test_a_read_from_a_hung_redis_times_out_and_the_client_recovers(
    app_redis: Redis, redis_node: RedisNode
) -> None:
    await app_redis.set("nx:deadline:probe", "före")
    with frozen(redis_node):
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await app_redis.get("nx:deadline:probe")
        waited = time.monotonic() - started
    assert SOCKET_TIMEOUT_S - 0.05 <= waited <= LATEST_S
    # The cut connection was dropped; the next command gets a fresh one.
    assert await app_redis.get("nx:deadline:probe") == "före"


async def test_commands_in_flight_together_each_time_out(
    app_redis: Redis, redis_node: RedisNode
) -> None:
    """One sweep handles every overdue read, on separate pooled connections."""
    await asyncio.gather(*(app_redis.incr(f"nx:deadline:n{i}") for i in range(5)))  # 5 open
    with frozen(redis_node):
        started = time.monotonic()
        results = await asyncio.gather(
            *(app_redis.incr(f"nx:deadline:n{i}") for i in range(5)), return_exceptions=True
        )
        waited = time.monotonic() - started
    assert all(isinstance(r, RedisTimeoutError) for r in results), results
    assert waited <= LATEST_S
    assert await app_redis.ping()


async def test_a_write_redis_does_not_take_times_out(
    app_redis: Redis, redis_node: RedisNode
) -> None:
    """A value far larger than the socket buffers: the write is held back while Redis is
    stopped, the wait for it is bounded too, and the command does not run late."""
    big = "x" * (64 * 1024 * 1024)
    assert await app_redis.ping()  # connected first: the handshake would time out reading
    with frozen(redis_node):
        writing = asyncio.create_task(app_redis.set("nx:deadline:big", big))
        # The clock starts when the write is held back: packing and copying 64 MB before
        # it is the client's own CPU work (seconds on a busy machine), not the deadline.
        async with asyncio.timeout(60):
            while not write_held_back(app_redis):
                await asyncio.sleep(0)
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError, match="writing"):
            await writing
        waited = time.monotonic() - started
    assert SOCKET_TIMEOUT_S - 0.05 <= waited <= LATEST_S
    assert await app_redis.set("nx:deadline:small", "efter")
    # The timed-out write was cut off, not left to finish once Redis woke up.
    await asyncio.sleep(0.5)
    assert await app_redis.exists("nx:deadline:big") == 0
