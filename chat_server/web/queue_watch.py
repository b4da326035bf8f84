"""Pushes the queue to this instance's visitors (their position) and consoles (the list).

Any instance's change to the queue publishes a nudge; each instance then takes one snapshot
(debounced) and fans it out locally, so a thousand waiting visitors cost one script call.
"""

from __future__ import annotations

import logging

from ..domain.estimate import estimate_wait_s, overflow
from ..domain.queue import positions
from ..services import Services
from ..store.chats import QueueSnapshot
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
        self.latest = await self._services.chats.queue_snapshot()
        self._fan_out(self.latest)

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
