"""The pub/sub hub against a real redis-server that dies, hangs, drops the connection or is not
there yet: it reports the loss, never spins, and heals itself with a resync."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from chat_server.store.connection import connect
from chat_server.store.hub import PROBE_INTERVAL_S, PROBE_TICK_S, PROBE_TIMEOUT_S, Hub
from tests.support.redis_nodes import INSPECTOR, RedisNode

pytestmark = pytest.mark.slow

QUEUE_CHANNEL = "nx:ch:queue"
CHAT_CHANNEL = "nx:ch:chat:hub-test"


class Watcher:
    """Records what the hub tells its users: health changes, resyncs, nudges."""

    def __init__(self, hub: Hub) -> None:
        self.health: list[bool] = []
        self.resyncs = 0
        self.nudges: list[str] = []
        hub.on_health_change = self.health.append
        hub.add_resync_hook(self._resync)

    def _resync(self) -> None:
        self.resyncs += 1

    def nudge(self, _channel: str, data: str) -> None:
        self.nudges.append(data)


async def eventually(condition: object, timeout_s: float, what: str) -> float:
    """Seconds until ``condition()`` held; AssertionError after ``timeout_s``."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"no {what} within {timeout_s}s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest_asyncio.fixture
async def app_redis(redis_node: RedisNode, passwords: dict[str, str]) -> AsyncIterator[Redis]:
    client = connect(redis_node.url("nexus", passwords["nexus"]))
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def hub(app_redis: Redis) -> AsyncIterator[Hub]:
    started = Hub(app_redis, base_channels=(QUEUE_CHANNEL,))
    yield started
    await started.stop()


async def test_a_hung_redis_is_noticed_by_the_probe_and_healed(
    hub: Hub, app_redis: Redis, redis_node: RedisNode
) -> None:
    """A Redis that stops answering (SIGSTOP: the socket stays open) is reported lost within
    a probe interval and timeout; after SIGCONT the hub resubscribes and resyncs."""
    watcher = Watcher(hub)
    await hub.start()
    await hub.subscribe(CHAT_CHANNEL, watcher.nudge)
    assert redis_node.process is not None
    redis_node.process.send_signal(signal.SIGSTOP)
    try:
        limit = PROBE_INTERVAL_S + PROBE_TIMEOUT_S + 2 * PROBE_TICK_S + 0.5
        await eventually(lambda: watcher.health == [True, False], limit, "loss report")
    finally:
        redis_node.process.send_signal(signal.SIGCONT)
    await eventually(lambda: watcher.health == [True, False, True] and watcher.resyncs == 1, 5,
                     "recovery")  # fmt: skip
    await app_redis.publish(CHAT_CHANNEL, "efter")
    await eventually(lambda: watcher.nudges == ["efter"], 2, "nudge after recovery")


async def test_a_dropped_connection_is_never_healed_silently(
    hub: Hub, app_redis: Redis, redis_node: RedisNode, passwords: dict[str, str]
) -> None:
    """When Redis closes the pub/sub connection but stays up (CLIENT KILL), redis-py would
    reconnect and resubscribe quietly; the hub notices and resyncs, since nudges were missed."""
    watcher = Watcher(hub)
    await hub.start()
    await hub.subscribe(CHAT_CHANNEL, watcher.nudge)
    inspector = redis_node.client(INSPECTOR, passwords[INSPECTOR])
    assert inspector.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1
    inspector.close()
    await eventually(lambda: watcher.resyncs == 1, 3, "resync after the dropped connection")
    assert watcher.health == [True, False, True]
    await app_redis.publish(CHAT_CHANNEL, "efter")
    await eventually(lambda: watcher.nudges == ["efter"], 2, "nudge after the resync")


async def test_the_hub_starts_without_redis_and_connects_when_it_appears(
    hub: Hub, app_redis: Redis, redis_node: RedisNode
) -> None:
    """Starting while Redis is down does not fail the server: the hub starts disconnected,
    keeps trying about once a second, and connects once Redis is there."""
    redis_node.kill()
    watcher = Watcher(hub)
    await hub.start()
    assert hub.connected is False
    await hub.subscribe(CHAT_CHANNEL, watcher.nudge)  # remembered for later
    await asyncio.sleep(1.5)
    redis_node.start()
    waited = await eventually(lambda: hub.connected, 3, "connection")
    assert waited < 1.5  # reconnect attempts are at most a second apart
    assert watcher.health == [True] and watcher.resyncs == 1
    await app_redis.publish(CHAT_CHANNEL, "hej")
    await eventually(lambda: watcher.nudges == ["hej"], 2, "nudge")
