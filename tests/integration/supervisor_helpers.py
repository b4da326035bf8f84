"""Test support for the supervisor view and statistics: the real app with the feature wired.

Until the lead wires ``add_supervisor_routes`` into ``create_app``, the helper adds it itself;
once wired, it uses the app's own wiring and only checks the config it was given is in force.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiohttp
import redis
from aiohttp import web

from chat_server.app import create_app
from chat_server.config import Settings
from chat_server.supervisor_config import SupervisorConfig
from chat_server.web.live_view import CallbackCounts
from chat_server.web.security import PrivacyAccessLogger
from chat_server.web.supervision import SUPERVISION, Supervision
from chat_server.web.supervisor import add_supervisor_routes
from tests.support.servers import TEST_PASSWORD, RunningServer

FAST_CONFIG = SupervisorConfig(queue_sample_interval_s=1.0, stats_flush_interval_s=3600.0)


@dataclass
class SupervisedServer(RunningServer):
    supervision: Supervision


def is_wired(app: web.Application) -> bool:
    """Whether create_app already added the supervisor feature itself."""
    return SUPERVISION in app


@contextlib.asynccontextmanager
async def supervised_server(
    settings: Settings,
    config: SupervisorConfig = FAST_CONFIG,
    callback_counts: CallbackCounts | None = None,
) -> AsyncIterator[SupervisedServer]:
    """The real app with the supervisor feature, on settings.port, with the privacy logger."""
    if "supervisor" in {f.name for f in dataclasses.fields(settings)}:
        settings = settings.with_overrides(supervisor=config)
    app = create_app(settings)
    if not is_wired(app):
        add_supervisor_routes(app, config, callback_counts=callback_counts)
    runner = web.AppRunner(app, access_log_class=PrivacyAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.port)
    await site.start()
    try:
        yield SupervisedServer(settings, app, app[SUPERVISION])
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def signed_in(server: RunningServer, username: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client signed in as ``username`` (the Secure cookie is sent by hand)."""
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/console/login",
            data={"username": username, "password": TEST_PASSWORD},
            headers={"Origin": server.url},
            allow_redirects=False,
        ) as response:
            cookie = response.cookies.get("__Host-nexus_session")
        assert cookie is not None, f"login failed for {username}"
        http.headers["Cookie"] = f"__Host-nexus_session={cookie.value}"
        yield http


async def csrf_token(server: SupervisedServer, http: aiohttp.ClientSession) -> str:
    """The CSRF token of ``http``'s session, as the live page learns it from the hello frame."""
    async with http.ws_connect(
        f"{server.ws_url}/ws/supervisor", headers={"Origin": server.url}
    ) as ws:
        hello: dict[str, Any] = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello"
    return str(hello["csrf"])


def day_counters(raw_redis: redis.Redis, day: date | str) -> dict[str, int]:
    """The counters of a day's hash in Redis (without the roll-up's ``_merged`` marker)."""
    raw = raw_redis.hgetall(f"nx:stats:day:{day}")
    return {str(name): int(count) for name, count in raw.items() if not str(name).startswith("_")}
