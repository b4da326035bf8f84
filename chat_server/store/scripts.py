"""Loads the Lua scripts once; redis-py reloads them by itself after a NOSCRIPT (Redis restart)."""

from __future__ import annotations

from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

SCRIPT_NAMES = (
    "post_event",
    "claim_chat",
    "end_chat",
    "queue_snapshot",
    "touch_chat",
    "offer_chat",
    "withdraw_offer",
    "transfer_chat",
    "routing_snapshot",
    "mark_not_alone",
)


class Scripts:
    def __init__(self, redis: Redis) -> None:
        lua = resources.files("chat_server.store") / "lua"
        loaded = {
            name: redis.register_script((lua / f"{name}.lua").read_text("utf-8"))
            for name in SCRIPT_NAMES
        }
        self.post_event: AsyncScript = loaded["post_event"]
        self.claim_chat: AsyncScript = loaded["claim_chat"]
        self.end_chat: AsyncScript = loaded["end_chat"]
        self.queue_snapshot: AsyncScript = loaded["queue_snapshot"]
        self.touch_chat: AsyncScript = loaded["touch_chat"]
        self.offer_chat: AsyncScript = loaded["offer_chat"]
        self.withdraw_offer: AsyncScript = loaded["withdraw_offer"]
        self.transfer_chat: AsyncScript = loaded["transfer_chat"]
        self.routing_snapshot: AsyncScript = loaded["routing_snapshot"]
        self.mark_not_alone: AsyncScript = loaded["mark_not_alone"]
