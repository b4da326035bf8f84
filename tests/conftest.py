"""Shared fixtures: one real redis-server per test session, flushed before each test."""

from __future__ import annotations

import io
import logging
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis

from chat_server.store.embedded import EmbeddedRedis, find_redis_server
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    running_server,
    write_staff,
)

STAFF = {
    "anna": {"display_name": "Anna", "languages": ["sv", "en"], "capacity": 2},
    "bo": {"display_name": "Bo", "languages": ["sv", "ar"], "capacity": 2},
    "sara": {"display_name": "Sara", "role": "supervisor", "capacity": 2},
    "olle": {"display_name": "Olle", "disabled": True},
}


def pytest_report_header() -> str:
    """Which redis-server the tests start (ops/test runs the store tests on two versions)."""
    binary = find_redis_server()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return f"redis-server: {binary} ({version.stdout.strip()[:60]})"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture
def raw_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def staff_file(tmp_path: Path) -> Path:
    path = tmp_path / "staff.json"
    write_staff(path, STAFF)
    return path


@pytest.fixture
def log_capture() -> Iterator[io.StringIO]:
    """Everything the server's loggers print during the test, at every level.

    The test's own websockets client logs its frames at DEBUG; those are the client's, not
    the server's, so they are left out."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(lambda record: not record.name.startswith("websockets.client"))
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest_asyncio.fixture
async def server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    async with running_server(make_settings(redis_url, staff_file, free_port())) as running:
        yield running
