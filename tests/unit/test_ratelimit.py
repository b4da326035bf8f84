"""Unit tests of the token bucket that limits visitor floods."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat_server.domain.ratelimit import Bucket, take

T0_MS = 1_750_000_000_000


def spend_all(bucket: Bucket, now_ms: int) -> tuple[int, Bucket]:
    """Take one token at a time at ``now_ms`` until refused; returns how many were allowed."""
    allowed_count = 0
    while True:
        allowed, bucket = take(bucket, now_ms)
        if not allowed:
            return allowed_count, bucket
        allowed_count += 1


def test_full_bucket_allows_a_burst_then_refuses() -> None:
    """A fresh bucket allows exactly `burst` messages at once, then refuses."""
    count, _ = spend_all(Bucket.full(T0_MS, rate_per_s=1.0, burst=8), T0_MS)
    assert count == 8


def test_refused_take_keeps_the_tokens() -> None:
    """A refused take spends nothing."""
    bucket = Bucket(tokens=0.5, updated_ms=T0_MS, rate_per_s=1.0, burst=8)
    allowed, after = take(bucket, T0_MS)
    assert not allowed
    assert after.tokens == 0.5


def test_refills_over_time() -> None:
    """Tokens come back at rate_per_s: after 2.5 s at 1/s two more messages pass."""
    _, empty = spend_all(Bucket.full(T0_MS, rate_per_s=1.0, burst=8), T0_MS)
    count, _ = spend_all(empty, T0_MS + 2500)
    assert count == 2


def test_partial_refill_is_not_enough() -> None:
    """Less than one token's worth of time does not allow a message."""
    _, empty = spend_all(Bucket.full(T0_MS, rate_per_s=1.0, burst=8), T0_MS)
    allowed, _ = take(empty, T0_MS + 999)
    assert not allowed
    allowed, _ = take(empty, T0_MS + 1000)
    assert allowed


def test_never_refills_above_burst() -> None:
    """However long the wait, at most `burst` messages pass at once."""
    _, empty = spend_all(Bucket.full(T0_MS, rate_per_s=1.0, burst=8), T0_MS)
    count, _ = spend_all(empty, T0_MS + 3_600_000)
    assert count == 8


def test_cost_above_one() -> None:
    """A take may cost several tokens."""
    bucket = Bucket.full(T0_MS, rate_per_s=1.0, burst=3)
    allowed, bucket = take(bucket, T0_MS, cost=2)
    assert allowed
    allowed, bucket = take(bucket, T0_MS, cost=2)
    assert not allowed
    assert bucket.tokens == 1


def test_clock_going_backwards_adds_no_tokens() -> None:
    """A take at an earlier time than the last one refills nothing."""
    _, empty = spend_all(Bucket.full(T0_MS, rate_per_s=1.0, burst=8), T0_MS)
    allowed, after = take(empty, T0_MS - 60_000)
    assert not allowed
    assert after.tokens == 0


@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=-5_000, max_value=5_000), st.sampled_from([0.5, 1, 2])),
        max_size=40,
    )
)
def test_tokens_stay_between_zero_and_burst(steps: list[tuple[int, float]]) -> None:
    """Whatever the clock does, tokens never go below zero nor above burst."""
    bucket = Bucket.full(T0_MS, rate_per_s=2.0, burst=5)
    now_ms = T0_MS
    for delta_ms, cost in steps:
        now_ms += delta_ms
        _, bucket = take(bucket, now_ms, cost)
        assert 0 <= bucket.tokens <= bucket.burst


@given(
    rate=st.sampled_from([0.5, 1.0, 4.0]),
    times=st.lists(st.integers(min_value=0, max_value=20_000), max_size=60),
)
def test_allowed_count_is_bounded_by_burst_plus_refill(rate: float, times: list[int]) -> None:
    """Over an interval of d seconds at most burst + rate*d messages pass."""
    burst = 3
    bucket = Bucket.full(T0_MS, rate_per_s=rate, burst=burst)
    allowed_count = 0
    for offset_ms in sorted(times):
        allowed, bucket = take(bucket, T0_MS + offset_ms)
        allowed_count += allowed
    span_s = max(times, default=0) / 1000
    assert allowed_count <= burst + rate * span_s + 1e-9


def test_clock_jump_back_and_forth_grants_nothing() -> None:
    """Stepping the clock back a minute and then forward to the same instant refills nothing."""
    _, empty = spend_all(Bucket.full(T0_MS, rate_per_s=1.0, burst=8), T0_MS)
    _, after_back = take(empty, T0_MS - 60_000)
    allowed, _ = take(after_back, T0_MS)
    assert not allowed
