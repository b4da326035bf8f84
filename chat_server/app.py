"""The app factory: wiring, middlewares, routes and the lifecycle of Redis and pub/sub."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from .accounts import StaffDirectory
from .config import Settings
from .services import Services
from .store.chats import ChatStore
from .store.connection import connect
from .store.hub import Hub
from .store.keys import Keys
from .store.presence import PresenceStore
from .store.scripts import Scripts
from .store.sessions import SessionStore
from .web import auth_routes, handlers, pages
from .web.appkeys import SERVICES
from .web.queue_watch import QueueWatch
from .web.security import security_headers


def build_services(settings: Settings) -> Services:
    if not settings.redis_url:
        raise ValueError("settings.redis_url is empty: start an embedded Redis or set REDIS_URL")
    redis = connect(settings.redis_url)
    keys = Keys(settings.redis_prefix)
    return Services(
        settings=settings,
        redis=redis,
        keys=keys,
        chats=ChatStore(redis, keys, Scripts(redis), settings.chat_ttl_s),
        sessions=SessionStore(
            redis, keys, idle_s=settings.session_idle_s, absolute_s=settings.session_absolute_s
        ),
        presence=PresenceStore(redis, keys),
        staff=StaffDirectory(settings.staff_file),
        hub=Hub(redis, base_channels=(keys.queue_channel,)),
        login_slots=asyncio.Semaphore(settings.login_concurrency),
    )


def _announce_health(services: Services, ok: bool) -> None:
    for visitor in list(services.visitors.values()):
        visitor.show_service(ok)
    for console in list(services.consoles):
        console.show_service(ok)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    services.hub.on_health_change = lambda ok: _announce_health(services, ok)
    await services.hub.start()
    services.queue_watch = QueueWatch(services)
    await services.queue_watch.start()
    yield
    await services.queue_watch.stop()
    for visitor in list(services.visitors.values()):
        await visitor.peer.aclose(1001, "server shutting down")
    for console in list(services.consoles):
        await console.peer.aclose(1001, "server shutting down")
    await services.hub.stop()
    await services.redis.aclose()


def create_app(settings: Settings, **service_overrides: Any) -> web.Application:
    """The whole service as one aiohttp application (several may share one Redis)."""
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    services = build_services(settings)
    for name, value in service_overrides.items():
        setattr(services, name, value)
    app[SERVICES] = services
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_routes(
        [
            web.get("/", pages.demo_page),
            web.get("/healthz", handlers.healthz),
            web.get("/ws/visitor", handlers.visitor_socket),
            web.get("/ws/console", handlers.console_socket),
            web.get("/console/", pages.console_page),
            web.get("/console/login", pages.login_page),
            web.post("/console/login", auth_routes.login),
            web.post("/console/logout", auth_routes.logout),
            web.get("/widget/{path:.+}", pages.widget_asset),
            web.static("/console/assets", pages.CONSOLE_DIR, append_version=False),
            web.static("/static", pages.STATIC_DIR),
        ]
    )
    return app
