"""Whether a new visitor can start a chat now, and what the widget tells them.

Pure: the opening hours, the supervisor's controls, the queue and the duty capacity go in;
the answer for ``GET /api/status`` and the visitor's ``start`` comes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .estimate import EstimateSettings, estimate_wait_s, overflow
from .schedule import OpeningHours, ScheduleError, parse_dates, parse_weekly_schedule, status


@dataclass(frozen=True, slots=True)
class Availability:
    open: bool
    intake_open: bool
    paused: bool
    next_opening: datetime | None
    closes_at: datetime | None
    waiting: int
    estimated_wait_s: int | None
    overflow: bool

    @property
    def accepts_new_chats(self) -> bool:
        return self.intake_open and not self.paused


def build_opening_hours(
    weekly_spec: str, closed_dates: str, intake_close_before_min: int, public_holidays: bool
) -> OpeningHours | None:
    """The configured opening hours, or None for "open all hours" (an empty spec).

    Raises ScheduleError on a spec it cannot read, so a bad setting stops the start."""
    if not weekly_spec.strip():
        return None
    return OpeningHours(
        weekly=parse_weekly_schedule(weekly_spec),
        intake_close_before_min=intake_close_before_min,
        closed_dates=parse_dates(closed_dates) if closed_dates.strip() else frozenset(),
        observe_public_holidays=public_holidays,
    )


def availability(
    hours: OpeningHours | None,
    now: datetime,
    *,
    paused: bool,
    override: str | None,
    waiting: int,
    on_duty_capacity: int,
    recent_handle_times_s: Sequence[float],
    estimates: EstimateSettings,
) -> Availability:
    """The service as a newcomer sees it; the estimate is for joining at the end of the queue."""
    if hours is None:
        is_open = intake = override != "closed"
        next_opening = closes_at = None
    else:
        sched = status(hours, now, override)
        is_open, intake = sched.open, sched.intake_open
        next_opening, closes_at = sched.next_opening, sched.closes_at
    estimate = estimate_wait_s(waiting + 1, on_duty_capacity, recent_handle_times_s, estimates)
    return Availability(
        open=is_open,
        intake_open=intake,
        paused=paused,
        next_opening=next_opening,
        closes_at=closes_at,
        waiting=waiting,
        estimated_wait_s=estimate,
        overflow=overflow(estimate, waiting, estimates),
    )


__all__ = ["Availability", "ScheduleError", "availability", "build_opening_hours"]
