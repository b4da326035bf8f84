"""Staff-only data of one chat: private notes and the ask-a-supervisor back-channel.

Both live under the chat's own key prefix, ``chat:<id>:notes`` (a hash holding the chat's
one note, which whoever holds the chat reads and writes: it moves with a transfer) and
``chat:<id>:staff`` (a stream), so ``end_chat.lua`` deletes them with
the chat. They take the chat's remaining TTL at every write (in the same script, so they never
exist without a TTL) and ``renew`` stretches them again while the chat lives on.

Ownership is checked inside the scripts: the note is open to the chat's counsellor only; the
back-channel of a chat is open to the chat's counsellor and to supervisors.
Their text is sealed with the chat's key (:mod:`.sealing`), in Redis and on pub/sub alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

from ..domain.protocol import ErrorCode, ProtocolError
from .codec import as_str, str_dict
from .sealing import NOTE, STAFF, ChatSeals

STAFF_STREAM_MAX_LEN: Final = 500

# The note is the chat's, in field '*' (no username can be "*"), so a transfer moves it with
# the chat; a note kept under its author's username (as before) is still read, and moves to
# that field at the next write.

# KEYS[1] chat hash, KEYS[2] notes hash. ARGV: username, text ('' deletes), write (1|0).
_NOTE = """
local info = redis.call('HMGET', KEYS[1], 'state', 'counsellor')
if not info[1] then return {'chat_not_found', ''} end
if info[2] ~= ARGV[1] then return {'not_your_chat', ''} end
if ARGV[3] ~= '1' then
  return {'ok', redis.call('HGET', KEYS[2], '*') or redis.call('HGET', KEYS[2], ARGV[1]) or ''}
end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[2], '*')
else
  redis.call('HSET', KEYS[2], '*', ARGV[2])
  redis.call('PEXPIRE', KEYS[2], math.max(1, redis.call('PTTL', KEYS[1])))
end
return {'ok', ARGV[2]}
"""

# KEYS[1] chat hash, KEYS[2] staff stream. ARGV: username, privileged (1|0), name, role,
# text, now ms, max length, channel, chat id. A supervisor writes into a chat they monitor
# (a whisper) or whose counsellor asked in it (among its last 50 entries), else
# 'not_monitoring'. Publishes the entry for supervisors and the
# chat's owner (the console channel's payload: who gets it, and the frame).
_POST_STAFF = """
local info = redis.call('HMGET', KEYS[1], 'state', 'counsellor', 'alias')
if not info[1] then return {'chat_not_found'} end
local owner = info[2] or ''
if ARGV[2] ~= '1' and owner ~= ARGV[1] then return {'not_your_chat'} end
if owner ~= ARGV[1] and redis.call('HEXISTS', KEYS[1] .. ':monitors', ARGV[1]) == 0 then
  local asked = false  -- a supervisor answers the counsellor's question, or whispers
  for _, entry in ipairs(redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 50)) do
    for i = 1, #entry[2], 2 do
      if entry[2][i] == 'from' and entry[2][i + 1] == owner then asked = true end
    end
  end
  if not asked then return {'not_monitoring'} end
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*',
  'from', ARGV[1], 'name', ARGV[3], 'role', ARGV[4], 'text', ARGV[5], 'ts', ARGV[6])
redis.call('PEXPIRE', KEYS[2], math.max(1, redis.call('PTTL', KEYS[1])))
redis.call('PUBLISH', ARGV[8], cjson.encode({supervisors = true, users = {owner},
  frame = {type = 'backchannel', chat_id = ARGV[9], alias = info[3] or '', id = id,
    from = ARGV[1], name = ARGV[3], role = ARGV[4], text = ARGV[5], ts = tonumber(ARGV[6]),
    counsellor = owner}}))
return {'ok', id, info[3] or '', owner}
"""

# KEYS[1] chat hash, KEYS[2] staff stream. ARGV: username, privileged (1|0).
_READ_ACCESS = """
local info = redis.call('HMGET', KEYS[1], 'state', 'counsellor', 'alias')
if not info[1] then return {'chat_not_found', ''} end
if ARGV[2] ~= '1' and (info[2] or '') ~= ARGV[1] then return {'not_your_chat', ''} end
return {'ok', info[3] or ''}
"""

# KEYS: chat hashes. Gives each chat's notes, staff stream and monitors (live supervision,
# store/monitors.py) the chat's remaining TTL.
_RENEW = """
for _, chat in ipairs(KEYS) do
  local ttl = redis.call('PTTL', chat)
  if ttl > 0 then
    redis.call('PEXPIRE', chat .. ':notes', ttl)
    redis.call('PEXPIRE', chat .. ':staff', ttl)
    redis.call('PEXPIRE', chat .. ':monitors', ttl)
  end
