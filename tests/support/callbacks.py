"""Test support for callback requests: the real app with the callback routes on a real port,
a clock the test moves, a signed-in staff HTTP client and Redis inspection helpers."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import redis
from aiohttp import web
from multidict import CIMultiDictProxy

from chat_server.app import create_app
from chat_server.callback_settings import TOPIC_CODES, CallbackConfig
from chat_server.config import Settings
from chat_server.domain.callbacks import CallbackSettings
from chat_server.web.callback_api import add_callback_routes
from chat_server.web.security import PrivacyAccessLogger
from tests.support.servers import RunningServer, login

STHLM = ZoneInfo("Europe/Stockholm")
TEST_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode("ascii")
# Wednesday 13 March 2030, 10:05 in Stockholm: inside the callback hours, far from any DST day.
TODAY = date(2030, 3, 13)
START = datetime.combine(TODAY, time(10, 5), tzinfo=STHLM)
WEEKDAY_HOURS = {day: (time(9), time(16)) for day in range(5)}


class FakeClock:
    """The server's wall clock in milliseconds, moved by the test (Redis TTLs stay real)."""

    def __init__(self, start: datetime = START) -> None:
        self.now_ms = int(start.timestamp() * 1000)

    def __call__(self) -> int:
        return self.now_ms

    def set(self, moment: datetime) -> None:
        self.now_ms = int(moment.timestamp() * 1000)


def at(hh: int, mm: int = 0, day: date = TODAY) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=STHLM)


def callback_config(**changes: Any) -> CallbackConfig:
    """Realistic rules (weekdays 09-16) and limits high enough not to interfere; ``changes``
    may name CallbackSettings fields or CallbackConfig fields."""
    rule_names = set(CallbackSettings.__dataclass_fields__)
    rules = CallbackSettings(
        callback_hours=WEEKDAY_HOURS,
        max_windows=3,
        topic_codes=TOPIC_CODES,
        **{k: v for k, v in changes.items() if k in rule_names},
    )
    limits = {
        "per_address_submits_per_h": 100,
        "per_address_guesses_per_h": 100,
        "service_requests_per_h": 1000,
        "service_guesses_per_h": 1000,
    }
    limits.update({k: v for k, v in changes.items() if k not in rule_names})
    return CallbackConfig(master_key=base64.urlsafe_b64decode(TEST_KEY), rules=rules, **limits)


@dataclass
class CallbackServer:
    running: RunningServer
    clock: FakeClock
    config: CallbackConfig

    @property
    def url(self) -> str:
        return self.running.url


@contextlib.asynccontextmanager
async def callback_server(
    settings: Settings, config: CallbackConfig, clock: FakeClock | None = None
) -> AsyncIterator[CallbackServer]:
    """The real app plus ``add_callback_routes`` on a real TCP port, with a movable clock."""
    clock = clock or FakeClock()
    if "callbacks" in Settings.__dataclass_fields__:  # once create_app wires callbacks itself
        settings = settings.with_overrides(callbacks=config)
    app = create_app(settings, clock_ms=clock)
    if "/api/callbacks" not in {resource.canonical for resource in app.router.resources()}:
        add_callback_routes(app, config)
    runner = web.AppRunner(app, access_log_class=PrivacyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    try:
        yield CallbackServer(RunningServer(settings, app), clock, config)
    finally:
        await runner.cleanup()


def request_body(**changes: Any) -> dict[str, Any]:
    """A valid API request for today 10:00-11:00 and 13:00-14:00 (merged with ``changes``)."""
    body: dict[str, Any] = {
        "phone": "070-123 45 67",
        "windows": [
            {"date": TODAY.isoformat(), "start": "10:00", "end": "11:00"},
            {"date": TODAY.isoformat(), "start": "13:00", "end": "14:00"},
        ],
        "voicemail_ok": False,
        "say_nexus_ok": True,
        "alias": "Blåklocka",
        "language": "sv",
        "topic": "violence_close",
        "message": "Ring helst kort.",
    }
    body.update(changes)
    return body


async def post_json(
    url: str, body: Any, *, source: str = "127.0.0.1", origin: str | None = None
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    """POST JSON from a chosen loopback source address; returns (status, body, headers)."""
    headers = {"Origin": origin} if origin else {}
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        data = body if isinstance(body, str) else json.dumps(body)
        async with http.post(url, data=data, headers=headers) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None, response.headers


async def create_request(server: CallbackServer, **changes: Any) -> dict[str, Any]:
    status, body, _ = await post_json(f"{server.url}/api/callbacks", request_body(**changes))
    assert status == 201, body
    return dict(body)


@dataclass
class StaffClient:
    """A signed-in counsellor or supervisor talking to the work-list API."""

    server: CallbackServer
    cookie: str
    csrf: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    async def get(self, path: str) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.server.url}{path}", headers=self.headers) as response,
        ):
            return response.status, await response.json(content_type=None)

    async def post(self, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        sent = {**self.headers, "X-CSRF-Token": self.csrf, **headers}
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.server.url}{path}", json=body or {}, headers=sent) as response,
        ):
            return response.status, await response.json(content_type=None)

    async def worklist(self) -> list[dict[str, Any]]:
        status, body = await self.get("/console/api/callbacks")
        assert status == 200, body
        return list(body["items"])


async def staff_client(server: CallbackServer, username: str) -> StaffClient:
    cookie = await login(server.running, username)
    assert cookie, f"login failed for {username}"
    client = StaffClient(server, cookie)
    client.headers = {"Cookie": f"__Host-nexus_session={cookie}", "Origin": server.url}
    status, me = await client.get("/console/api/callbacks/me")
    assert status == 200, me
    client.csrf = me["csrf"]
    return client


def request_keys(raw_redis: redis.Redis) -> list[str]:
    """Every callback key that belongs to a request (not the anonymous counts or limits)."""
    return sorted(
        key
        for key in raw_redis.scan_iter("nx:cb:*")
        if not key.startswith(("nx:cb:counts:", "nx:cb:limit:"))
    )


def dump_key(raw_redis: redis.Redis, key: str) -> object:
    kind = raw_redis.type(key)
    if kind == "string":
        return raw_redis.get(key)
    if kind == "hash":
        return raw_redis.hgetall(key)
    if kind == "set":
        return sorted(raw_redis.smembers(key))
    if kind == "zset":
        return raw_redis.zrange(key, 0, -1, withscores=True)
    if kind == "list":
        return raw_redis.lrange(key, 0, -1)
    if kind == "stream":
        return raw_redis.xrange(key)
    return None


def dump_everything(raw_redis: redis.Redis) -> str:
    """Every key name and value, the slow log and the client list, as one text."""
    parts = [
        f"{key} {json.dumps(dump_key(raw_redis, key), default=str, ensure_ascii=False)}"
        for key in raw_redis.scan_iter("*")
    ]
    parts.append(json.dumps(raw_redis.slowlog_get(1024), default=str, ensure_ascii=False))
    parts.append(json.dumps(raw_redis.client_list(), default=str, ensure_ascii=False))
    return "\n".join(parts)


def assert_callback_keys_have_ttls(raw_redis: redis.Redis) -> None:
    for key in raw_redis.scan_iter("nx:cb:*"):
        assert raw_redis.ttl(key) > 0, f"{key} has no TTL"


def with_rules(config: CallbackConfig, **changes: Any) -> CallbackConfig:
    return replace(config, rules=replace(config.rules, **changes))


ONE_DAY = timedelta(days=1)
