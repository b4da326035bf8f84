"""Tests of the visitor's waiting estimate and the callback overflow rule."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_server.domain.estimate import (
    DEFAULT_HANDLE_TIME_S,
    MAX_ESTIMATE_S,
    EstimateSettings,
    estimate_wait_s,
    overflow,
    typical_handle_time_s,
)


@pytest.mark.parametrize("capacity", [0, -1])
def test_no_estimate_when_nobody_is_on_duty(capacity: int) -> None:
    """Without chat slots on duty there is no honest estimate."""
    assert estimate_wait_s(1, capacity, [600]) is None


def test_positions_start_at_one() -> None:
    """Position 0 is a caller bug and raises ValueError."""
    with pytest.raises(ValueError, match="start at 1"):
        estimate_wait_s(0, 2, [600])


def test_default_handle_time_is_used_without_history() -> None:
    """Next in line with one slot waits half the default handle time (20 min → 10 min)."""
    assert DEFAULT_HANDLE_TIME_S == 1200
    assert estimate_wait_s(1, 1, []) == 600


def test_median_of_recent_handle_times_is_used() -> None:
    """One very long chat does not drag the estimate: the median is 600 s, not the mean."""
    assert estimate_wait_s(2, 1, [300, 6000, 600]) == 900


def test_unusable_handle_times_are_ignored() -> None:
    """Zero, negative and non-finite handle times are left out of the median."""
    assert typical_handle_time_s([0, -5, math.nan, math.inf, 600], 1200) == 600
    assert typical_handle_time_s([0, math.nan], 1200) == 1200


def test_more_slots_on_duty_shorten_the_wait() -> None:
    """Twice the slots halve the wait: position 3, 600 s chats, 1 vs 2 slots."""
    assert estimate_wait_s(3, 1, [600]) == 1500
    assert estimate_wait_s(3, 2, [600]) == 780  # 750 s rounded up to 13 min


def test_estimate_is_rounded_up_to_whole_minutes() -> None:
    """65 s is promised as two minutes, never as one."""
    assert estimate_wait_s(1, 1, [130]) == 120


def test_estimate_is_at_least_one_minute() -> None:
    """Even a very short expected wait is shown as one minute."""
    assert estimate_wait_s(1, 10, [10]) == 60


def test_estimate_is_capped() -> None:
    """A long queue is capped at max_estimate_s, rounded down to whole minutes."""
    assert estimate_wait_s(100, 1, [1200]) == MAX_ESTIMATE_S
    assert estimate_wait_s(100, 1, [1200], EstimateSettings(max_estimate_s=150)) == 120


def test_overflow_when_there_is_no_estimate() -> None:
    """With nobody on duty the visitor is offered a callback."""
    assert overflow(None, 0)


def test_overflow_when_the_estimate_passes_the_threshold() -> None:
    """Ten minutes is still fine; eleven minutes offers a callback."""
    assert not overflow(600, 1)
    assert overflow(660, 1)


def test_overflow_when_the_queue_reaches_its_cap() -> None:
    """Twenty waiting chats offer a callback even when the estimate is short."""
    assert not overflow(60, 19)
    assert overflow(60, 20)
    assert overflow(60, 5, EstimateSettings(overflow_queue_length=5))


@pytest.mark.parametrize(
    "kwargs",
    [{"default_handle_time_s": 0}, {"max_estimate_s": 59}, {"overflow_queue_length": 0}],
)
def test_impossible_settings_are_rejected(kwargs: dict[str, int]) -> None:
    """Settings that cannot give a sensible estimate raise ValueError."""
    with pytest.raises(ValueError):
        EstimateSettings(**kwargs)


# Mostly plausible handle times, with the odd unusable value (negative, NaN, infinite).
handle_times = st.lists(
    st.floats(min_value=-10, max_value=10_000) | st.sampled_from([math.nan, math.inf]), max_size=20
)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200), st.integers(1, 40), handle_times)
def test_estimate_is_whole_minutes_within_bounds(
    position: int, capacity: int, times: list[float]
) -> None:
    """Every estimate is a whole number of minutes between one minute and the cap."""
    wait_s = estimate_wait_s(position, capacity, times)
    assert wait_s is not None
    assert wait_s % 60 == 0
    assert 60 <= wait_s <= MAX_ESTIMATE_S


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200), st.integers(1, 40), handle_times)
def test_estimate_grows_with_position_and_shrinks_with_capacity(
    position: int, capacity: int, times: list[float]
) -> None:
    """Further back never waits less; more slots on duty never wait longer."""
    wait_s = estimate_wait_s(position, capacity, times)
    assert wait_s is not None
    behind = estimate_wait_s(position + 1, capacity, times)
    more_slots = estimate_wait_s(position, capacity + 1, times)
    assert behind is not None and behind >= wait_s
    assert more_slots is not None and more_slots <= wait_s
