"""What follows every chat end, whoever ended it: counsellor idle time, handle times, counts."""

from __future__ import annotations

import contextlib
import logging

from redis.exceptions import RedisError

from ..services import Services
from ..store.chats import EndedChat

log = logging.getLogger(__name__)


async def after_chat_end(
    services: Services, ended: EndedChat, now_ms: int, reason: str, outcomes: tuple[str, ...] = ()
) -> None:
    """Never raises: the chat has ended whatever bookkeeping fails."""
    with contextlib.suppress(RedisError):
        if ended.counsellor:
            await services.presence.mark_idle(ended.counsellor, now_ms)
        if ended.answered_ms:
            await services.routing.record_handle_time((now_ms - ended.answered_ms) / 1000)
    for hook in services.end_hooks:
        try:
            await hook(ended, now_ms, reason, outcomes)
        except Exception:
            log.exception("a chat-end hook failed")
