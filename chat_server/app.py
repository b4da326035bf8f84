"""The app factory: wiring, middlewares, routes and the lifecycle of Redis and pub/sub."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from . import logsafety
from .accounts import StaffDirectory
from .config import Settings
from .domain.availability import build_opening_hours
from .domain.estimate import EstimateSettings
from .services import Services
from .store.chats import ChatStore
from .store.connection import connect_from_settings
from .store.controls import ControlStore
from .store.flood import FloodGate, challenge_key
from .store.hub import Hub
from .store.keys import Keys
from .store.presence import PresenceStore
from .store.routing import RoutingStore
from .store.scripts import Scripts
from .store.sealing import ChatSeals, MessageKeyring
from .store.sessions import SessionStore
from .web import auth_routes, handlers, health, legal, meeting_pages, pages, status_api
from .web.appkeys import SERVICES
from .web.audit_routes import add_audit_routes
from .web.callback_api import CALLBACKS, add_callback_routes
from .web.callback_worklist import work_counts
from .web.console_features import add_console_routes
from .web.dispatcher import Dispatcher
from .web.idle_watch import IdleWatch
from .web.live_supervision import add_live_supervision
from .web.queue_watch import QueueWatch
from .web.security import error_barrier, security_headers
from .web.supervisor import add_supervisor_routes
from .web.warm_transfer import add_warm_transfer

log = logging.getLogger(__name__)


def message_keyring(settings: Settings) -> MessageKeyring:
    """The configured keyring, or a random key for this process alone (``serve`` refuses to
    start that way with a shared Redis: another instance could not read its chats)."""
    if settings.message_keys is not None:
        return settings.message_keys
    log.warning("no NEXUS_MESSAGE_KEY: chat text is sealed with a key of this process alone")
    return MessageKeyring.random()


def build_services(settings: Settings) -> Services:
    if not settings.redis_url:
        raise ValueError("settings.redis_url is empty: start an embedded Redis or set REDIS_URL")
    redis = connect_from_settings(settings)
    keys = Keys(settings.redis_prefix)
    scripts = Scripts(redis)
    keyring = message_keyring(settings)
    services = Services(
        settings=settings,
        redis=redis,
        keys=keys,
        chats=ChatStore(
            redis,
            keys,
            scripts,
            settings.chat_ttl_s,
            wait=settings.redis.wait,
            seals=ChatSeals(redis, keys, keyring),
        ),
        routing=RoutingStore(redis, keys, scripts, settings.chat_ttl_s),
        controls=ControlStore(redis, settings.redis_prefix),
        hours=build_opening_hours(
            settings.opening_hours,
            settings.closed_dates,
            settings.intake_close_before_min,
            settings.observe_public_holidays,
        ),
        estimates=EstimateSettings(
            default_handle_time_s=settings.default_handle_time_s,
            overflow_wait_s=settings.overflow_wait_s,
            overflow_queue_length=settings.overflow_queue_length,
        ),
        sessions=SessionStore(
            redis, keys, idle_s=settings.session_idle_s, absolute_s=settings.session_absolute_s
        ),
        presence=PresenceStore(redis, keys),
        staff=StaffDirectory(settings.staff_file),
        hub=Hub(redis, base_channels=(keys.queue_channel,)),
        login_slots=asyncio.Semaphore(settings.login_concurrency),
    )
    services.flood = FloodGate(
        redis, settings.redis_prefix, settings.flood, challenge_key(keyring.current),
        lambda: services.clock_ms(),  # a test may set another clock after this
        on_challenge=services.metrics.flood_challenge,
    )  # fmt: skip
    return services


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
    services.dispatcher = Dispatcher(services)
    await services.dispatcher.start()
    services.idle_watch = IdleWatch(services)
    await services.idle_watch.start()
    yield
    await services.idle_watch.stop()
    await services.dispatcher.stop()
    await services.queue_watch.stop()
    await services.hub.stop()
    await services.redis.aclose()


async def _close_sockets(app: web.Application) -> None:
    """On shutdown, before aiohttp waits for handlers: tell every client to reconnect now
    (close 1001), so they resume on another instance instead of waiting for a timeout."""
    services = app[SERVICES]
    for visitor in list(services.visitors.values()):
        await visitor.peer.aclose(1001, "server shutting down")
    for console in list(services.consoles):
        await console.peer.aclose(1001, "server shutting down")


def create_app(settings: Settings, **service_overrides: Any) -> web.Application:
    """The whole service as one aiohttp application (several may share one Redis)."""
    logsafety.install()
    app = web.Application(middlewares=[security_headers, error_barrier], client_max_size=64 * 1024)
    services = build_services(settings)
    for name, value in service_overrides.items():
        setattr(services, name, value)
    app[SERVICES] = services
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_close_sockets)
    add_audit_routes(app, settings)
    add_console_routes(app, settings=settings.console)
    add_warm_transfer(app)
    add_live_supervision(app)
    callback_counts = None
    if settings.callbacks is not None:
        add_callback_routes(app, settings.callbacks)

        async def callback_counts() -> dict[str, int]:
            return await work_counts(app[CALLBACKS])

    add_supervisor_routes(
        app, settings.supervisor, metrics=services.metrics, callback_counts=callback_counts
    )
    app.router.add_routes(
        [
            web.get("/", pages.demo_page),
            *health.routes(),
            *legal.routes(),
            *meeting_pages.routes(),
            web.get("/api/status", status_api.service_status),
            web.options("/api/status", status_api.preflight),
            web.get("/ws/visitor", handlers.visitor_socket),
            web.get("/ws/console", handlers.console_socket),
            web.get("/console/", pages.console_page),
            web.get("/console/login", pages.login_page),
            web.post("/console/login", auth_routes.login),
            web.post("/console/logout", auth_routes.logout),
            web.get("/widget/{path:.+}", pages.widget_asset),
            pages.static_files("/console/assets", pages.CONSOLE_DIR),
            pages.static_files("/design", pages.DESIGN_DIR),
            pages.static_files("/static", pages.STATIC_DIR),
        ]
    )
    return app
