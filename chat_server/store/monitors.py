"""Who monitors a chat live: ``chat:<id>:monitors``, a hash of username → :class:`Monitor`.

The hash lives under the chat's own key prefix, so ``end_chat.lua`` deletes it with the chat;
it takes the chat's remaining TTL at every write (in the same script, so it never exists
without one) and ``NotesStore.renew`` stretches it with the notes while the chat lives on.
Every change is one script: the chat's state is checked and the hash written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ..domain.supervision import Monitor, monitors_in_order, refusal
from .codec import as_str

# KEYS[1] chat hash, KEYS[2] monitors hash. ARGV: username, stored monitor.
# A second console of the same supervisor keeps the first one's entry (HSETNX).
_START = """
local info = redis.call('HMGET', KEYS[1], 'state', 'counsellor', 'alias', 'topic',
  'language', 'answered_ms')
if not info[1] then return {'chat_not_found'} end
if info[1] ~= 'active' or not info[2] or info[2] == '' or info[2] == ARGV[1] then
  return {'not_allowed_now'}
end
local fresh = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], math.max(1, redis.call('PTTL', KEYS[1])))
return {'ok', info[2], info[3] or '', info[4] or '', info[5] or '', info[6] or '',
  tostring(fresh), unpack(redis.call('HGETALL', KEYS[2]))}
"""

# KEYS[1] chat hash, KEYS[2] monitors hash. ARGV: username, joined (1|0).
# Returns {status, was joined (1|0), counsellor, the monitors flat}.
_SET_JOINED = """
local info = redis.call('HMGET', KEYS[1], 'state', 'counsellor')
if not info[1] then return {'chat_not_found'} end
local value = redis.call('HGET', KEYS[2], ARGV[1])
if not value then return {'not_monitoring'} end
if info[1] ~= 'active' then return {'not_allowed_now'} end
local monitor = cjson.decode(value)
local was = monitor.joined and '1' or '0'
monitor.joined = ARGV[2] == '1'
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(monitor))
return {'ok', was, info[2] or '', unpack(redis.call('HGETALL', KEYS[2]))}
"""

# KEYS[1] chat hash, KEYS[2] monitors hash. ARGV: username.
# Returns {the removed entry or '', counsellor, the monitors left flat}.
_STOP = """
local value = redis.call('HGET', KEYS[2], ARGV[1]) or ''
redis.call('HDEL', KEYS[2], ARGV[1])
return {value, redis.call('HGET', KEYS[1], 'counsellor') or '',
  unpack(redis.call('HGETALL', KEYS[2]))}
"""

# ARGV[1] key prefix, ARGV[2..] usernames. The active chats each of them holds, flat groups
# of 7: id, counsellor, alias, topic, language, answered ms, monitors.
_ACTIVE = """
local out = {}
for i = 2, #ARGV do
  local user = ARGV[i]
  for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'staff:' .. user .. ':chats')) do
    local chat = ARGV[1] .. 'chat:' .. id
    local f = redis.call('HMGET', chat, 'state', 'counsellor', 'alias', 'topic', 'language',
      'answered_ms')
    if f[1] == 'active' and f[2] == user then
      table.insert(out, id)
      for j = 2, 6 do table.insert(out, f[j] or '') end
      table.insert(out, tostring(redis.call('HLEN', chat .. ':monitors')))
    end
  end
end
return out
"""


@dataclass(frozen=True, slots=True)
class MonitoredChat:
    """A chat a supervisor began to monitor, and everyone monitoring it now."""

    counsellor: str
    alias: str
    topic: str
    language: str
    answered_ms: int
    fresh: bool
    """False when this supervisor was monitoring it already (another console of theirs)."""
    monitors: list[Monitor]


@dataclass(frozen=True, slots=True)
class ActiveChat:
    chat_id: str
    counsellor: str
    alias: str
    topic: str
    language: str
    answered_ms: int
    monitors: int


def _monitors(flat: list[Any]) -> list[Monitor]:
    values = [as_str(v) for v in flat]
    return monitors_in_order(dict(zip(values[::2], values[1::2], strict=True)))


class MonitorStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self.channel = f"{prefix}ch:monitors"
        """Carries ``{"user", "chat_id"}`` when a supervisor stops monitoring a chat."""
        self._start = redis.register_script(_START)
        self._set_joined = redis.register_script(_SET_JOINED)
        self._stop = redis.register_script(_STOP)
        self._active = redis.register_script(_ACTIVE)

    def _keys(self, chat_id: str) -> list[str]:
        chat = f"{self._prefix}chat:{chat_id}"
        return [chat, f"{chat}:monitors"]

    async def start(self, chat_id: str, monitor: Monitor) -> MonitoredChat:
        """Add ``monitor`` to an active chat held by someone else; raises ProtocolError
        (chat_not_found, not_allowed_now)."""
        result = await self._start(keys=self._keys(chat_id), args=[monitor.user, monitor.stored()])
        status = as_str(result[0])
        if status != "ok":
            raise refusal(status)
        counsellor, alias, topic, language, answered, fresh = (as_str(v) for v in result[1:7])
        return MonitoredChat(counsellor, alias, topic, language, int(answered or 0),
                             fresh == "1", _monitors(result[7:]))  # fmt: skip

    async def set_joined(
        self, chat_id: str, user: str, joined: bool
    ) -> tuple[bool, str, list[Monitor]]:
        """Mark ``user`` joined (or not); returns (whether they were joined before, the
        counsellor, the monitors). Raises ProtocolError (chat_not_found, not_monitoring,
        not_allowed_now)."""
        result = await self._set_joined(keys=self._keys(chat_id), args=[user, int(joined)])
        status = as_str(result[0])
        if status != "ok":
            raise refusal(status)
        return as_str(result[1]) == "1", as_str(result[2]), _monitors(result[3:])

    async def stop(self, chat_id: str, user: str) -> tuple[Monitor | None, str, list[Monitor]]:
        """Remove ``user``; returns (their entry, None if they were not monitoring; the
        counsellor, '' when the chat is gone; the monitors left)."""
        result = await self._stop(keys=self._keys(chat_id), args=[user])
        removed = as_str(result[0])
        left = _monitors(result[2:])
        entry = _monitors([user, removed])[0] if removed else None
        return entry, as_str(result[1]), left

    async def monitors(self, chat_id: str) -> list[Monitor]:
        stored = await self._redis.hgetall(self._keys(chat_id)[1])
        return _monitors([x for pair in stored.items() for x in pair])

    async def active_chats(self, usernames: list[str]) -> list[ActiveChat]:
        """The active chats these counsellors hold, in one round trip."""
        if not usernames:
            return []
        flat = [as_str(v) for v in await self._active(keys=[], args=[self._prefix, *usernames])]
        rows = [flat[i : i + 7] for i in range(0, len(flat), 7)]
        return [
            ActiveChat(
                chat_id, counsellor, alias, topic, language, int(answered or 0), int(monitors or 0)
            )
            for chat_id, counsellor, alias, topic, language, answered, monitors in rows
        ]
