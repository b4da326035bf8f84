"""Everything a handler needs, built once per server instance by the app factory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from .accounts import StaffDirectory
from .config import Settings
from .domain.estimate import EstimateSettings
from .domain.schedule import OpeningHours
from .domain.survey import Survey
from .store.chats import ChatStore, EndedChat, QueueSnapshot
from .store.controls import ControlStore
from .store.flood import FloodGate
from .store.hub import Hub
from .store.keys import Keys
from .store.presence import PresenceStore
from .store.routing import RoutingStore
from .store.sessions import SessionStore
from .web.metrics import ServiceMetrics

if TYPE_CHECKING:
    from .web.console_session import ConsoleSession
    from .web.dispatcher import Dispatcher
    from .web.idle_watch import IdleWatch
    from .web.queue_watch import QueueWatch
    from .web.visitor_session import VisitorSession


EndHook = Callable[["EndedChat", int, str, tuple[str, ...]], Awaitable[None]]
"""Called after every chat end with (the ended chat, now ms, reason, outcome codes)."""

ConsoleHandler = Callable[["ConsoleSession", Any], Awaitable[None]]
"""Handles one console frame type of a feature module, given the message that
``console_protocol.parse_counsellor_message`` made of it; raises ProtocolError to refuse."""


FollowHook = Callable[["ConsoleSession", str], Awaitable[None]]
ConsoleHook = Callable[["ConsoleSession"], Awaitable[None]]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Services:
    settings: Settings
    redis: Redis
    keys: Keys
    chats: ChatStore
    sessions: SessionStore
    presence: PresenceStore
    staff: StaffDirectory
    hub: Hub
    routing: RoutingStore
    controls: ControlStore
    hours: OpeningHours | None
    estimates: EstimateSettings
    clock_ms: Callable[[], int] = wall_clock_ms
    login_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    visitors: dict[str, VisitorSession] = field(default_factory=dict)
    consoles: set[ConsoleSession] = field(default_factory=set)
    queue_watch: QueueWatch | None = None
    dispatcher: Dispatcher | None = None
    idle_watch: IdleWatch | None = None
    # Called with every queue snapshot the queue watch takes (the live view reuses it
    # instead of scanning the queue again)
    queue_listeners: list[Callable[[QueueSnapshot], None]] = field(default_factory=list)
    console_handlers: dict[str, ConsoleHandler] = field(default_factory=dict)
    end_hooks: list[EndHook] = field(default_factory=list)
    # Live supervision (web/live_supervision.py): after a console follows a chat it holds,
    # and when a console closes
    follow_hooks: list[FollowHook] = field(default_factory=list)
    console_closed_hooks: list[ConsoleHook] = field(default_factory=list)
    metrics: ServiceMetrics = field(default_factory=ServiceMetrics)
    flood: FloodGate | None = None  # set by build_services
    # The post-chat survey's questions (set by the supervisor feature; None: no survey offered)
    survey: Survey | None = None

    @property
    def redis_ok(self) -> bool:
        return self.hub.connected
