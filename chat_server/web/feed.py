"""Follows one chat for one connection: pub/sub nudges in, ordered frames out, no duplicates."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.exceptions import RedisError

from ..domain.delivery import Arrival, classify, fill_gap
from ..domain.models import ChatEvent
from ..domain.protocol import SERVICE_UNAVAILABLE, CloseCode, ProtocolError, error_frame
from ..store.chats import ChatStore
from ..store.hub import Hub
from ..store.sealing import UnreadableChat
from .peer import Peer

log = logging.getLogger(__name__)

Render = Callable[[str, ChatEvent], str | None]
"""Turns (chat id, event) into a frame for this connection, or None to skip it."""


class _LastDecoded:
    """The hub hands the same payload string to every follower of a chat on this instance
    (the visitor's feed and the counsellor's, more with a supervisor watching): decode it
    once. Events are frozen, so followers can share one."""

    def __init__(self) -> None:
        self._data: str | None = None
        self._event: ChatEvent | None = None

    def event(
        self, data: str, opened: Callable[[dict[str, Any]], ChatEvent | None]
    ) -> ChatEvent | None:
        """The event in ``data`` as ``opened`` makes it of the decoded payload, text opened
        (None: it cannot be opened without I/O); raises ValueError, KeyError or TypeError
        when malformed, and UnreadableChat."""
        if data is not self._data or self._event is None:
            self._data, self._event = None, None
            payload = json.loads(data)
            if not isinstance(payload, dict):
                raise TypeError("a chat nudge is a JSON object")
            self._event = opened(payload)
            if self._event is None:
                return None
            self._data = data
        return self._event


_decoded = _LastDecoded()


class ChatFeed:
    """Delivers one chat's events to one connection in seq order, each once.

    An event that follows the last one delivered is rendered at once, in the pub/sub
    callback. Anything else (a gap, a replay, a resync) becomes a deferred step in the
    connection's outbox that reads the stored history when the writer reaches it; while such
    a step is queued, later events queue behind it as deferred steps too, so the order holds.
    """

    def __init__(
        self,
        chat_id: str,
        channel: str,
        *,
        peer: Peer,
        store: ChatStore,
        hub: Hub,
        render: Render,
        last_seq: int = 0,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self.chat_id = chat_id
        self.channel = channel
        self.last_seq = last_seq
        self._peer = peer
        self._store = store
        self._hub = hub
        self._render = render
        self.ended = False
        self._on_end = on_end
        self._deferred = 0  # deferred steps of this feed queued in the outbox, not yet run
        self._opened = functools.partial(store.live_event, chat_id)

    async def start(self, *, replay: bool = True) -> None:
        """Subscribe first, then replay history, so nothing falls between the two."""
        await self._hub.subscribe(self.channel, self._on_nudge)
        self._hub.add_resync_hook(self.resync)
        if replay:
            self._defer(self._catch_up)

    async def stop(self) -> None:
        self._hub.remove_resync_hook(self.resync)
        await self._hub.unsubscribe(self.channel, self._on_nudge)

    def resync(self) -> None:
        if not self.ended:
            self._defer(self._catch_up)

    def _defer(self, step: Callable[[], Awaitable[list[str]]]) -> None:
        self._deferred += 1

        async def counted() -> list[str]:
            try:
                return await step()
            finally:
                self._deferred -= 1

        self._peer.send(counted)

    def _frames(self, events: Iterable[ChatEvent]) -> list[str]:
        frames = []
        for event in events:
            if event.kind == "ended":
                self.ended = True
                self._store.seals.forget(self.chat_id)
            frame = self._render(self.chat_id, event)
            if frame is not None:
                frames.append(frame)
        return frames

    def _notify_end(self) -> None:
        """Once the 'ended' event is queued: frames queued by the callback come after it."""
        if self.ended and self._on_end:
            on_end, self._on_end = self._on_end, None
            on_end()

    async def _catch_up(self, incoming: ChatEvent | None = None) -> list[str]:
        try:
            fetched = await self._store.history(self.chat_id, self.last_seq)
        except UnreadableChat:
            self._unreadable()
            return []
        except RedisError:
            fetched = []  # Redis is away; the next resync fills it in
        except ProtocolError:
            fetched = []  # the chat is gone: its 'ended' nudge is on its way
        events, self.last_seq = fill_gap(self.last_seq, fetched, incoming)
        frames = self._frames(events)
        self._notify_end()  # what it queues runs after these frames, which the writer sends now
        return frames

    def _on_nudge(self, _channel: str, data: str) -> None:
        try:
            event = _decoded.event(data, self._opened)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed chat nudge")
            return
        except UnreadableChat:
            self._unreadable()
            return
        if event is None:  # this instance has not read the chat's key yet: the history has it
            self._defer(self._catch_up)
            return
        if not event.seq:  # transient: typing, visitor presence
            frame = self._render(self.chat_id, event)
            if frame is not None:
                self._peer.send(frame)
            return
        if self._deferred:
            self._defer(lambda: self._arrive(event))
            return
        arrival = classify(self.last_seq, event.seq)
        if arrival is Arrival.DUPLICATE:
            return
        if arrival is Arrival.NEXT:
            self.last_seq = event.seq
            for frame in self._frames([event]):
                self._peer.send(frame)
            self._notify_end()
            return
        self._defer(lambda: self._catch_up(event))

    def _unreadable(self) -> None:
        """This instance lacks the chat's key: say so and close, so the client reconnects
        (to an instance that has it) with nothing lost."""
        self._peer.send(error_frame(SERVICE_UNAVAILABLE, {"chat_id": self.chat_id}))
        self._peer.close_soon(CloseCode.SERVICE_UNAVAILABLE, "cannot read this chat here")

    async def _arrive(self, event: ChatEvent) -> list[str]:
        # Classified in the writer when it was queued behind a deferred step.
        arrival = classify(self.last_seq, event.seq)
        if arrival is Arrival.DUPLICATE:
            return []
        if arrival is Arrival.NEXT:
            self.last_seq = event.seq
            frames = self._frames([event])
            self._notify_end()
            return frames
        return await self._catch_up(event)
