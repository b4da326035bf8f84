"""Follows one chat for one connection: pub/sub nudges in, ordered frames out, no duplicates."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError

from ..domain.delivery import Arrival, classify, fill_gap
from ..domain.models import ChatEvent
from ..store.chats import ChatStore, event_from_payload
from ..store.hub import Hub
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

    def event(self, data: str) -> ChatEvent:
        """The event in ``data``; raises ValueError, KeyError or TypeError when malformed."""
        if data is not self._data or self._event is None:
            self._data, self._event = None, None
            self._event = event_from_payload(json.loads(data))
            self._data = data
        return self._event


_decoded = _LastDecoded()


class ChatFeed:
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

    async def start(self, *, replay: bool = True) -> None:
        """Subscribe first, then replay history, so nothing falls between the two."""
        await self._hub.subscribe(self.channel, self._on_nudge)
        self._hub.add_resync_hook(self.resync)
        if replay:
            self._peer.send(self._catch_up)

    async def stop(self) -> None:
        self._hub.remove_resync_hook(self.resync)
        await self._hub.unsubscribe(self.channel, self._on_nudge)

    def resync(self) -> None:
        if not self.ended:
            self._peer.send(self._catch_up)

    def _frames(self, events: Iterable[ChatEvent]) -> list[str]:
        frames = []
        for event in events:
            if event.kind == "ended":
                self.ended = True
            frame = self._render(self.chat_id, event)
            if frame is not None:
                frames.append(frame)
        if self.ended and self._on_end:
            self._on_end()
            self._on_end = None
        return frames

    async def _catch_up(self, incoming: ChatEvent | None = None) -> list[str]:
        try:
            fetched = await self._store.history(self.chat_id, self.last_seq)
        except RedisError:
            fetched = []  # Redis is away; the next resync fills it in
        events, self.last_seq = fill_gap(self.last_seq, fetched, incoming)
        return self._frames(events)

    def _on_nudge(self, _channel: str, data: str) -> None:
        try:
            event = _decoded.event(data)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed chat nudge")
            return
        if not event.seq:  # transient: typing, visitor presence
            frame = self._render(self.chat_id, event)
            if frame is not None:
                self._peer.send(frame)
            return
        self._peer.send(lambda: self._arrive(event))

    async def _arrive(self, event: ChatEvent) -> list[str]:
        # Classified here, in the writer, so that seq order holds across gap fills.
        arrival = classify(self.last_seq, event.seq)
        if arrival is Arrival.DUPLICATE:
            return []
        if arrival is Arrival.NEXT:
            self.last_seq = event.seq
            return self._frames([event])
        return await self._catch_up(event)
