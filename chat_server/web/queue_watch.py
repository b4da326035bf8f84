"""Pushes the queue to this instance's visitors (their position) and consoles (the list).

Any instance's change to the queue publishes a nudge; each instance then takes one snapshot
(debounced) and fans it out locally, so a thousand waiting visitors cost one script call.

A change reads only the queue's ordered ids, and the chat hashes of its head (the console's
first rows): a position needs nothing else, and a waiting chat's topic, language and alias
never change, so the rest comes from the previous snapshot (new arrivals are read once, in one
pipeline). The periodic step (at least every ``NEXUS_SWEEP_INTERVAL_S``) is the sweep: it reads
every entry, drops those whose chat lapsed or moved on anywhere in the queue and refreshes
what the previous snapshot holds (when a visitor went offline).

The snapshot also drains the chats that lapsed while waiting (the visitor closed the tab and
the chat hash expired): nobody ends those explicitly, so this is where they are counted, once
across all instances because the drain is atomic and each id is added to it once.
"""

from __future__ import annotations

import logging
import time

from ..domain import console_protocol as cp
from ..domain.estimate import estimate_wait_s, overflow
from ..domain.models import ChatState, EndReason, QueuedChat
from ..domain.queue import positions
from ..services import Services
from ..store.chats import EndedChat, QueueSnapshot
from .chat_end import after_chat_end
from .console_session import queue_frame
from .nudged_loop import NudgedLoop

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.05
HEAD_ROWS = cp.QUEUE_PAGE_SIZE  # the chats a change reads in full: the console's first rows


class QueueWatch(NudgedLoop):
    name = "queue-watch"

    def __init__(self, services: Services) -> None:
        super().__init__(services, interval_s=services.settings.sweep_interval_s,
                         debounce_s=DEBOUNCE_S)  # fmt: skip
        self.latest: QueueSnapshot | None = None
        self._swept_s = 0.0  # time.monotonic() of the last sweep

    async def step(self) -> None:
        previous = self.latest
        chats = self._services.chats
        now_s = time.monotonic()
        if previous is None or now_s - self._swept_s >= self._services.settings.sweep_interval_s:
            # A watch that has no snapshot yet (just started) knows no lapsed chat, so it
            # leaves them to the other instances' watches, which may.
            self.latest = await chats.queue_snapshot(drain_lapsed=previous is not None)
            self._swept_s = now_s
        else:
            head = await chats.queue_snapshot(drain_lapsed=True, head=HEAD_ROWS)
            self.latest = await self._filled_in(head, previous)
        try:
            self._fan_out(self.latest)
            for listener in list(self._services.queue_listeners):
                listener(self.latest)
        finally:
            # Drained ids exist nowhere else any more: count them even if the fan-out failed.
            if self.latest.lapsed:
                await self._count_lapsed(self.latest.lapsed, previous)

    async def _filled_in(self, head: QueueSnapshot, previous: QueueSnapshot) -> QueueSnapshot:
        """``head`` (a head-only snapshot) with every chat's fields: from ``previous`` where
        it knew the chat, else read now (chats that joined since). A chat that is no longer
        waiting by then keeps what its queue entry told (the next snapshot drops it)."""
        described = len(head.chats) if head.described is None else head.described
        known = {chat.chat_id: chat for chat in previous.chats}
        missing = [c.chat_id for c in head.chats[described:] if c.chat_id not in known]
        aliases = {**head.aliases}
        gone_ms = {**head.gone_ms}
        if missing:
            fresh = await self._services.chats.queued_fields(missing)
            known.update((chat.chat_id, chat) for chat in fresh.chats)
            aliases.update(fresh.aliases)
            gone_ms.update(fresh.gone_ms)
        chats = list(head.chats[:described])
        for chat in head.chats[described:]:
            full = known.get(chat.chat_id)
            if full is not None:
                # The score is the truth about the place (urgent, enqueued); the rest is fixed.
                chat = QueuedChat(chat.chat_id, chat.enqueued_ms, chat.urgent, full.topic,
                                  full.language)  # fmt: skip
                aliases.setdefault(chat.chat_id, previous.aliases.get(chat.chat_id, ""))
                if chat.chat_id in previous.gone_ms:
                    gone_ms.setdefault(chat.chat_id, previous.gone_ms[chat.chat_id])
            chats.append(chat)
        return QueueSnapshot(
            waiting=head.waiting, chats=tuple(chats), aliases=aliases, lapsed=head.lapsed,
            gone_ms=gone_ms,
        )  # fmt: skip

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
