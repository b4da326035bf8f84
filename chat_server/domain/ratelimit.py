"""A token bucket for per-connection flood limits, as plain data and a pure step function."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    """``tokens`` available at ``updated_ms``; refills at ``rate_per_s`` up to ``burst``."""

    tokens: float
    updated_ms: int
    rate_per_s: float
    burst: float

    @classmethod
    def full(cls, now_ms: int, rate_per_s: float, burst: float) -> Bucket:
        return cls(tokens=burst, updated_ms=now_ms, rate_per_s=rate_per_s, burst=burst)


def take(bucket: Bucket, now_ms: int, cost: float = 1.0) -> tuple[bool, Bucket]:
    """Try to spend ``cost`` tokens; returns (allowed, the bucket afterwards)."""
    elapsed_s = max(0, now_ms - bucket.updated_ms) / 1000
    tokens = min(bucket.burst, bucket.tokens + elapsed_s * bucket.rate_per_s)
    # A clock that steps back must not earn tokens when it steps forward again.
    updated_ms = max(now_ms, bucket.updated_ms)
    if tokens >= cost:
        return True, Bucket(tokens - cost, updated_ms, bucket.rate_per_s, bucket.burst)
    return False, Bucket(tokens, updated_ms, bucket.rate_per_s, bucket.burst)
