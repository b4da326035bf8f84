"""The Redis connection pool: a burst beyond its size waits for a connection, never fails
early, and gives up with a clear error only after its wait limit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from chat_server.store.connection import GatedConnectionPool

HOLD_S = 0.2  # how long each command below keeps its connection busy (BLPOP timeout)
RELEASE_KEY = "nx:test:release"  # a push here ends the BLPOP that holds the only connection


def client(redis_url: str, size: int, wait_s: float) -> tuple[Redis, GatedConnectionPool]:
    pool = GatedConnectionPool.from_url(
        redis_url, max_connections=size, timeout=wait_s, decode_responses=True
    )
    return Redis.from_pool(pool), pool


def connections(pool: GatedConnectionPool) -> int:
    return len(pool._available_connections) + len(pool._in_use_connections)


async def hold_the_only_connection(redis: Redis, pool: GatedConnectionPool) -> asyncio.Task[Any]:
    """A BLPOP that keeps the pool's one connection until release() pushes to RELEASE_KEY:
    it ends on the test's word, not after a time a slow machine may have already spent."""
    busy = asyncio.create_task(redis.blpop([RELEASE_KEY], timeout=0))
    async with asyncio.timeout(5):
        while not pool._in_use_connections:  # checked out in the task's first step
            await asyncio.sleep(0)
    return busy


async def release(redis_url: str) -> None:
    other = Redis.from_url(redis_url)
    await other.rpush(RELEASE_KEY, "1")
    await other.aclose()


async def test_a_burst_larger_than_the_pool_waits_its_turn(redis_url: str) -> None:
    """Six slow commands on two connections all succeed, in turns, on two connections."""
    redis, pool = client(redis_url, size=2, wait_s=5.0)
    started = time.monotonic()
    results = await asyncio.gather(
        *(redis.blpop(["nx:test:empty"], timeout=HOLD_S) for _ in range(6))
    )
    elapsed = time.monotonic() - started
    assert results == [None] * 6
    assert connections(pool) == 2
    assert elapsed >= 3 * HOLD_S * 0.9  # three turns of two
    await redis.aclose()


async def test_a_wait_longer_than_the_limit_is_a_clear_error(redis_url: str) -> None:
    """With the only connection busy, a second command fails after the wait limit with a
    connection error; once the first is done the pool serves again."""
    redis, pool = client(redis_url, size=1, wait_s=0.05)
    busy = await hold_the_only_connection(redis, pool)
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await redis.ping()
    await release(redis_url)
    assert list(await busy) == [RELEASE_KEY, "1"]
    assert await redis.ping() is True
    await redis.aclose()


async def test_releasing_twice_does_not_widen_the_pool(redis_url: str) -> None:
    """A connection handed back twice (redis-py refuses the second) counts once: the pool
    never exceeds its size."""
    redis, pool = client(redis_url, size=1, wait_s=0.05)
    connection = await pool.get_connection()
    await pool.release(connection)
    with pytest.raises(KeyError):
        await pool.release(connection)
    busy = await hold_the_only_connection(redis, pool)
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await redis.ping()  # it waited at the gate (an over-released gate lets it through)
    await release(redis_url)
    await busy
    assert connections(pool) == 1
    await redis.aclose()


async def test_a_release_cancelled_while_the_pool_is_busy_gives_its_slot_back_once(
    redis_url: str,
) -> None:
    """A release cancelled while it waits for the pool's lock (redis-py then finishes it in
    the background) frees one slot, not two: a burst still waits, and never meets redis-py's
    own 'Too many connections'."""
    redis, pool = client(redis_url, size=1, wait_s=0.05)
    connection = await pool.get_connection()
    async with pool._lock:  # another task is inside the pool
        releasing = asyncio.create_task(pool.release(connection))
        await asyncio.sleep(0)  # the release now waits for the lock
        releasing.cancel()  # a deadline, or a closed websocket
        with pytest.raises(asyncio.CancelledError):
            await releasing
    async with asyncio.timeout(5):
        while connection not in pool._available_connections:  # the background release ran
            await asyncio.sleep(0)
    busy = await hold_the_only_connection(redis, pool)
    with pytest.raises(RedisConnectionError, match="No connection available"):
        await redis.ping()
    await release(redis_url)
    await busy
    assert connections(pool) == 1
    await redis.aclose()
