"""Flood control without addresses: a proof-of-work challenge once starts come too fast.

When chat starts and callback requests together, across all instances, pass a configured
rate, a new start must carry the solution of a small proof of work: a counter such that
``SHA-256(challenge + ":" + counter)`` begins with ``bits`` zero bits. The difficulty grows
with the flood and is capped so that a phone solves it in about a second (docs/widget.md).

A challenge is stateless: ``1.<bits>.<expires_ms>.<nonce>.<mac>``, signed with HMAC-SHA256
under a service key that every instance shares, so any instance can check it. Only the use of
a challenge is remembered (by the store, for its lifetime) so that it cannot be replayed.
Pure: no I/O; time and randomness are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Final

CHALLENGE_VERSION: Final = "1"
NONCE_BYTES: Final = 16
MAC_BYTES: Final = 16
MAX_CHALLENGE_CHARS: Final = 128
MAX_SOLUTION_CHARS: Final = 20
WINDOW_MS: Final = 60_000
# Bits added per doubling of the rate over the limit: each doubling makes a start four times
# dearer, so a flood that admits more pays more until it is held back.
BITS_PER_DOUBLING: Final = 2


class PowRefused(Exception):
    """A solution that does not open the way; ``code`` is the protocol's error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


POW_REQUIRED: Final = "pow_required"
POW_INVALID: Final = "pow_invalid"
POW_EXPIRED: Final = "pow_expired"
POW_REPLAYED: Final = "pow_replayed"


@dataclass(frozen=True, slots=True)
class FloodPolicy:
    """``starts_per_min`` 0 switches flood control off."""

    starts_per_min: int = 60
    min_bits: int = 10
    max_bits: int = 14
    challenge_ttl_s: int = 60

    def __post_init__(self) -> None:
        if self.starts_per_min < 0:
            raise ValueError("starts_per_min must be ≥ 0")
        if not 1 <= self.min_bits <= self.max_bits <= 32:
            raise ValueError("need 1 ≤ min_bits ≤ max_bits ≤ 32")
        if self.challenge_ttl_s < 5:
            raise ValueError("challenge_ttl_s must be at least 5")


@dataclass(frozen=True, slots=True)
class Challenge:
    text: str
    bits: int
    expires_ms: int
    nonce: str


def window_of(now_ms: int) -> int:
    """The number of the minute window ``now_ms`` falls in."""
    return now_ms // WINDOW_MS


def recent_rate(current: int, previous: int, now_ms: int) -> float:
    """Starts in the last minute, estimated from this window's and the previous window's
    counts (the previous one weighted by how much of it the last minute still covers)."""
    into = (now_ms % WINDOW_MS) / WINDOW_MS
    return current + previous * (1.0 - into)


def required_bits(rate_per_min: float, policy: FloodPolicy) -> int:
    """0 below the limit; from the limit on ``min_bits``, plus BITS_PER_DOUBLING for every
    doubling of the rate over the limit, capped at ``max_bits``."""
    limit = policy.starts_per_min
    if limit <= 0 or rate_per_min < limit:
        return 0
    extra = math.floor(BITS_PER_DOUBLING * math.log2(rate_per_min / limit))
    return min(policy.max_bits, policy.min_bits + extra)


def _mac(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()[:MAC_BYTES].hex()


def issue(key: bytes, bits: int, now_ms: int, nonce: bytes, ttl_s: int) -> Challenge:
    """A signed challenge of ``bits`` bits that expires ``ttl_s`` after ``now_ms``."""
    expires_ms = now_ms + ttl_s * 1000
    body = f"{CHALLENGE_VERSION}.{bits}.{expires_ms}.{nonce.hex()}"
    return Challenge(f"{body}.{_mac(key, body)}", bits, expires_ms, nonce.hex())


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def work_digest(challenge: str, solution: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{solution}".encode()).digest()


def verify(key: bytes, challenge: str, solution: str, now_ms: int) -> Challenge:
    """The challenge a correct, unexpired solution answers. Raises PowRefused: POW_INVALID
    (malformed, not signed by ``key``, or the work is not done), POW_EXPIRED."""
    parts = challenge.split(".")
    if len(parts) != 5 or parts[0] != CHALLENGE_VERSION:
        raise PowRefused(POW_INVALID, "not a challenge of this service")
    _, bits_text, expires_text, nonce, mac = parts
    body = ".".join(parts[:4])
    if not hmac.compare_digest(mac.encode(), _mac(key, body).encode()):  # any text: bytes
        raise PowRefused(POW_INVALID, "not a challenge of this service")
    bits, expires_ms = int(bits_text), int(expires_text)  # signed by us: well formed
    if now_ms >= expires_ms:
        raise PowRefused(POW_EXPIRED, "the challenge has expired")
    if not solution.isascii() or not solution.isdigit() or len(solution) > MAX_SOLUTION_CHARS:
        raise PowRefused(POW_INVALID, "the solution must be a decimal counter")
    if leading_zero_bits(work_digest(challenge, solution)) < bits:
        raise PowRefused(POW_INVALID, "the solution does not solve the challenge")
    return Challenge(challenge, bits, expires_ms, nonce)


def solve(challenge: str, bits: int, start: int = 0) -> str:
    """The first counter from ``start`` that solves ``challenge`` (what a client does; the
    tests and the benchmark's bots use it)."""
    prefix = hashlib.sha256(f"{challenge}:".encode())
    counter = start
    while True:
        attempt = prefix.copy()
        attempt.update(str(counter).encode())
        if leading_zero_bits(attempt.digest()) >= bits:
            return str(counter)
        counter += 1
