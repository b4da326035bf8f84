"""Chats in Redis: creation, the token lookup, events, claiming, ending, the queue.

A chat is a hash ``chat:<id>`` and a stream ``chat:<id>:log``; the visitor's token is kept
only as a SHA-256 hash (``tok:<hash>`` → chat id), so a Redis dump holds no usable token.
Every key carries a TTL from the moment it is written, and ending a chat deletes all of them
in one script.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Final

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from ..domain.models import ChatEvent, ChatState, QueuedChat, Sender, visitor_alias
from ..domain.protocol import ErrorCode, ProtocolError
from ..domain.queue import from_queue_score, queue_score
from ..redis_settings import ReplicaWait
from .codec import as_str, str_dict
from .connection import call_script
from .keys import Keys
from .scripts import Scripts
from .sealing import MESSAGE, ChatSeals, MessageKeyring

TOKEN_BYTES: Final = 24  # 192 bits
CHAT_ID_BYTES: Final = 16
STREAM_MAX_LEN: Final = 5000
INDEX_TTL_S: Final = 86400


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewChat:
    chat_id: str
    token: str
    alias: str


@dataclass(frozen=True, slots=True)
class ChatInfo:
    chat_id: str
    state: ChatState
    alias: str
    counsellor: str
    seq: int
    topic: str = ""
    language: str = ""
    urgent: bool = False
    enqueued_ms: int = 0
    not_alone: bool = False
    """The visitor said someone is with them (and has not come back yet)."""


@dataclass(frozen=True, slots=True)
class EndedChat:
    """What ending a chat returns, for statistics: no text, no token."""

    chat_id: str
    state: str
    counsellor: str
    enqueued_ms: int
    answered_ms: int
    topic: str
    language: str
    urgent: bool


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    """The waiting chats; ``lapsed``: ids of chats that expired while waiting (the visitor
    left), drained from Redis by this snapshot and so handed to no other caller."""

    waiting: int
    chats: tuple[QueuedChat, ...]
    aliases: dict[str, str]
    lapsed: tuple[str, ...] = ()
    gone_ms: dict[str, int] = field(default_factory=dict)
    """When the visitor's connection went, for waiting chats whose visitor is offline."""
    described: int | None = None
    """How many of ``chats`` (from the head) carry the fields of their chat hash; the rest only
    their id and what the queue's score holds (:func:`chat_from_score`). None: all of them."""


def chat_from_score(chat_id: str, score: int) -> QueuedChat:
    """A queued chat as far as its queue entry tells (topic and language unknown)."""
    enqueued_ms, urgent = from_queue_score(score)
    return QueuedChat(chat_id=chat_id, enqueued_ms=enqueued_ms, urgent=urgent, topic="",
                      language="")  # fmt: skip


def event_from_payload(payload: dict[str, Any]) -> ChatEvent:
    return ChatEvent(
        kind=str(payload.get("kind", "")),
        sender=Sender(payload.get("from", "system")),
        ts_ms=int(payload.get("ts", 0)),
        seq=int(payload.get("seq", 0)),
        text=str(payload.get("text", "")),
        extra={k: str(v) for k, v in payload.items() if k not in _EVENT_FIELDS},
    )


_EVENT_FIELDS = frozenset({"kind", "from", "ts", "seq", "text"})


def _reject(code: str) -> ProtocolError:
    messages = {
        ErrorCode.CHAT_NOT_FOUND: "the chat has ended or does not exist",
        ErrorCode.NOT_YOUR_CHAT: "this chat belongs to another counsellor",
        ErrorCode.NOT_ALLOWED_NOW: "that is not possible in the chat's present state",
        ErrorCode.AT_CAPACITY: "you already hold as many chats as your capacity allows",
        ErrorCode.QUEUE_EMPTY: "nobody is waiting",
        ErrorCode.OFFERED_ELSEWHERE: "this chat is being offered to another counsellor",
        ErrorCode.TARGET_UNAVAILABLE: "that counsellor is not available",
        ErrorCode.TARGET_AT_CAPACITY: "that counsellor has no room for another chat",
        ErrorCode.INVALID_FIELD: "that is not a valid target",
    }
    return ProtocolError(code, messages.get(code, code))


