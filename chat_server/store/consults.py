"""Warm-transfer consults in Redis: one pending consult per chat, opened and closed atomically.

A consult is the hash ``chat:<id>:consult`` (holder, colleague, reason, the sealed staff-only
note, when it lapses) with a TTL a little past its timeout, plus the chat id in the zset
``consults`` scored by that time, which the sweep reads. ``end_chat.lua`` deletes both with
the chat; ``transfer_chat.lua`` uses the consult up when the colleague accepts.

Each script publishes the frames it causes on ``<prefix>ch:consult`` (the payload names the
users whose consoles get the frame), in the same step as the change, so a consult that two
instances try to close at once is closed and announced exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from redis.asyncio import Redis

from ..domain.protocol import ErrorCode, ProtocolError
from .chats import INDEX_TTL_S
from .codec import as_str, str_dict
from .keys import Keys

# The consult key outlives its timeout by this much, so the sweep (not the TTL) ends it.
CONSULT_GRACE_S: Final = 60

# KEYS[1] chat hash, KEYS[2] consult hash, KEYS[3] consults zset, KEYS[4] the colleague's chat
# set, KEYS[5] their offer set, KEYS[6] their presence hash.
# ARGV: holder, colleague, colleague capacity, reason, sealed note, expires ms, consult ttl s,
# index ttl s, channel, chat id, holder's name, colleague's name, timeout s.
_OPEN = """
local info = redis.call('HMGET', KEYS[1], 'state', 'counsellor', 'alias', 'topic', 'language')
if not info[1] then return 'chat_not_found' end
if info[2] ~= ARGV[1] then return 'not_your_chat' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'consult_pending' end
if redis.call('HGET', KEYS[6], 'presence') ~= 'available' then return 'target_unavailable' end
if redis.call('SCARD', KEYS[4]) + redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[3]) then
  return 'target_at_capacity'
end
redis.call('HSET', KEYS[2], 'from', ARGV[1], 'to', ARGV[2], 'reason', ARGV[4], 'note', ARGV[5],
  'expires_ms', ARGV[6], 'from_name', ARGV[11], 'to_name', ARGV[12])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[10])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[8]))
local expires_in = tonumber(ARGV[13])
redis.call('PUBLISH', ARGV[9], cjson.encode({users = {ARGV[1]}, frame = {type = 'consult_sent',
  chat_id = ARGV[10], to = ARGV[2], name = ARGV[12], reason = ARGV[4], expires_in_s = expires_in}}))
redis.call('PUBLISH', ARGV[9], cjson.encode({users = {ARGV[2]}, sealed_note = true,
  frame = {type = 'consult_request', chat_id = ARGV[10], alias = info[3] or '',
    topic = info[4] or '', language = info[5] or '', from = ARGV[1], name = ARGV[11],
    reason = ARGV[4], note = ARGV[5], expires_in_s = expires_in}}))
return 'ok'
"""

# KEYS[1] consult hash, KEYS[2] consults zset.
# ARGV: chat id, the field that must name the user ('from', 'to' or '' for the sweep), user,
# now ms ('' = no matter when; else only once lapsed), the holder's result, the colleague's
# reason, channel.
_CLOSE = """
local c = redis.call('HMGET', KEYS[1], 'from', 'to', 'expires_ms', 'to_name')
if not c[1] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 'not_found'
end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[3] then return 'not_found' end
if ARGV[4] ~= '' and tonumber(c[3]) > tonumber(ARGV[4]) then return 'not_due' end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[7], cjson.encode({users = {c[1]}, frame = {type = 'consult_result',
  chat_id = ARGV[1], result = ARGV[5], to = c[2], name = c[4] or ''}}))
redis.call('PUBLISH', ARGV[7], cjson.encode({users = {c[2]}, frame = {
  type = 'consult_withdrawn', chat_id = ARGV[1], reason = ARGV[6]}}))
