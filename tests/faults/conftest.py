"""Fixtures for the fault tests: Redis nodes from the ops files, and checks that the app is wired
for what a test needs (the probe routes, Sentinel settings) so a missing piece is named."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from chat_server.app import create_app
from chat_server.config import load_settings
from chat_server.store.connection import SentinelBackedRedis
from chat_server.web.appkeys import SERVICES
from tests.support.redis_nodes import RedisNode, make_passwords, start_data_node

WIRING_HINT = (
    "build_services must call store.connection.connect_from_settings(settings), Settings must "
    "carry redis=RedisConfig.from_env(env), and the routes must include web.health.routes()"
)


@pytest.fixture
def passwords() -> dict[str, str]:
    return make_passwords()


@pytest.fixture
def redis_node(tmp_path: Path, passwords: dict[str, str]) -> Iterator[RedisNode]:
    """A data node from ops/redis.conf on a TCP port, killed after the test."""
    node = start_data_node(tmp_path / "redis", passwords)
    yield node
    node.kill()


@pytest_asyncio.fixture
async def health_routes(tmp_path: Path) -> AsyncIterator[None]:
    """Skip (naming the missing wiring) unless the app routes /readyz."""
    settings = load_settings({"REDIS_URL": "redis://127.0.0.1:1/0",
                              "NEXUS_DATA_DIR": str(tmp_path)})  # fmt: skip
    app = create_app(settings)
    routed = {resource.canonical for resource in app.router.resources()}
    await app[SERVICES].redis.aclose()
    if "/readyz" not in routed:
        pytest.skip(f"the app has no /readyz route yet: {WIRING_HINT}")
    yield


@pytest_asyncio.fixture
async def sentinel_wiring(tmp_path: Path) -> AsyncIterator[None]:
    """Skip (naming the missing wiring) unless REDIS_SENTINELS reaches the app's client."""
    settings = load_settings({"REDIS_URL": "redis://127.0.0.1:1/0",
                              "REDIS_SENTINELS": "127.0.0.1:1",
                              "NEXUS_DATA_DIR": str(tmp_path)})  # fmt: skip
    redis = create_app(settings)[SERVICES].redis
    wired = isinstance(redis, SentinelBackedRedis)
    await redis.aclose()
    if not wired:
        pytest.skip(f"REDIS_SENTINELS does not reach the app's Redis client: {WIRING_HINT}")
    yield
