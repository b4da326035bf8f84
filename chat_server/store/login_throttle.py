"""Slowing password guessing without ever locking a counsellor out, and TOTP replay refusal.

Three layers, all in Redis so every instance shares them:

- **Per account**: each failed login for a username raises its failure count (kept
  ``window_s`` after the last failure). From the ``free_failures``-th failure on, the next
  attempt for that username waits ``base_delay_s × 2^(n - free_failures)`` seconds (at most
  ``max_delay_s``) after the last failure *before its password is checked*. A wait, never a
  refusal: whoever knows the password gets in after at most ``max_delay_s``, whatever an
  attacker does meanwhile.
- **Globally**: failures of all accounts drain one token bucket (``global_burst`` tokens,
  refilled at ``global_per_s``). While it is empty (password spraying: a few guesses at many
  accounts) every attempt waits ``flood_delay_s`` before its check. Again never a refusal.
- The hashing itself is capped per instance (``Services.login_slots``), which bounds what
  parallel guessing can reach whatever the delays.

Usernames never appear in Redis: counters are keyed by HMAC-SHA256(key, username). The key is
``NEXUS_LOGIN_HASH_KEY`` when configured, else a random key kept in Redis for a day (so all
instances agree; after it expires old counters link to nothing).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis

from ..crypto import keyed_hash

HASH_KEY_TTL_S: Final = 86400
TOTP_REPLAY_TTL_S: Final = 120  # longer than the ±1-step window (90 s)

# KEYS[1] account hash. ARGV: now ms, window s. Returns the failure count after this one.
_RECORD_FAILURE = """
local n = redis.call('HINCRBY', KEYS[1], 'fails', 1)
redis.call('HSET', KEYS[1], 'last_ms', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return n
"""

# A token bucket. KEYS[1] bucket hash. ARGV: now ms, burst, refill per s, take (0|1), ttl s.
# Returns the tokens left (as a string: Lua numbers would be truncated to integers).
_GLOBAL_BUCKET = """
local now = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * tonumber(ARGV[3]))
if ARGV[4] == '1' then tokens = math.max(0, tokens - 1) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', math.max(now, ts))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(tokens)
"""

# KEYS[1] last used TOTP step of an account. ARGV: step, ttl s. 1 if the step is new.
_CLAIM_TOTP_STEP = """
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    free_failures: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 16.0
    window_s: int = 900
    global_burst: int = 30
    global_per_s: float = 0.5
    flood_delay_s: float = 8.0


def account_delay_s(failures: int, settings: ThrottleSettings) -> float:
    """How long after the last failure the next attempt for that account must wait."""
    if failures < settings.free_failures:
        return 0.0
    exponent = min(failures - settings.free_failures, 30)
    return float(min(settings.max_delay_s, settings.base_delay_s * 2**exponent))


class LoginThrottle:
    def __init__(
        self, redis: Redis, prefix: str, settings: ThrottleSettings, hash_key: bytes = b""
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.settings = settings
        self._fixed_key = hash_key
        self._global_key = f"{prefix}login:global"
        self._bucket = redis.register_script(_GLOBAL_BUCKET)
        self._failure = redis.register_script(_RECORD_FAILURE)
        self._totp = redis.register_script(_CLAIM_TOTP_STEP)

    async def _name_hash(self, username: str) -> str:
        key = self._fixed_key
        if not key:
            shared = f"{self._prefix}login:hash-key"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(shared, secrets.token_hex(32), nx=True, ex=HASH_KEY_TTL_S)
                pipe.get(shared)
                _, value = await pipe.execute()
            key = str(value).encode("ascii")
        return keyed_hash(key, username.strip().lower())

    def _account_key(self, name_hash: str) -> str:
        return f"{self._prefix}login:acct:{name_hash}"

    async def wait_before_check_s(self, username: str, now_ms: int) -> float:
        """Seconds this attempt must wait before its password is checked (0 if none)."""
        s = self.settings
        state = await self._redis.hmget(
            self._account_key(await self._name_hash(username)), ["fails", "last_ms"]
        )
        failures, last_ms = int(state[0] or 0), int(state[1] or 0)
        account_wait = last_ms / 1000 + account_delay_s(failures, s) - now_ms / 1000
        tokens = float(
            await self._bucket(
                keys=[self._global_key],
                args=[now_ms, s.global_burst, s.global_per_s, 0, s.window_s],
            )
        )
        flood_wait = s.flood_delay_s if tokens < 1 else 0.0
        return max(0.0, min(s.max_delay_s, account_wait), flood_wait)

    async def record_failure(self, username: str, now_ms: int) -> int:
        """Count a failed attempt for ``username`` and globally; returns its failure count."""
        s = self.settings
        key = self._account_key(await self._name_hash(username))
        failures = int(await self._failure(keys=[key], args=[now_ms, s.window_s]))
        await self._bucket(
            keys=[self._global_key], args=[now_ms, s.global_burst, s.global_per_s, 1, s.window_s]
        )
        return failures

    async def record_success(self, username: str) -> None:
        """Forget the account's failures (the global bucket refills by itself)."""
        await self._redis.delete(self._account_key(await self._name_hash(username)))

    async def claim_totp_step(self, username: str, step: int) -> bool:
        """True once per account and TOTP time step: a code is never accepted twice, and not
        after a later one was used."""
        key = f"{self._prefix}login:totp:{await self._name_hash(username)}"
        return bool(int(await self._totp(keys=[key], args=[step, TOTP_REPLAY_TTL_S])))