return 'ok'
"""

_OPEN_REFUSALS: Final = {
    "chat_not_found": (ErrorCode.CHAT_NOT_FOUND, "the chat has ended"),
    "not_your_chat": (ErrorCode.NOT_YOUR_CHAT, "this chat is not yours"),
    "consult_pending": (
        ErrorCode.NOT_ALLOWED_NOW,
        "a colleague is already being consulted about this chat",
    ),
    "target_unavailable": (ErrorCode.TARGET_UNAVAILABLE, "that colleague is not available"),
    "target_at_capacity": (
        ErrorCode.TARGET_AT_CAPACITY,
        "that colleague has no room for another chat",
    ),
}


@dataclass(frozen=True, slots=True)
class PendingConsult:
    """A consult as stored (``note`` still sealed with the chat's key)."""

    chat_id: str
    holder: str
    colleague: str
    reason: str
    note: str
    holder_name: str
    expires_ms: int


class ConsultStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self.channel = keys.consult_channel
        self._open = redis.register_script(_OPEN)
        self._close = redis.register_script(_CLOSE)

    async def open(
        self, chat_id: str, *, holder: str, holder_name: str, colleague: str,
        colleague_name: str, colleague_capacity: int, reason: str, sealed_note: str,
        now_ms: int, timeout_s: int,
    ) -> None:  # fmt: skip
        """Consult ``colleague`` about ``holder``'s chat and tell both sides; raises
        ProtocolError (chat_not_found, not_your_chat, not_allowed_now: one is pending,
        target_unavailable, target_at_capacity)."""
        k = self._keys
        status = as_str(
            await self._open(
                keys=[k.chat(chat_id), k.chat_consult(chat_id), k.consults,
                      k.staff_chats(colleague), k.staff_offers(colleague),
                      k.staff_presence(colleague)],
                args=[holder, colleague, colleague_capacity, reason, sealed_note,
                      now_ms + timeout_s * 1000, timeout_s + CONSULT_GRACE_S,
                      max(INDEX_TTL_S, timeout_s + CONSULT_GRACE_S), self.channel, chat_id,
                      holder_name, colleague_name, timeout_s],
            )
        )  # fmt: skip
        if status != "ok":
            code, message = _OPEN_REFUSALS.get(status, (ErrorCode.NOT_ALLOWED_NOW, status))
            raise ProtocolError(code, message)

    async def get(self, chat_id: str) -> PendingConsult | None:
        fields = str_dict(await self._redis.hgetall(self._keys.chat_consult(chat_id)))
        if not fields.get("from"):
            return None
        return PendingConsult(
            chat_id=chat_id,
            holder=fields["from"],
            colleague=fields.get("to", ""),
            reason=fields.get("reason", ""),
            note=fields.get("note", ""),
            holder_name=fields.get("from_name", ""),
            expires_ms=int(fields.get("expires_ms", 0)),
        )

    async def close(
        self, chat_id: str, *, result: str, colleague_reason: str, by_field: str = "",
        user: str = "", lapsed_by_ms: int | None = None,
    ) -> bool:  # fmt: skip
        """End the pending consult of ``chat_id`` and tell both sides (``consult_result``
        with ``result`` to the holder, ``consult_withdrawn`` with ``colleague_reason`` to the
        colleague). Only if the consult's ``by_field`` ("from" or "to") is ``user``, and, with
        ``lapsed_by_ms``, only if it had lapsed by then. False if nothing was closed."""
        k = self._keys
        status = await self._close(
            keys=[k.chat_consult(chat_id), k.consults],
            args=[chat_id, by_field, user, "" if lapsed_by_ms is None else lapsed_by_ms,
                  result, colleague_reason, self.channel],
        )  # fmt: skip
        return as_str(status) == "ok"

    async def pending(self) -> list[tuple[str, str, int]]:
        """Every pending consult as (chat id, colleague, lapses at ms), soonest first."""
        k = self._keys
        rows: list[Any] = await self._redis.zrange(k.consults, 0, -1, withscores=True)
        if not rows:
            return []
        chat_ids = [as_str(chat_id) for chat_id, _ in rows]
        async with self._redis.pipeline(transaction=False) as pipe:
            for chat_id in chat_ids:
                pipe.hget(k.chat_consult(chat_id), "to")
            colleagues = await pipe.execute()
        return [
            (chat_id, as_str(to) if to is not None else "", int(score))
            for chat_id, (_, score), to in zip(chat_ids, rows, colleagues, strict=True)
        ]

    async def publish(self, users: list[str], frame: dict[str, object]) -> None:
        """One frame for every console of ``users``, on every instance."""
        await self._redis.publish(self.channel, json.dumps({"users": users, "frame": frame}))
