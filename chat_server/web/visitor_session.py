"""One visitor's WebSocket: the hello (start or resume), then messages until the chat ends.

The token travels only in the first frame, never in a URL; nothing about the visitor is
logged. Every bad frame gets an ``error`` frame and the connection stays usable, up to
``max_protocol_errors``.
"""

from __future__ import annotations

import logging
import secrets
from typing import Final

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from ..domain import protocol as p
from ..domain.flood import POW_EXPIRED, POW_INVALID, POW_REPLAYED, POW_REQUIRED
from ..domain.models import ChatEvent, ChatState, EndReason, Sender
from ..domain.queue_updates import QueueView, queue_update_due
from ..domain.ratelimit import Bucket, take
from ..domain.supervision import supervisor_frame
from ..services import Services
from ..store.flood import ChallengeNeeded
from ..store.stats import issue_feedback_token
from .chat_end import after_chat_end
from .feed import ChatFeed
from .peer import Peer
from .status_api import current_availability

log = logging.getLogger(__name__)

# A connection may answer this many challenges (frames in all) before it is closed with 4429.
MAX_CHALLENGE_ROUNDS: Final = 4
POW_REFUSAL_DETAIL: Final = {
    POW_INVALID: "the proof of work is not valid: solve the new challenge",
    POW_EXPIRED: "the challenge expired: solve the new one",
    POW_REPLAYED: "that challenge was used already: solve the new one",
}


def render_for_visitor(_chat_id: str, event: ChatEvent) -> str | None:
    if event.kind == "msg":
        own = {}
        if event.sender is Sender.VISITOR and "cid" in event.extra:
            own = {"client_id": event.extra["cid"]}
        return p.encode(
            "message",
            seq=event.seq,
            sender=event.sender.value,
            text=event.text,
            ts=event.ts_ms,
            **own,
        )
    if event.kind == "joined":
        return p.encode("state", state=ChatState.ACTIVE.value, seq=event.seq, ts=event.ts_ms)
    if event.kind == "transferred":
        return p.encode(
            "state",
            state=event.extra.get("state", ""),
            seq=event.seq,
            ts=event.ts_ms,
            transferred=True,
            reason=event.text,
        )
    if event.kind == "ended":
        return p.encode("ended", seq=event.seq, by=event.sender.value, reason=event.text)
    if event.kind == "typing" and event.sender is Sender.COUNSELLOR:
        return p.encode("typing", active=event.extra.get("active") == "True")
    return supervisor_frame(event)