class ChatStore:
    def __init__(
        self, redis: Redis, keys: Keys, scripts: Scripts, chat_ttl_s: int,
        wait: ReplicaWait | None = None, seals: ChatSeals | None = None,
    ) -> None:  # fmt: skip
        """``seals`` seals the chats' text; every instance must share its keyring (the
        default, a random key, suits one process only)."""
        self.seals = seals or ChatSeals(redis, keys, MessageKeyring.random())
        self._wait = wait
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._chat_ttl_s = chat_ttl_s

    async def create_chat(
        self, *, now_ms: int, topic: str = "", language: str = "", urgent: bool = False
    ) -> NewChat:
        """Open a chat in the queue; one transaction, every key with its TTL."""
        chat_id = secrets.token_hex(CHAT_ID_BYTES)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        token_hash = hash_token(token)
        alias = visitor_alias(chat_id)
        k, ttl = self._keys, self._chat_ttl_s
        fields: dict[FieldT, EncodableT] = {
            "state": ChatState.WAITING.value,
            "created_ms": now_ms,
            "enqueued_ms": now_ms,
            "topic": topic,
            "language": language,
            "urgent": int(urgent),
            "alias": alias,
            "tok": token_hash,
            "seq": 0,
        }
        fields.update(self.seals.new_chat(chat_id))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(k.chat(chat_id), mapping=fields)
            pipe.expire(k.chat(chat_id), ttl)
            pipe.set(k.token(token_hash), chat_id, ex=ttl)
            pipe.zadd(k.queue, {chat_id: queue_score(now_ms, urgent)})
            pipe.expire(k.queue, INDEX_TTL_S)
            pipe.publish(k.queue_channel, "joined")
            await pipe.execute()
        return NewChat(chat_id=chat_id, token=token, alias=alias)

    async def chat_for_token(self, token: str) -> str | None:
        value = await self._redis.get(self._keys.token(hash_token(token)))
        return str(value) if value else None

    async def info(self, chat_id: str) -> ChatInfo | None:
        data = str_dict(await self._redis.hgetall(self._keys.chat(chat_id)))
        if not data or "state" not in data:
            return None
        return ChatInfo(
            chat_id=chat_id,
            state=ChatState(data["state"]),
            alias=data.get("alias", ""),
            counsellor=data.get("counsellor", ""),
            seq=int(data.get("seq", 0)),
            topic=data.get("topic", ""),
            language=data.get("language", ""),
            urgent=data.get("urgent") == "1",
            enqueued_ms=int(data.get("enqueued_ms", 0)),
            not_alone=data.get("not_alone") == "1",
        )

    async def post(
        self,
        chat_id: str,
        *,
        sender: Sender,
        text: str,
        now_ms: int,
        counsellor: str = "",
        kind: str = "msg",
        client_id: str = "",
    ) -> int:
        """Append a message (its text sealed); returns its seq or raises ProtocolError (chat
        gone, not yours) or RedisError (UnreadableChat: this instance lacks the chat's key)."""
        k = self._keys
        if kind == "msg":
            text = await self.seals.seal(chat_id, MESSAGE, text)
        seq, status = await call_script(
            self._redis,
            self._scripts.post_event,
            wait=self._wait,
            keys=[k.chat(chat_id), k.chat_stream(chat_id)],
            args=[
                k.prefix,
                k.chat_channel(chat_id),
                sender.value,
                counsellor,
                kind,
                text,
                now_ms,
                self._chat_ttl_s,
                STREAM_MAX_LEN,
                client_id,
            ],
        )
        if status != "ok":
            raise _reject(str(status))
        return int(seq)

    async def remaining_ms(self, chat_ids: list[str]) -> dict[str, int]:
        """Each chat's remaining lifetime in ms (its hash's PTTL: -2 gone, -1 no expiry), in
        one round trip."""
        if not chat_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for chat_id in chat_ids:
                pipe.pttl(self._keys.chat(chat_id))
            answers = await pipe.execute()
        return {chat_id: int(ms) for chat_id, ms in zip(chat_ids, answers, strict=True)}

    async def mark_not_alone(self, chat_id: str, on: bool) -> bool:
        """Keep the visitor's "someone is with me" flag in the chat's hash (its TTL
        untouched); False when the chat no longer exists."""
        done = await self._scripts.mark_not_alone(
            keys=[self._keys.chat(chat_id)], args=["1" if on else "0"]
        )
        return bool(done)

    async def nudge(self, chat_id: str, payload: dict[str, Any]) -> None:
        """A transient event (typing, visitor presence): published, never stored."""
        await self._redis.publish(self._keys.chat_channel(chat_id), json.dumps(payload))

    async def history(self, chat_id: str, after_seq: int = 0) -> list[ChatEvent]:
        """Every stored event with seq > ``after_seq``, in order."""
        entries = await self._redis.xrange(self._keys.chat_stream(chat_id), f"0-{after_seq + 1}")
        if not entries:
            return []
        cipher = await self.seals.cipher(chat_id)
        events = []
        for entry_id, raw in entries:
            fields = str_dict(raw)
            kind = fields.get("kind", "msg")
            text = fields.get("text", "")
            events.append(
                ChatEvent(
                    kind=kind,
                    sender=Sender(fields.get("from", "system")),
                    ts_ms=int(fields.get("ts", 0)),
                    seq=int(as_str(entry_id).split("-", 1)[1]),
                    text=self.seals.open_with(cipher, chat_id, MESSAGE, text)
                    if kind == "msg"
                    else text,
                    extra={k: v for k, v in fields.items() if k not in _EVENT_FIELDS and v},
                )
            )
        return events

    def live_event(self, chat_id: str, payload: dict[str, Any]) -> ChatEvent | None:
        """The event of a live (pub/sub) payload with its text opened, without I/O: None when
        this instance has not met the chat yet (the caller reads the history instead).
        ``payload`` is the caller's own (its text is replaced). Raises UnreadableChat, and
        KeyError, TypeError or ValueError when the payload is malformed."""
        if payload.get("kind") == "msg":
            cipher = self.seals.cached(chat_id)
            if cipher is None:
                return None
            payload["text"] = self.seals.open_with(cipher, chat_id, MESSAGE, payload["text"])
        return event_from_payload(payload)

    async def claim(self, username: str, *, capacity: int, now_ms: int, chat_id: str = "") -> str:
        """Take ``chat_id`` (or the first waiting chat); returns the chat id or raises."""
        k = self._keys
        claimed, status = await self._scripts.claim_chat(
            keys=[k.queue, k.staff_chats(username), k.staff_offers(username)],
            args=[
                k.prefix,
                username,
                capacity,
                now_ms,
                self._chat_ttl_s,
                chat_id,
                INDEX_TTL_S,
                k.queue_channel,
            ],
        )
        if status != "ok":
            raise _reject(str(status))
        return str(claimed)

    async def end(
        self, chat_id: str, *, by: Sender, reason: str, now_ms: int, counsellor: str = ""
    ) -> EndedChat:
        """End a chat and delete every key of it; raises ProtocolError if not allowed."""
        k = self._keys
        result = await self._scripts.end_chat(
            keys=[k.chat(chat_id), k.chat_stream(chat_id), k.queue],
            args=[k.prefix, chat_id, by.value, counsellor, reason, now_ms, k.queue_channel],
        )
        if result[0] != "ok":
            raise _reject(str(result[0]))
        self.seals.forget(chat_id)
        _, state, holder, enqueued, answered, topic, language, urgent = result
        return EndedChat(
            chat_id=chat_id,
            state=str(state),
            counsellor=str(holder),
            enqueued_ms=int(enqueued or 0),
            answered_ms=int(answered or 0),
            topic=str(topic),
            language=str(language),
            urgent=urgent == "1",
        )

    async def set_ttl(
        self, chat_id: str, ttl_s: int, *, active_ttl_s: int | None = None, gone_ms: int = 0
    ) -> ChatState | None:
        """Set the TTL of all of a chat's keys (``active_ttl_s`` if it is active) and note
        when the visitor's connection went (``gone_ms``; 0: they are online); returns its
        state, or None if it is gone."""
        k = self._keys
        active = ttl_s if active_ttl_s is None else active_ttl_s
        state = await self._scripts.touch_chat(
            keys=[k.chat(chat_id), k.chat_stream(chat_id)],
            args=[k.prefix, ttl_s, active, gone_ms],
        )
        return ChatState(state) if state else None

    async def queue_snapshot(
        self, limit: int = 5000, *, drain_lapsed: bool = False, head: int | None = None
    ) -> QueueSnapshot:
        """The waiting chats in serving order (at most ``limit``) and the total waiting.

        Without ``head`` every entry is read (the sweep: lapsed and stale entries anywhere are
        dropped, ``waiting`` is exact). With ``head`` only the first ``head`` waiting chats are
        read and carry their fields; the rest carry only what the queue's score holds (id,
        ``enqueued_ms``, ``urgent``; topic and language empty, see ``described``), and an entry
        among them that lapsed still counts until the next sweep.

        With ``drain_lapsed`` it also takes the ids of chats that lapsed while waiting, in the
        same atomic step, so each lapsed id reaches exactly one caller: only the queue watch,
        which counts them, drains. Raises RedisError if Redis fails."""
        k = self._keys
        rows, tail, total, lapsed = await self._scripts.queue_snapshot(
            keys=[k.queue, k.queue_lapsed],
            args=[k.prefix, limit, int(drain_lapsed), limit if head is None else head,
                  int(head is None)],
        )  # fmt: skip
        chats, aliases, gone = [], {}, {}
        for i in range(0, len(rows), 7):
            chat_id, enqueued, urgent, topic, language, alias, gone_ms = rows[i : i + 7]
            if gone_ms:
                gone[chat_id] = int(gone_ms)
            chats.append(
                QueuedChat(
                    chat_id=chat_id,
                    enqueued_ms=int(enqueued or 0),
                    urgent=urgent == "1",
                    topic=topic,
                    language=language,
                )
            )
            aliases[chat_id] = alias
        described = len(chats)
        for i in range(0, len(tail), 2):
            chats.append(chat_from_score(as_str(tail[i]), int(float(as_str(tail[i + 1])))))
        return QueueSnapshot(
            waiting=int(total), chats=tuple(chats), aliases=aliases,
            lapsed=tuple(as_str(chat_id) for chat_id in lapsed), gone_ms=gone,
            described=described,
        )  # fmt: skip

    async def queued_fields(self, chat_ids: list[str]) -> QueueSnapshot:
        """The fields of some queued chats (those still waiting), in one round trip, as a
        snapshot whose ``waiting`` is 0: the queue watch fills in what a head-only
        :meth:`queue_snapshot` left out. A read only: nothing is dropped."""
        fields = ("state", "enqueued_ms", "urgent", "topic", "language", "alias", "gone_ms")
        async with self._redis.pipeline(transaction=False) as pipe:
            for chat_id in chat_ids:
                pipe.hmget(self._keys.chat(chat_id), fields)
            answers = await pipe.execute()
        chats, aliases, gone = [], {}, {}
        for chat_id, raw in zip(chat_ids, answers, strict=True):
            state, enqueued, urgent, topic, language, alias, gone_ms = (
                as_str(v) if v is not None else "" for v in raw
            )
            if state != ChatState.WAITING.value:
                continue
            chats.append(QueuedChat(chat_id, int(enqueued or 0), urgent == "1", topic, language))
            aliases[chat_id] = alias
            if gone_ms:
                gone[chat_id] = int(gone_ms)
        return QueueSnapshot(0, tuple(chats), aliases, gone_ms=gone, described=len(chats))

    async def chats_of(self, username: str) -> list[str]:
        members = await self._redis.smembers(self._keys.staff_chats(username))
        return sorted(str(m) for m in members)
