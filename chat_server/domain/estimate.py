"""Honest waiting estimates for the visitor, and when to offer a callback instead.

The estimate for the chat at queue ``position`` (1 = next in line) with ``N`` concurrent chat
slots on duty (the summed capacity of the counsellors on duty) and a typical handle time ``H``:

    wait = H × (position − ½) / N

Chats end one after another about every ``H / N`` seconds when all slots are busy; a visitor
arriving at a random moment is on average half such an interval from the next one, and needs
``position`` of them. ``H`` is the *median* of the recent handle times (one very long chat
should not frighten everyone away); without usable history it is ``default_handle_time_s``.

The result is rounded *up* to whole minutes (we would rather under-promise), is at least one
minute, and at most ``max_estimate_s`` (rounded down to whole minutes), which the widget shows as
"more than". With nobody on duty (``N ≤ 0``) there is no honest estimate: the result is None and
the widget says it cannot estimate and offers a callback.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

SECONDS_PER_MINUTE: Final = 60
DEFAULT_HANDLE_TIME_S: Final = 20 * SECONDS_PER_MINUTE
MAX_ESTIMATE_S: Final = 60 * SECONDS_PER_MINUTE
OVERFLOW_WAIT_S: Final = 10 * SECONDS_PER_MINUTE
OVERFLOW_QUEUE_LENGTH: Final = 20


@dataclass(frozen=True, slots=True)
class EstimateSettings:
    """Bounds of the estimate and the overflow thresholds; impossible values raise ValueError."""

    default_handle_time_s: int = DEFAULT_HANDLE_TIME_S
    max_estimate_s: int = MAX_ESTIMATE_S
    overflow_wait_s: int = OVERFLOW_WAIT_S
    overflow_queue_length: int = OVERFLOW_QUEUE_LENGTH

    def __post_init__(self) -> None:
        if self.default_handle_time_s <= 0:
            raise ValueError("default_handle_time_s must be positive")
        if self.max_estimate_s < SECONDS_PER_MINUTE:
            raise ValueError("max_estimate_s must be at least one minute")
        if self.overflow_wait_s < 0 or self.overflow_queue_length < 1:
            raise ValueError("overflow thresholds must be a wait ≥ 0 and a length ≥ 1")


def typical_handle_time_s(
    recent_handle_times_s: Sequence[float], default_handle_time_s: float
) -> float:
    """The median of the positive, finite recent handle times, or the default if none."""
    usable = [t for t in recent_handle_times_s if math.isfinite(t) and t > 0]
    return statistics.median(usable) if usable else default_handle_time_s


def estimate_wait_s(
    position: int,
    on_duty_capacity: int,
    recent_handle_times_s: Sequence[float],
    settings: EstimateSettings = EstimateSettings(),
) -> int | None:
    """The expected wait in whole minutes (as seconds) for the chat at ``position``.

    Returns None when nobody is on duty (``on_duty_capacity ≤ 0``). The formula and its bounds
    are in the module docstring. Raises ValueError if ``position`` is below 1.
    """
    if position < 1:
        raise ValueError("queue positions start at 1")
    if on_duty_capacity <= 0:
        return None
    handle_time_s = typical_handle_time_s(recent_handle_times_s, settings.default_handle_time_s)
    raw_wait_s = handle_time_s * (position - 0.5) / on_duty_capacity
    max_minutes = settings.max_estimate_s // SECONDS_PER_MINUTE
    minutes = min(max_minutes, max(1, math.ceil(raw_wait_s / SECONDS_PER_MINUTE)))
    return minutes * SECONDS_PER_MINUTE


def overflow(
    estimated_wait_s: int | None,
    queue_length: int,
    settings: EstimateSettings = EstimateSettings(),
) -> bool:
    """Whether to offer the visitor a callback instead of (or besides) waiting.

    True when there is no estimate (nobody on duty), when the estimate is longer than
    ``overflow_wait_s``, or when the queue has reached ``overflow_queue_length`` chats.
    """
    if estimated_wait_s is None:
        return True
    return (
        estimated_wait_s > settings.overflow_wait_s
        or queue_length >= settings.overflow_queue_length
    )