class VisitorSession:
    def __init__(self, ws: web.WebSocketResponse, services: Services) -> None:
        self.ws = ws
        self.services = services
        self.peer = Peer(ws)
        self.chat_id = ""
        self.feed: ChatFeed | None = None
        settings = services.settings
        now = services.clock_ms()
        self._messages = Bucket.full(now, settings.visitor_msgs_per_s, settings.visitor_msg_burst)
        self._typing = Bucket.full(now, 2.0, 4)
        self._errors = 0
        # Names this connection in the presence nudge of a resume, so that an older
        # connection to the same chat on another instance knows it was replaced.
        self.connection_id = secrets.token_hex(8)
        self._queue_shown: QueueView | None = None
        self._queue_shown_at_ms = 0
        self._answered = False
        self.idle_warned = False  # told that the chat lapses soon (IdleWatch)

    # --- pushed from elsewhere -----------------------------------------------------------

    def show_position(
        self, position: int, waiting: int, estimate_s: int | None, overflow: bool
    ) -> None:
        view = QueueView(position, waiting, estimate_s, overflow)
        now_ms = self.services.clock_ms()
        if queue_update_due(self._queue_shown, view, now_ms - self._queue_shown_at_ms):
            self._queue_shown, self._queue_shown_at_ms = view, now_ms
            self.peer.send(
                p.encode(
                    "queue",
                    position=position,
                    waiting=waiting,
                    estimate_s=estimate_s,
                    overflow=overflow,
                )
            )

    def show_service(self, ok: bool) -> None:
        self.peer.send(p.encode("service", status="ok" if ok else "unavailable"))

    def _render(self, chat_id: str, event: ChatEvent) -> str | None:
        if event.kind == "visitor_presence" and event.extra.get("online") == "True":
            if event.extra.get("conn", self.connection_id) != self.connection_id:
                self.replaced()  # the visitor resumed on another connection, maybe elsewhere
            return None
        if event.kind == "joined" or event.extra.get("state") == ChatState.ACTIVE.value:
            self._answered = True
        return render_for_visitor(chat_id, event)

    def _ended(self) -> None:
        if self._answered:
            self.peer.send(self._feedback_offer)
        self.peer.close_soon(p.CloseCode.NORMAL, "chat ended")

    async def _feedback_offer(self) -> list[str]:
        """A one-time token for the anonymous survey, after a chat a counsellor answered."""
        try:
            token = await issue_feedback_token(self.services.redis, self.services.keys.prefix)
        except RedisError:
            return []
        survey = self.services.survey
        return [p.encode("feedback", token=token, questions=survey.for_widget() if survey else [])]

    def replaced(self) -> None:
        """A newer connection took this chat over: close with 4409 and let go of the chat
        without marking the visitor gone (they are not: they are on the newer connection)."""
        if self.chat_id and self.services.visitors.get(self.chat_id) is self:
            del self.services.visitors[self.chat_id]
        self.peer.close_soon(p.CloseCode.REPLACED, "opened elsewhere")

    # --- the connection ------------------------------------------------------------------

    async def run(self) -> None:
        try:
            if await self._hello():
                await self._read_loop()
        finally:
            await self._leave()

    async def _hello(self) -> bool:
        """The first frame; a ``start`` answered with a ``challenge`` (a flood is on) may be
        sent again with its solution, up to MAX_CHALLENGE_ROUNDS times in all."""
        for _round in range(MAX_CHALLENGE_ROUNDS):
            data = await self.peer.first_frame(self.services.settings.hello_timeout_s)
            if data is None:
                return False
            started = await self._hello_frame(data)
            if started is not None:
                return started
        self.peer.close_soon(p.CloseCode.TOO_MANY_ERRORS, "too many attempts")
        return False

    async def _hello_frame(self, data: str | bytes) -> bool | None:
        """True: the chat is open; False: the connection closes; None: a challenge was sent."""
        try:
            hello = p.parse_visitor_message(
                data, max_text_chars=self.services.settings.max_text_chars
            )
            if isinstance(hello, p.StartChat):
                return await self._start(hello)
            if isinstance(hello, p.ResumeChat):
                return await self._resume(hello)
            raise p.ProtocolError(
                p.ErrorCode.NOT_ALLOWED_NOW, "the first frame must be start or resume"
            )
        except p.ProtocolError as error:
            self.peer.send(p.error_frame(error))
        except RedisError:
            self.peer.send(p.error_frame(p.SERVICE_UNAVAILABLE))
            self.peer.close_soon(p.CloseCode.SERVICE_UNAVAILABLE, "unavailable")
            return False
        except Exception:  # a bug: say so, close 1011, and let the log show where
            log.exception("a visitor's first frame failed")
            self.peer.send(p.error_frame(p.INTERNAL_FAILURE))
            self.peer.close_soon(p.CloseCode.INTERNAL_ERROR, "internal error")
            return False
        self.peer.close_soon(p.CloseCode.HANDSHAKE_EXPECTED, "start or resume expected")
        return False

    async def _start(self, hello: p.StartChat) -> bool | None:
        state, _notice = await current_availability(self.services)
        if not state.accepts_new_chats:
            self.peer.send(
                p.error_frame(
                    p.ProtocolError(p.ErrorCode.CLOSED, "the chat takes no new conversations now")
                )
            )
            self.peer.close_soon(p.CloseCode.CLOSED, "closed")
            return False
        gate = self.services.flood
        if gate is not None:
            decision = await gate.check(hello.challenge, hello.solution)
            if isinstance(decision, ChallengeNeeded):
                self._send_challenge(decision)
                return None
        new = await self.services.chats.create_chat(
            now_ms=self.services.clock_ms(),
            topic=hello.topic,
            language=hello.language,
            urgent=hello.urgent,
        )
        self.peer.send(
            p.encode(
                "welcome",
                token=new.token,
                state=ChatState.WAITING.value,
                alias=new.alias,
                resumed=False,
            )
        )
        if gate is not None:
            await gate.count_start()
        # Replay too: a counsellor may take the chat between its creation and the feed's
        # subscription, and that 'joined' was published to nobody (the history has it).
        await self._attach(new.chat_id, last_seq=0, replay=True)
        return True

    def _send_challenge(self, decision: ChallengeNeeded) -> None:
        if decision.refused != POW_REQUIRED:
            detail = POW_REFUSAL_DETAIL.get(decision.refused, "the proof of work was refused")
            self.peer.send(p.error_frame(p.ProtocolError(decision.refused, detail)))
        challenge = decision.challenge
        self.peer.send(
            p.encode(
                "challenge",
                challenge=challenge.text,
                bits=challenge.bits,
                expires_ms=challenge.expires_ms,
            )
        )

    async def _resume(self, hello: p.ResumeChat) -> bool:
        chats = self.services.chats
        chat_id = await chats.chat_for_token(hello.token)
        state = await chats.set_ttl(chat_id, self.services.settings.chat_ttl_s) if chat_id else None
        info = await chats.info(chat_id) if chat_id and state else None
        if chat_id is None or state is None or info is None:
            self.peer.send(
                p.error_frame(
                    p.ProtocolError(p.ErrorCode.CHAT_NOT_FOUND, "this chat has ended or expired")
                )
            )
            self.peer.close_soon(p.CloseCode.UNKNOWN_TOKEN, "unknown or expired token")
            return False
        self._answered = state is ChatState.ACTIVE
        self.peer.send(p.encode("welcome", state=state.value, resumed=True))
        # A last_seq past the chat's last event (a confused client, or events a failover
        # lost) would make the feed drop every later event as seen, 'ended' included.
        await self._attach(chat_id, last_seq=min(hello.last_seq, info.seq), replay=True)
        await chats.nudge(
            chat_id,
            {"kind": "visitor_presence", "from": "system", "online": True,
             "conn": self.connection_id},
        )  # fmt: skip
        return True

    async def _attach(self, chat_id: str, *, last_seq: int, replay: bool) -> None:
        self.chat_id = chat_id
        previous = self.services.visitors.get(chat_id)
        if previous is not None:
            previous.replaced()
        self.services.visitors[chat_id] = self
        s = self.services
        self.feed = ChatFeed(
            chat_id,
            s.keys.chat_channel(chat_id),
            peer=self.peer,
            store=s.chats,
            hub=s.hub,
            render=self._render,
            last_seq=last_seq,
            on_end=self._ended,
        )
        await self.feed.start(replay=replay)
        if s.queue_watch:
            s.queue_watch.poke()

    async def _read_loop(self) -> None:
        async for msg in self.ws:
            if self.feed and self.feed.ended:
                break
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            try:
                await self._handle(msg.data)
            except p.ProtocolError as error:
                self._errors += 1
                self.peer.send(p.error_frame(error))
                if self._errors > self.services.settings.max_protocol_errors:
                    self.peer.close_soon(p.CloseCode.TOO_MANY_ERRORS, "too many errors")
                    break
            except RedisError:
                self.peer.send(p.error_frame(p.SERVICE_UNAVAILABLE))
            except Exception:  # a bug: say so, close 1011, and let the log show where
                log.exception("a visitor frame failed")
                self.peer.send(p.error_frame(p.INTERNAL_FAILURE))
                self.peer.close_soon(p.CloseCode.INTERNAL_ERROR, "internal error")
            if self.peer.close_after:
                break

    async def _handle(self, data: str | bytes) -> None:
        s = self.services
        message = p.parse_visitor_message(data, max_text_chars=s.settings.max_text_chars)
        now = s.clock_ms()
        if isinstance(message, p.SendText):
            allowed, self._messages = take(self._messages, now)
            if not allowed:
                raise p.ProtocolError(
                    p.ErrorCode.RATE_LIMITED, "slow down: message not sent", message.client_id
                )
            try:
                await s.chats.post(
                    self.chat_id,
                    sender=Sender.VISITOR,
                    text=message.text,
                    now_ms=now,
                    client_id=message.client_id,
                )
            except p.ProtocolError as error:
                raise error.for_client_message(message.client_id) from None
            s.metrics.messages_relayed.inc()
            # No separate ack: the message comes back through the feed with its client_id and
            # seq, in order with everything else, and that echo is the acknowledgement.
        elif isinstance(message, p.Typing):
            allowed, self._typing = take(self._typing, now)
            if allowed:
                await s.chats.nudge(
                    self.chat_id, {"kind": "typing", "from": "visitor", "active": message.active}
                )
        elif isinstance(message, p.StillHere):
            if await s.chats.set_ttl(self.chat_id, s.settings.chat_ttl_s) is None:
                raise p.ProtocolError(p.ErrorCode.CHAT_NOT_FOUND, "this chat has ended or expired")
            self.idle_warned = False
            self.peer.send(p.encode("idle_cleared"))
        elif isinstance(message, p.NotAlone):
            # Silent for the visitor (no answer at all): the counsellor is told not to write
            # anything sensitive while someone else may be looking at the screen.
            if not await s.chats.mark_not_alone(self.chat_id, message.on):
                raise p.ProtocolError(p.ErrorCode.CHAT_NOT_FOUND, "this chat has ended or expired")
            await s.chats.nudge(
                self.chat_id, {"kind": "not_alone", "from": "system", "on": message.on}
            )
        elif isinstance(message, p.EndChat):
            reason = EndReason.QUICK_EXIT if message.quick else EndReason.VISITOR_ENDED
            ended = await s.chats.end(
                self.chat_id, by=Sender.VISITOR, reason=reason.value, now_ms=now
            )
            await after_chat_end(s, ended, now, reason.value)
            # The 'ended' nudge comes back through the feed and closes the connection.
        else:
            raise p.ProtocolError(p.ErrorCode.NOT_ALLOWED_NOW, "the chat has already started")

    async def _leave(self) -> None:
        s = self.services
        if self.feed:
            await self.feed.stop()
        if self.chat_id and s.visitors.get(self.chat_id) is self:
            del s.visitors[self.chat_id]
            if not (self.feed and self.feed.ended):
                await self._mark_gone()
        await self.peer.finish()

    async def _mark_gone(self) -> None:
        """The visitor's connection is gone: a waiting chat lapses soon unless they resume;
        an active one keeps its usual TTL and the counsellor is told."""
        s = self.services
        try:
            state = await s.chats.set_ttl(
                self.chat_id,
                s.settings.visitor_gone_ttl_s,
                active_ttl_s=s.settings.chat_ttl_s,
                gone_ms=s.clock_ms(),
            )
            if state is not None:
                await s.chats.nudge(
                    self.chat_id, {"kind": "visitor_presence", "from": "system", "online": False}
                )
        except RedisError:
            pass
