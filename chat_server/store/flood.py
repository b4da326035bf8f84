"""The service-wide start counter and the spent challenges of flood control (domain/flood.py).

Keys, all with a TTL and none holding anything about a visitor:

- ``<prefix>flood:starts:<minute>``: how many chats were started and callback requests made
  in that minute, on every instance together (kept two minutes);
- ``<prefix>flood:used:<nonce>``: a challenge's random nonce once a start used it, until the
  challenge expires, so that a solution admits one start only, on whichever instance.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.asyncio import Redis

from ..domain import flood

COUNTER_TTL_S: Final = 2 * flood.WINDOW_MS // 1000 + 5
HKDF_INFO: Final = b"nexus-chat flood challenge v1"


def challenge_key(service_key: bytes) -> bytes:
    """The challenges' HMAC key: HKDF-SHA256 of the message key under its own label, so
    every instance signs alike and the message key itself is never used for this."""
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=HKDF_INFO).derive(service_key)


@dataclass(frozen=True, slots=True)
class Admitted:
    """The start may go ahead."""


@dataclass(frozen=True, slots=True)
class ChallengeNeeded:
    """The start must first solve ``challenge``; ``refused`` names what was wrong with the
    solution that came with it (a flood.POW_* code), or is flood.POW_REQUIRED when none did."""

    challenge: flood.Challenge
    refused: str = flood.POW_REQUIRED


Decision = Admitted | ChallengeNeeded


class FloodGate:
    """Decides whether a new chat or callback request needs a proof of work, checks one, and
    counts admitted starts. One per instance; they agree through Redis."""

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        policy: flood.FloodPolicy,
        key: bytes,
        clock_ms: Callable[[], int],
        on_challenge: Callable[[str, int], None] | None = None,
    ) -> None:
        """``on_challenge(reason, bits)`` hears of every challenge sent: reason
        flood.POW_REQUIRED or the POW_* code of the refused solution (for the metrics)."""
        self._redis = redis
        self._on_challenge = on_challenge
        self._prefix = prefix
        self.policy = policy
        self._key = key
        self._clock_ms = clock_ms

    def _starts_key(self, window: int) -> str:
        return f"{self._prefix}flood:starts:{window}"

    async def rate_per_min(self) -> float:
        """Starts in the last minute, all instances together."""
        now = self._clock_ms()
        window = flood.window_of(now)
        current, previous = await self._redis.mget(
            self._starts_key(window), self._starts_key(window - 1)
        )
        return flood.recent_rate(int(current or 0), int(previous or 0), now)

    async def required_bits(self) -> int:
        if self.policy.starts_per_min <= 0:
            return 0
        return flood.required_bits(await self.rate_per_min(), self.policy)

    def new_challenge(self, bits: int) -> flood.Challenge:
        now = self._clock_ms()
        nonce = secrets.token_bytes(flood.NONCE_BYTES)
        return flood.issue(self._key, bits, now, nonce, self.policy.challenge_ttl_s)

    async def check(self, challenge: str, solution: str) -> Decision:
        """Admitted when no proof of work is needed now, or ``challenge`` is ours, unexpired,
        unused and solved (it is then spent, atomically on every instance); else a fresh
        challenge, naming what was wrong. A solution that comes with the start is checked
        even when no flood is on, so a forged one is refused alike at all times."""
        if challenge or solution:
            try:
                used = flood.verify(self._key, challenge, solution, self._clock_ms())
            except flood.PowRefused as refused:
                return await self._again(refused.code)
            ttl_ms = max(1, used.expires_ms - self._clock_ms())
            spent = await self._redis.set(
                f"{self._prefix}flood:used:{used.nonce}", "1", px=ttl_ms, nx=True
            )
            return Admitted() if spent else await self._again(flood.POW_REPLAYED)
        bits = await self.required_bits()
        if bits == 0:
            return Admitted()
        return self._challenge(bits, flood.POW_REQUIRED)

    async def _again(self, code: str) -> ChallengeNeeded:
        return self._challenge(await self.required_bits() or self.policy.min_bits, code)

    def _challenge(self, bits: int, reason: str) -> ChallengeNeeded:
        if self._on_challenge is not None:
            self._on_challenge(reason, bits)
        return ChallengeNeeded(self.new_challenge(bits), reason)

    async def count_start(self) -> None:
        """One more chat started or callback request made (after it was stored)."""
        key = self._starts_key(flood.window_of(self._clock_ms()))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, COUNTER_TTL_S)
            await pipe.execute()