end
return 1
"""


@dataclass(frozen=True, slots=True)
class StaffEntry:
    """One back-channel message."""

    entry_id: str
    sender: str
    name: str
    role: str
    text: str
    ts_ms: int

    def as_frame_fields(self) -> dict[str, object]:
        return {
            "id": self.entry_id,
            "from": self.sender,
            "name": self.name,
            "role": self.role,
            "text": self.text,
            "ts": self.ts_ms,
        }


def _refuse(code: str) -> ProtocolError:
    if code == ErrorCode.NOT_YOUR_CHAT:
        return ProtocolError(code, "this chat belongs to another counsellor")
    if code == ErrorCode.NOT_MONITORING:
        return ProtocolError(code, "monitor the chat first, or wait for its counsellor to ask")
    return ProtocolError(ErrorCode.CHAT_NOT_FOUND, "the chat has ended or does not exist")


class NotesStore:
    def __init__(self, redis: Redis, prefix: str, seals: ChatSeals) -> None:
        self._redis = redis
        self._seals = seals
        self._prefix = prefix
        self.channel = f"{prefix}ch:console"
        self._note = redis.register_script(_NOTE)
        self._post = redis.register_script(_POST_STAFF)
        self._access = redis.register_script(_READ_ACCESS)
        self._renew = redis.register_script(_RENEW)

    def _chat(self, chat_id: str) -> str:
        return f"{self._prefix}chat:{chat_id}"

    async def _run_note(self, chat_id: str, username: str, text: str, write: bool) -> str:
        chat = self._chat(chat_id)
        status, value = await self._note(
            keys=[chat, f"{chat}:notes"], args=[username, text, "1" if write else "0"]
        )
        if status != "ok":
            raise _refuse(str(status))
        return as_str(value)

    async def save_note(self, chat_id: str, username: str, text: str) -> None:
        """Replace ``username``'s note on their chat ('' deletes it); raises ProtocolError."""
        sealed = await self._seals.seal(chat_id, NOTE, text) if text else ""
        await self._run_note(chat_id, username, sealed, write=True)

    async def note(self, chat_id: str, username: str) -> str:
        """``username``'s note on their chat ('' if none); raises ProtocolError."""
        sealed = await self._run_note(chat_id, username, "", write=False)
        return await self._seals.open(chat_id, NOTE, sealed) if sealed else ""

    async def open_staff(self, chat_id: str, sealed: str) -> str:
        """The text of a back-channel message as published (sealed); see ChatSeals.open."""
        return await self._seals.open(chat_id, STAFF, sealed)

    async def post_staff(
        self,
        chat_id: str,
        *,
        username: str,
        privileged: bool,
        name: str,
        role: str,
        text: str,
        now_ms: int,
    ) -> None:
        """Append to the chat's back-channel and publish it; raises ProtocolError."""
        chat = self._chat(chat_id)
        result = await self._post(
            keys=[chat, f"{chat}:staff"],
            args=[
                username,
                "1" if privileged else "0",
                name,
                role,
                await self._seals.seal(chat_id, STAFF, text),
                now_ms,
                STAFF_STREAM_MAX_LEN,
                self.channel,
                chat_id,
            ],
        )
        if result[0] != "ok":
            raise _refuse(str(result[0]))

    async def staff_history(
        self, chat_id: str, *, username: str, privileged: bool
    ) -> tuple[str, list[StaffEntry]]:
        """The chat's alias and back-channel; raises ProtocolError."""
        chat = self._chat(chat_id)
        status, alias = await self._access(
            keys=[chat, f"{chat}:staff"], args=[username, "1" if privileged else "0"]
        )
        if status != "ok":
            raise _refuse(str(status))
        stored = await self._redis.xrange(f"{chat}:staff")
        if not stored:
            return as_str(alias), []
        cipher = await self._seals.cipher(chat_id)
        entries = []
        for entry_id, raw in stored:
            fields = str_dict(raw)
            entries.append(
                StaffEntry(
                    entry_id=as_str(entry_id),
                    sender=fields.get("from", ""),
                    name=fields.get("name", ""),
                    role=fields.get("role", ""),
                    text=self._seals.open_with(cipher, chat_id, STAFF, fields.get("text", "")),
                    ts_ms=int(fields.get("ts", 0)),
                )
            )
        return as_str(alias), entries

    async def renew(self, chat_ids: list[str]) -> None:
        """Give the notes and back-channel of these chats their chat's remaining TTL."""
        if chat_ids:
            await self._renew(keys=[self._chat(c) for c in chat_ids], args=[])
