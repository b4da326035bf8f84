"""One counsellor console's WebSocket: presence, taking chats, messages, ending chats.

The console never receives a visitor's token, address or user agent: only the chat id (a
random handle) and the per-chat alias.

A chat that ends other than by the counsellor's ``end`` reaches the console as ``chat_ended``
with ``outcome_pending: true``; the counsellor then sends the outcome codes in an ``outcome``
frame (:meth:`ConsoleSession.save_outcome`, plugged in by the statistics wiring).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Final

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from ..domain import protocol as p
from ..domain.models import ChatEvent, EndReason, Presence, Sender, StaffAccount
from ..domain.outcomes import UnknownOutcomeError, validate_outcomes
from ..domain.queue import queue_score
from ..domain.stats import outcome_waits_for_counsellor
from ..services import Services
from ..store.chats import QueueSnapshot
from ..store.sessions import StaffSession, hash_session_id
from .chat_end import after_chat_end
from .feed import ChatFeed
from .peer import Peer

if TYPE_CHECKING:
    from ..store.stats import StatsStore

log = logging.getLogger(__name__)

SESSION_CHECK_S = 20.0
QUEUE_SHOWN = 20
# The console hears of a chat's end (pub/sub) before the end hook has made its outcome wait
# (one more round trip): an `outcome` sent at once waits up to this long for it.
OUTCOME_HOLD_WAIT_S: Final = 2.0
OUTCOME_HOLD_POLL_S: Final = 0.05


def queue_frame(snapshot: QueueSnapshot, now_ms: int) -> str:
    """The console's view of the queue: the total and the first QUEUE_SHOWN chats."""
    shown = [
        {
            "chat_id": c.chat_id,
            "alias": snapshot.aliases.get(c.chat_id, ""),
            "waited_s": max(0, (now_ms - c.enqueued_ms) // 1000),
            "urgent": c.urgent,
            "topic": c.topic,
            "language": c.language,
        }
        for c in snapshot.chats[:QUEUE_SHOWN]
    ]
    return p.encode("queue", waiting=snapshot.waiting, chats=shown)


def render_for_console(chat_id: str, event: ChatEvent, follower: str = "") -> str | None:
    """The console frame for one chat event, or None for events the console does not show.

    ``follower`` is the console's user; a console follows only the chats it holds, so an
    ended one was answered and held by them (``outcome_pending`` follows from that)."""
    if event.kind == "msg":
        own = {}
        if event.sender is Sender.COUNSELLOR and "cid" in event.extra:
            own = {"client_id": event.extra["cid"]}
        return p.encode(
            "message",
            chat_id=chat_id,
            seq=event.seq,
            sender=event.sender.value,
            text=event.text,
            ts=event.ts_ms,
            **own,
        )
    if event.kind == "joined":
        return p.encode("chat_state", chat_id=chat_id, state="active", seq=event.seq)
    if event.kind == "transferred":
        return p.encode("chat_transferred", chat_id=chat_id, seq=event.seq, reason=event.text,
                        state=event.extra.get("state", ""))  # fmt: skip
    if event.kind == "ended":
        pending = outcome_waits_for_counsellor(answered=True, reason=event.text,
                                               counsellor=follower)  # fmt: skip
        return p.encode("chat_ended", chat_id=chat_id, by=event.sender.value, reason=event.text,
                        outcome_pending=pending)  # fmt: skip
    if event.kind == "typing" and event.sender is Sender.VISITOR:
        return p.encode("typing", chat_id=chat_id, active=event.extra.get("active") == "True")
    if event.kind == "visitor_presence":
        return p.encode(
            "visitor_presence", chat_id=chat_id, online=event.extra.get("online") == "True"
        )
    return None


class ConsoleSession:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        services: Services,
        account: StaffAccount,
        session: StaffSession,
    ) -> None:
        self.ws = ws
        self.services = services
        self.account = account
        self.session = session
        self.peer = Peer(ws)
        self.feeds: dict[str, ChatFeed] = {}
        self.ended_at: dict[str, float] = {}  # chat id -> loop time its end was seen here
        self._ticker: asyncio.Task[None] | None = None

    @property
    def username(self) -> str:
        return self.account.username

    # --- pushed from elsewhere -----------------------------------------------------------

    def show_queue(self, frame: str) -> None:
        """The queue frame, encoded once per change for every console (see queue_frame)."""
        self.peer.send(frame)

    def show_service(self, ok: bool) -> None:
        self.peer.send(p.encode("service", status="ok" if ok else "unavailable"))

    def _on_staff_nudge(self, _channel: str, data: str) -> None:
        if data in ("logout", f"logout:{hash_session_id(self.session.session_id)}"):
            self.peer.close_soon(p.CloseCode.UNAUTHORIZED, "signed out")
            return
        if not data.startswith("{"):
            return
        event = json.loads(data)
        kind = event.pop("kind", "")
        if kind == "offer":
            self.peer.send(p.encode("offer", **event))
        elif kind == "offer_expired":
            self.peer.send(p.encode("offer_withdrawn", chat_id=event["chat_id"], reason="timeout"))
            self.peer.send(p.encode("presence", presence=Presence.PAUSED.value,
                                    reason="offer_timeout"))  # fmt: skip
        elif kind == "offer_withdrawn":
            self.peer.send(p.encode("offer_withdrawn", **event))
        elif kind == "assigned":
            asyncio.get_running_loop().create_task(self._adopt(event))
        elif kind == "backup_alert":
            self.peer.send(p.encode("backup_alert", longest_wait_s=event["longest_wait_s"]))

    # --- the connection ------------------------------------------------------------------

    async def run(self) -> None:
        s = self.services
        s.consoles.add(self)
        staff_channel = s.keys.staff_channel(self.username)
        await s.hub.subscribe(staff_channel, self._on_staff_nudge)
        try:
            await self._hello()
            self._ticker = asyncio.create_task(self._tick(), name="console-tick")
            await self._read_loop()
        finally:
            if self._ticker:
                self._ticker.cancel()
            s.consoles.discard(self)
            await s.hub.unsubscribe(staff_channel, self._on_staff_nudge)
            for feed in self.feeds.values():
                await feed.stop()
            if not any(c.username == self.username for c in s.consoles):
                with contextlib.suppress(RedisError):
                    await s.presence.set(self.username, Presence.OFFLINE, s.clock_ms())
            await self.peer.finish()

    async def _hello(self) -> None:
        s = self.services
        presence = await s.presence.get(self.username)
        if presence is Presence.OFFLINE:
            presence = Presence.AVAILABLE
        await s.presence.set(self.username, presence, s.clock_ms())
        chats = []
        for chat_id in await s.chats.chats_of(self.username):
            info = await s.chats.info(chat_id)
            if info and info.counsellor == self.username:
                chats.append(info)
        self.peer.send(
            p.encode(
                "hello",
                user=self.username,
                name=self.account.shown_name,
                role=self.account.role.value,
                capacity=self.account.capacity,
                presence=presence.value,
                csrf=self.session.csrf_token,
                chats=[
                    {
                        "chat_id": c.chat_id,
                        "alias": c.alias,
                        "topic": c.topic,
                        "language": c.language,
                        "urgent": c.urgent,
                    }
                    for c in chats
                ],
            )
        )
        for info in chats:
            await self._follow(info.chat_id)
        if s.queue_watch and s.queue_watch.latest:
            self.show_queue(queue_frame(s.queue_watch.latest, s.clock_ms()))
        elif s.queue_watch:
            s.queue_watch.poke()

    async def _adopt(self, event: dict[str, str]) -> None:
        """A chat became ours without a click here (auto-accept, a colleague's transfer)."""
        chat_id = event["chat_id"]
        if chat_id in self.feeds:
            return
        try:
            await self._open(chat_id, transferred_from=event.get("from", ""),
                             reason=event.get("reason", ""))  # fmt: skip
        except RedisError:
            log.warning("could not open an assigned chat; it shows at the next reconnect")

    async def _open(self, chat_id: str, **extra: str) -> None:
        info = await self.services.chats.info(chat_id)
        if info is None or info.counsellor != self.username:
            return
        self.peer.send(p.encode("chat_opened", chat_id=chat_id, alias=info.alias,
                                topic=info.topic, language=info.language, urgent=info.urgent,
                                **{k: v for k, v in extra.items() if v}))  # fmt: skip
        await self._follow(chat_id)

    async def _follow(self, chat_id: str) -> None:
        s = self.services
        feed = ChatFeed(
            chat_id,
            s.keys.chat_channel(chat_id),
            peer=self.peer,
            store=s.chats,
            hub=s.hub,
            render=lambda chat_id, event: render_for_console(chat_id, event, self.username),
            on_end=lambda: self._ended(chat_id),
        )
        self.feeds[chat_id] = feed
        await feed.start(replay=True)

    def _ended(self, chat_id: str) -> None:
        loop = asyncio.get_running_loop()
        self.ended_at = {c: t for c, t in self.ended_at.items()
                         if loop.time() - t < OUTCOME_HOLD_WAIT_S}  # fmt: skip
        self.ended_at[chat_id] = loop.time()
        self._forget_soon(chat_id)

    def _forget_soon(self, chat_id: str) -> None:
        feed = self.feeds.pop(chat_id, None)
        if feed:
            asyncio.get_running_loop().create_task(feed.stop())

    async def _tick(self) -> None:
        """Keep presence alive and notice a session that expired or was revoked."""
        s = self.services
        while True:
            await asyncio.sleep(SESSION_CHECK_S)
            try:
                live = await s.sessions.get(self.session.session_id, s.clock_ms())
                if live is None:
                    self.peer.close_soon(p.CloseCode.UNAUTHORIZED, "session expired")
                    return
                await s.presence.renew(self.username)
            except RedisError:
                continue

    async def _read_loop(self) -> None:
        async for msg in self.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            try:
                await self._handle(msg.data)
            except p.ProtocolError as error:
                self.peer.send(p.error_frame(error))
            except RedisError:
                self.peer.send(
                    p.error_frame(
                        p.ProtocolError(
                            p.ErrorCode.UNAVAILABLE, "the service is temporarily unavailable"
                        )
                    )
                )
            if self.peer.close_after:
                break

    async def _handle(self, data: str | bytes) -> None:
        s = self.services
        frame = p.decode_object(data)
        extra = s.console_handlers.get(frame["type"])
        if extra is not None:  # a frame type added by a feature module (notes, back-channel...)
            await extra(self, frame)
            return
        message = p.parse_counsellor_message(frame, max_text_chars=s.settings.max_text_chars)
        now = s.clock_ms()
        if isinstance(message, p.SetPresence):
            try:
                presence = Presence(message.presence)
            except ValueError:
                raise p.ProtocolError(p.ErrorCode.INVALID_FIELD, "unknown presence") from None
            await s.presence.set(self.username, presence, now)
            self.peer.send(p.encode("presence", presence=presence.value))
        elif isinstance(message, p.TakeChat):
            if await s.presence.get(self.username) is not Presence.AVAILABLE:
                raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "set yourself available first")
            chat_id = await s.chats.claim(
                self.username, capacity=self.account.capacity, now_ms=now, chat_id=message.chat_id
            )
            await self._open(chat_id)
        elif isinstance(message, p.DeclineOffer):
            if not await s.routing.withdraw(message.chat_id, self.username):
                raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "no such offer to you")
            self.peer.send(p.encode("offer_withdrawn", chat_id=message.chat_id, reason="declined"))
        elif isinstance(message, p.TransferChat):
            await self._transfer(message, now)
        elif isinstance(message, p.SetAutoAccept):
            await s.presence.set_auto_accept(self.username, message.enabled)
            self.peer.send(p.encode("auto_accept", enabled=message.enabled))
        elif isinstance(message, p.SendText):
            try:
                await s.chats.post(
                    message.chat_id,
                    sender=Sender.COUNSELLOR,
                    text=message.text,
                    now_ms=now,
                    counsellor=self.username,
                    client_id=message.client_id,
                )
            except p.ProtocolError as error:
                raise error.for_client_message(message.client_id) from None
            s.metrics.messages_relayed.inc()  # the echo through the feed is the ack
        elif isinstance(message, p.Typing):
            self._require_own(message.chat_id)
            await s.chats.nudge(
                message.chat_id, {"kind": "typing", "from": "counsellor", "active": message.active}
            )
        elif isinstance(message, p.EndChat):
            try:
                outcome = validate_outcomes(message.outcome)
            except UnknownOutcomeError as error:
                raise p.ProtocolError(p.ErrorCode.INVALID_FIELD, str(error)) from None
            reason = EndReason.COUNSELLOR_ENDED.value
            ended = await s.chats.end(message.chat_id, by=Sender.COUNSELLOR, reason=reason,
                                      now_ms=now, counsellor=self.username)  # fmt: skip
            await after_chat_end(s, ended, now, reason, outcome)
        elif isinstance(message, p.SaveOutcome):  # only without the statistics wiring
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "outcomes are not counted here")

    async def save_outcome(self, message: p.SaveOutcome, stats: StatsStore) -> None:
        """Count the late outcome of a chat this counsellor held; answers ``outcome_saved``.
        Raises ProtocolError: invalid_field for unknown codes, chat_not_found when no outcome
        waits (never did, already saved, grace period over), not_your_chat for another's."""
        try:
            codes = validate_outcomes(message.outcome)
        except UnknownOutcomeError as error:
            raise p.ProtocolError(p.ErrorCode.INVALID_FIELD, str(error)) from None
        loop = asyncio.get_running_loop()
        while True:
            status = await stats.settle_outcome(message.chat_id, codes, counsellor=self.username)
            seen_at = self.ended_at.get(message.chat_id)
            if status != "not_found" or seen_at is None:
                break
            if loop.time() - seen_at >= OUTCOME_HOLD_WAIT_S:
                break
            await asyncio.sleep(OUTCOME_HOLD_POLL_S)  # the end hook has not held it yet
        if status == "not_your_chat":
            raise p.ProtocolError(p.ErrorCode.NOT_YOUR_CHAT, "this chat was not yours")
        if status == "not_found":
            raise p.ProtocolError(
                p.ErrorCode.CHAT_NOT_FOUND, "no outcome is waiting for this chat (saved or expired)"
            )
        self.ended_at.pop(message.chat_id, None)
        self.peer.send(p.encode("outcome_saved", chat_id=message.chat_id))

    async def _transfer(self, message: p.TransferChat, now: int) -> None:
        """Hand a chat on, with its conversation, to a colleague or back to the queue."""
        s = self.services
        self._require_own(message.chat_id)
        target = s.staff.get(message.to) if message.to else None
        if message.to and (target is None or target.disabled):
            raise p.ProtocolError(p.ErrorCode.TARGET_UNAVAILABLE, "no such colleague on duty")
        info = await s.chats.info(message.chat_id)
        if info is None:
            raise p.ProtocolError(p.ErrorCode.CHAT_NOT_FOUND, "the chat has ended")
        await s.routing.transfer(
            message.chat_id, holder=self.username, to=target.username if target else "",
            to_capacity=target.capacity if target else 0, reason=message.reason, now_ms=now,
            queue_score=queue_score(info.enqueued_ms, info.urgent),
        )  # fmt: skip
        if target is not None:
            await s.routing.publish_to_staff(target.username, {
                "kind": "assigned", "chat_id": message.chat_id, "from": self.account.shown_name,
                "reason": message.reason})  # fmt: skip
        self._forget_soon(message.chat_id)
        self.peer.send(p.encode("chat_released", chat_id=message.chat_id,
                                to=target.username if target else ""))  # fmt: skip

    def _require_own(self, chat_id: str) -> None:
        if chat_id not in self.feeds:
            raise p.ProtocolError(p.ErrorCode.NOT_YOUR_CHAT, "this chat is not yours")
