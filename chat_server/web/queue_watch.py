"""Pushes the queue to this instance's visitors (their position) and consoles (the list).

Any instance's change to the queue publishes a nudge; each instance then takes one snapshot
(debounced) and fans it out locally, so a thousand waiting visitors cost one script call.

The snapshot also drains the chats that lapsed while waiting (the visitor closed the tab and
the chat hash expired): nobody ends those explicitly, so this is where they are counted, once
across all instances because the drain is atomic and each id is added to it once.
"""

from __future__ import annotations

import logging

from ..domain.estimate import estimate_wait_s, overflow
from ..domain.models import ChatState, EndReason
from ..domain.queue import positions
from ..services import Services
from ..store.chats import EndedChat, QueueSnapshot
from .chat_end import after_chat_end
from .console_session import queue_frame
from .nudged_loop import NudgedLoop

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.05


class QueueWatch(NudgedLoop):
    name = "queue-watch"

    def __init__(self, services: Services) -> None:
        super().__init__(services, interval_s=services.settings.sweep_interval_s,
                         debounce_s=DEBOUNCE_S)  # fmt: skip
        self.latest: QueueSnapshot | None = None

    async def step(self) -> None:
        previous = self.latest
        # A watch that has no snapshot yet (just started) knows no lapsed chat, so it leaves
        # them to the other instances' watches, which may.
        self.latest = await self._services.chats.queue_snapshot(drain_lapsed=previous is not None)
        try:
            self._fan_out(self.latest)
            for listener in list(self._services.queue_listeners):
                listener(self.latest)
        finally:
            # Drained ids exist nowhere else any more: count them even if the fan-out failed.
            if self.latest.lapsed:
                await self._count_lapsed(self.latest.lapsed, previous)

    async def _count_lapsed(self, lapsed: tuple[str, ...], previous: QueueSnapshot | None) -> None:
        """End every lapsed chat this watch saw waiting in ``previous`` (the chat hash is gone,
        so that snapshot is all that is left of it): the end hooks count it as offered,
        abandoned, reason ``expired``. Never raises."""
        known = {chat.chat_id: chat for chat in previous.chats} if previous else {}
        now_ms = self._services.clock_ms()
        unknown = 0
        for chat_id in lapsed:
            chat = known.get(chat_id)
            if chat is None:
                unknown += 1
                continue
            ended = EndedChat(
                chat_id=chat_id, state=ChatState.WAITING.value, counsellor="",
                enqueued_ms=chat.enqueued_ms, answered_ms=0, topic=chat.topic,
                language=chat.language, urgent=chat.urgent,
            )  # fmt: skip
            # The wait ends when the visitor's connection went, not when the chat expired.
            left_ms = previous.gone_ms.get(chat_id, now_ms) if previous else now_ms
            await after_chat_end(self._services, ended, left_ms, EndReason.EXPIRED.value)
        if unknown:
            # A count only: nothing that identifies a visitor's chat goes to a log.
            log.debug("%d lapsed chats were not in the last queue snapshot; not counted", unknown)

    def _fan_out(self, snapshot: QueueSnapshot) -> None:
        s = self._services
        where = positions([c.chat_id for c in snapshot.chats])
        capacity = s.dispatcher.on_duty_capacity if s.dispatcher else 0
        handle_s = s.dispatcher.recent_handle_s if s.dispatcher else ()
        for chat_id, visitor in list(s.visitors.items()):
            if chat_id in where:
                estimate = estimate_wait_s(where[chat_id], capacity, handle_s, s.estimates)
                visitor.show_position(
                    where[chat_id], snapshot.waiting, estimate,
                    overflow(estimate, snapshot.waiting, s.estimates),
                )  # fmt: skip
        if s.consoles:
            frame = queue_frame(snapshot, s.clock_ms())
            for console in list(s.consoles):
                console.show_queue(frame)
