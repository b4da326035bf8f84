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
from .store.chats import ChatStore
from .store.hub import Hub
from .store.keys import Keys
from .store.presence import PresenceStore
from .store.sessions import SessionStore

if TYPE_CHECKING:
    from .web.console_session import ConsoleSession
    from .web.queue_watch import QueueWatch
    from .web.visitor_session import VisitorSession


ConsoleHandler = Callable[["ConsoleSession", dict[str, Any]], Awaitable[None]]
"""Handles one console frame type added by a feature module; raises ProtocolError to refuse."""


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
    clock_ms: Callable[[], int] = wall_clock_ms
    login_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    visitors: dict[str, VisitorSession] = field(default_factory=dict)
    consoles: set[ConsoleSession] = field(default_factory=set)
    queue_watch: QueueWatch | None = None
    console_handlers: dict[str, ConsoleHandler] = field(default_factory=dict)

    @property
    def redis_ok(self) -> bool:
        return self.hub.connected
