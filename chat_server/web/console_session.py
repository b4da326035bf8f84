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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from ..domain import console_protocol as cp
from ..domain import protocol as p
from ..domain.models import ChatEvent, EndReason, Presence, QueuedChat, Sender, StaffAccount
from ..domain.queue import queue_score
from ..domain.stats import outcome_waits_for_counsellor
from ..domain.supervision import supervisor_frame
from ..services import Services
from ..store.chats import QueueSnapshot
from ..store.sealing import NOTE
from ..store.sessions import StaffSession, hash_session_id
from .chat_end import after_chat_end
from .feed import ChatFeed
from .peer import Peer

if TYPE_CHECKING:
    from ..store.stats import StatsStore
    from .live_supervision import Monitoring

log = logging.getLogger(__name__)


SESSION_CHECK_S = 20.0
# The console hears of a chat's end (pub/sub) before the end hook has made its outcome wait
# (one more round trip): an `outcome` sent at once waits up to this long for it.
OUTCOME_HOLD_WAIT_S: Final = 2.0
OUTCOME_HOLD_POLL_S: Final = 0.05


def queue_rows(
    snapshot: QueueSnapshot, chats: Sequence[QueuedChat], now_ms: int
) -> list[dict[str, Any]]:
    """The console's view of some waiting chats (no token, no address: id, alias, wait)."""
    return [
        {
            "chat_id": c.chat_id,
            "alias": snapshot.aliases.get(c.chat_id, ""),
            "waited_s": max(0, (now_ms - c.enqueued_ms) // 1000),
            "urgent": c.urgent,
            "topic": c.topic,
            "language": c.language,
        }
        for c in chats
    ]


def queue_frame(snapshot: QueueSnapshot, now_ms: int) -> str:
    """The console's view of the queue: the total and the first QUEUE_PAGE_SIZE chats (the
    rest with ``queue_page``)."""
    shown = queue_rows(snapshot, snapshot.chats[: cp.QUEUE_PAGE_SIZE], now_ms)
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
        return p.encode("chat_state", chat_id=chat_id, state="active", seq=event.seq,
                        ts=event.ts_ms)  # fmt: skip
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
    if event.kind == "not_alone":
        return p.encode("visitor_not_alone", chat_id=chat_id, on=event.extra.get("on") == "True")
    return supervisor_frame(event, chat_id=chat_id)


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
        self.idle_warned: set[str] = set()  # chats this console was warned about (IdleWatch)
        self.monitoring: dict[str, Monitoring] = {}  # chats a supervisor reads live (not held)
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
        elif kind == "released" and event.get("chat_id") in self.feeds:
            self._forget_soon(event["chat_id"])  # another console of ours handed it on
            self.peer.send(p.encode("chat_released", chat_id=event["chat_id"], to=event["to"]))
        elif kind == "backup_alert":
            self.peer.send(p.encode("backup_alert", longest_wait_s=event["longest_wait_s"]))

    # --- the connection ------------------------------------------------------------------

    async def run(self) -> None:
        s = self.services
        s.consoles.add(self)
        staff_channel = s.keys.staff_channel(self.username)
        await s.hub.subscribe(staff_channel, self._on_staff_nudge)
        try:
            if await self._hello():
                self._ticker = asyncio.create_task(self._tick(), name="console-tick")
                await self._read_loop()
        finally:
            if self._ticker:
                self._ticker.cancel()
            s.consoles.discard(self)
            for hook in s.console_closed_hooks:  # live supervision: monitoring ends
                await hook(self)
            await s.hub.unsubscribe(staff_channel, self._on_staff_nudge)
            for feed in self.feeds.values():
                await feed.stop()
            if not any(c.username == self.username for c in s.consoles):
                with contextlib.suppress(RedisError):
                    await s.presence.set(self.username, Presence.OFFLINE, s.clock_ms())
            await self.peer.finish()

    async def _hello(self) -> bool:
        """Wait for the console's ``hello`` (the presence it wants), then answer ``hello`` with
        the account, the chats it holds (their history follows) and the queue."""
        data = await self.peer.first_frame(self.services.settings.hello_timeout_s)
        if data is None:
            return False
        frame: dict[str, Any] | None = None
        try:
            frame = p.decode_object(data)
            hello = cp.parse_counsellor_message(frame)
            if not isinstance(hello, cp.ConsoleHello):
                raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "the first frame must be hello")
            await self._welcome(hello)
            return True
        except p.ProtocolError as error:
            self.peer.send(p.error_frame(error, frame))
            self.peer.close_soon(p.CloseCode.HANDSHAKE_EXPECTED, "hello expected")
        except RedisError:
            self.peer.send(p.error_frame(p.SERVICE_UNAVAILABLE, frame))
            self.peer.close_soon(p.CloseCode.SERVICE_UNAVAILABLE, "unavailable")
        except Exception:  # a bug: say so, close 1011, and let the log show where
            log.exception("a console's hello failed")
            self.peer.send(p.error_frame(p.INTERNAL_FAILURE, frame))
            self.peer.close_soon(p.CloseCode.INTERNAL_ERROR, "internal error")
        return False

    async def _welcome(self, hello: cp.ConsoleHello) -> None:
        s = self.services
        if hello.presence:
            presence = Presence(hello.presence)
        else:
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
                        "enqueued_ms": c.enqueued_ms,
                        **({"not_alone": True} if c.not_alone else {}),
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
            note = event.get("consult_note", "")  # a warm transfer's, sealed
            if note:
                note = await self.services.chats.seals.open(chat_id, NOTE, note)
            await self._open(chat_id, transferred_from=event.get("from", ""),
                             reason=event.get("reason", ""), consult_note=note)  # fmt: skip
        except RedisError:
            log.warning("could not open an assigned chat; it shows at the next reconnect")

    async def _open(self, chat_id: str, **extra: str) -> None:
        info = await self.services.chats.info(chat_id)
        if info is None or info.counsellor != self.username:
            return
        self.peer.send(p.encode("chat_opened", chat_id=chat_id, alias=info.alias,
                                topic=info.topic, language=info.language, urgent=info.urgent,
                                enqueued_ms=info.enqueued_ms,
                                **({"not_alone": True} if info.not_alone else {}),
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
        for hook in s.follow_hooks:  # live supervision: who is monitoring this chat
            await hook(self, chat_id)

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
            frame: dict[str, Any] | None = None
            try:
                frame = p.decode_object(msg.data)
                await self._handle(frame)
            except p.ProtocolError as error:
                self.peer.send(p.error_frame(error, frame))
            except RedisError:
                self.peer.send(p.error_frame(p.SERVICE_UNAVAILABLE, frame))
            except Exception:  # a bug: say so, close 1011, and let the log show where
                log.exception("a console frame failed")
                self.peer.send(p.error_frame(p.INTERNAL_FAILURE, frame))
                self.peer.close_soon(p.CloseCode.INTERNAL_ERROR, "internal error")
            if self.peer.close_after:
                break

    async def _handle(self, frame: dict[str, Any]) -> None:
        s = self.services
        message = cp.parse_counsellor_message(frame, max_text_chars=s.settings.max_text_chars)
        extra = s.console_handlers.get(frame["type"])
        if isinstance(message, p.SendText) and message.chat_id in self.monitoring:
            await self.monitoring[message.chat_id].send_text(self, message)  # joined
            return
        if extra is not None:  # a frame type handled by a feature module (notes, ...)
            await extra(self, message)
            return
        now = s.clock_ms()
        if isinstance(message, cp.SetPresence):
            presence = Presence(message.presence)
            await s.presence.set(self.username, presence, now)
            self.peer.send(p.encode("presence", presence=presence.value))
        elif isinstance(message, cp.TakeChat):
            if await s.presence.get(self.username) is not Presence.AVAILABLE:
                raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "set yourself available first")
            chat_id = await s.chats.claim(
                self.username, capacity=self.account.capacity, now_ms=now, chat_id=message.chat_id
            )
            await self._open(chat_id)
            await self._tell_my_other_consoles(chat_id)
        elif isinstance(message, cp.DeclineOffer):
            if not await s.routing.withdraw(message.chat_id, self.username):
                raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "no such offer to you")
            self.peer.send(p.encode("offer_withdrawn", chat_id=message.chat_id, reason="declined"))
        elif isinstance(message, cp.TransferChat):
            await self._transfer(message, now)
        elif isinstance(message, cp.SetAutoAccept):
            await s.presence.set_auto_accept(self.username, message.enabled)
            self.peer.send(p.encode("auto_accept", enabled=message.enabled))
        elif isinstance(message, cp.QueuePage):
            await self._queue_page(message.offset, now)
        elif isinstance(message, cp.ChatRequest) and message.kind == "keep_open":
            self._require_own(message.chat_id)
            if await s.chats.set_ttl(message.chat_id, s.settings.chat_ttl_s) is None:
                raise p.ProtocolError(p.ErrorCode.CHAT_NOT_FOUND, "the chat has ended")
            self.idle_warned.discard(message.chat_id)
            self.peer.send(p.encode("idle_cleared", chat_id=message.chat_id))
        elif isinstance(message, p.SendText):
            await s.chats.post(message.chat_id, sender=Sender.COUNSELLOR, text=message.text,
                               now_ms=now, counsellor=self.username,
                               client_id=message.client_id)  # fmt: skip
            s.metrics.messages_relayed.inc()  # the echo through the feed is the ack
            if message.chat_id not in self.feeds:  # taken on another console of ours
                await self._open(message.chat_id)
        elif isinstance(message, p.Typing):
            self._require_own(message.chat_id)
            await s.chats.nudge(
                message.chat_id, {"kind": "typing", "from": "counsellor", "active": message.active}
            )
        elif isinstance(message, p.EndChat):
            reason = EndReason.COUNSELLOR_ENDED.value
            ended = await s.chats.end(message.chat_id, by=Sender.COUNSELLOR, reason=reason,
                                      now_ms=now, counsellor=self.username)  # fmt: skip
            await after_chat_end(s, ended, now, reason, message.outcome)
        elif isinstance(message, cp.ConsoleHello):
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "hello was already sent")
        else:  # a feature frame whose feature is not wired into this app
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "not available on this server")

    async def _queue_page(self, offset: int, now: int) -> None:
        shown = offset + cp.QUEUE_PAGE_SIZE  # read no hash beyond the page
        snapshot = await self.services.chats.queue_snapshot(limit=shown, head=shown)
        rows = queue_rows(snapshot, snapshot.chats[offset:], now)
        self.peer.send(p.encode("queue_page", offset=offset, waiting=snapshot.waiting, chats=rows))

    async def _tell_my_other_consoles(self, chat_id: str) -> None:
        """A second tab or a console on another instance opens the chat too (``_adopt``)."""
        await self.services.routing.publish_to_staff(
            self.username, {"kind": "assigned", "chat_id": chat_id}
        )

    async def save_outcome(self, message: cp.SaveOutcome, stats: StatsStore) -> None:
        """Count the late outcome of a chat this counsellor held; answers ``outcome_saved``.
        Raises ProtocolError: chat_not_found when no outcome waits (never did, already
        saved, grace period over), not_your_chat for another's."""
        codes = message.outcome
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

    async def _transfer(self, message: cp.TransferChat, now: int) -> None:
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
        to = target.username if target else ""
        self._forget_soon(message.chat_id)
        self.peer.send(p.encode("chat_released", chat_id=message.chat_id, to=to))
        await s.routing.publish_to_staff(
            self.username, {"kind": "released", "chat_id": message.chat_id, "to": to}
        )

    def _require_own(self, chat_id: str) -> None:
        if chat_id not in self.feeds:
            raise p.ProtocolError(p.ErrorCode.NOT_YOUR_CHAT, "this chat is not yours")
