"""Health probes: /healthz says the process is alive, /readyz says it can serve chats now.

Neither response carries anything about visitors. Both answer within about a second even when
Redis is gone: /healthz does no I/O at all, and /readyz pings Redis only when the pub/sub
connection is up, with a short timeout.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from .appkeys import SERVICES

READY_PING_TIMEOUT_S = 1.0
NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: web.Request) -> web.Response:
    """Liveness: 200 while the process serves HTTP, whatever Redis does (restarting the
    process would not bring Redis back). The body reports Redis for people reading it."""
    redis_ok = request.app[SERVICES].hub.connected
    body = {"status": "ok" if redis_ok else "degraded", "redis": redis_ok}
    return web.json_response(body, headers=NO_STORE)


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 200 when this instance can serve chats (pub/sub connected and Redis answers a
    PING within READY_PING_TIMEOUT_S), else 503 with what is missing."""
    services = request.app[SERVICES]
    pubsub_ok = services.hub.connected
    redis_ok = pubsub_ok and await _answers_ping(services.redis)
    ready = pubsub_ok and redis_ok
    body = {"status": "ready" if ready else "unavailable", "redis": redis_ok, "pubsub": pubsub_ok}
    return web.json_response(body, status=200 if ready else 503, headers=NO_STORE)


async def _answers_ping(redis: Redis) -> bool:
    async def ping() -> bool:
        return bool(await redis.ping())

    try:
        return await asyncio.wait_for(ping(), READY_PING_TIMEOUT_S)
    except (RedisError, OSError, TimeoutError):
        return False


def routes() -> list[web.RouteDef]:
    """The two probe routes, for the app's route table."""
    return [web.get("/healthz", healthz), web.get("/readyz", readyz)]
