"""Opening hours of the chat: a weekly schedule, closure dates and Swedish public holidays.

Pure: every function takes ``now`` (timezone-aware) from the caller and reads no clock.

Wall-clock rule. A period such as 09:00-16:00 is written in local time of ``OpeningHours.tz``.
A time ``t`` on a date means *the first instant at which the local clock on that date shows ``t``
or later*. So on the spring-forward day a time inside the gap (02:00-03:00 in Stockholm) means the
moment the clock jumps, 03:00 summer time; on the fall-back day a repeated time (02:00-03:00)
means its first occurrence, in summer time. This mapping never reorders times, so a period can
shrink (to nothing, if it lies wholly in the gap) but never turns inside out. The intake cutoff
counts real elapsed minutes back from the instant a period ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

Period = tuple[time, time]
Periods = tuple[Period, ...]

# Long enough to look past a summer closure; None after this means "no opening is planned".
NEXT_OPENING_SEARCH_DAYS = 366

_WEEKDAY_ABBRS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SWEDISH_WEEKDAY_ABBRS = ("mån", "tis", "ons", "tor", "fre", "lör", "sön")
_DAY_NUMBERS = {
    name: number
    for names in (_WEEKDAY_ABBRS, _SWEDISH_WEEKDAY_ABBRS)
    for number, name in enumerate(names)
}
_CLOSED_WORDS = frozenset({"closed", "stängt"})
_TIME_RE = re.compile(r"(\d{1,2})[:.](\d{2})")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ScheduleError(ValueError):
    """A schedule, date list or time zone that cannot be used; the message says what and why."""


@dataclass(frozen=True, kw_only=True)
class OpeningHours:
    """When the chat is staffed.

    ``weekly`` maps weekday (Monday=0 .. Sunday=6) to wall-clock periods; a missing day is
    closed. What a date gets, first rule that applies: its ``extra_open`` periods (which also
    overrule closures and holidays); closed if in ``closed_dates``; closed on a Swedish public
    holiday if ``observe_public_holidays`` (ordinary Sundays follow the weekly schedule; only
    named holidays such as Easter Day close); closed on midsummer, Christmas and New Year's eve
    if ``observe_holiday_eves``; otherwise its weekday's periods. Intake of new chats stops
    ``intake_close_before_min`` minutes before each period ends; chats in progress go on.

    Raises ScheduleError on a weekday outside 0..6, a period ending at or before its start,
    overlapping or touching periods, a negative cutoff or an unknown time zone.
    """

    weekly: Mapping[int, Periods] = field(hash=False)
    intake_close_before_min: int
    closed_dates: frozenset[date] = frozenset()
    extra_open: Mapping[date, Periods] = field(default_factory=dict, hash=False)
    observe_public_holidays: bool = True
    observe_holiday_eves: bool = False
    tz: str = "Europe/Stockholm"

    def __post_init__(self) -> None:
        for day in self.weekly:
            if day not in range(7):
                raise ScheduleError(f"weekday {day!r} is not 0 (Monday) .. 6 (Sunday)")
        weekly = {day: _checked_periods(p, _WEEKDAY_ABBRS[day]) for day, p in self.weekly.items()}
        extra = {day: _checked_periods(p, day.isoformat()) for day, p in self.extra_open.items()}
        if self.intake_close_before_min < 0:
            raise ScheduleError(
                f"intake_close_before_min is {self.intake_close_before_min}; it cannot be negative"
            )
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ScheduleError(f"unknown time zone {self.tz!r}") from error
        # Copies behind read-only views: the caller's dicts cannot change a frozen schedule.
        object.__setattr__(self, "weekly", MappingProxyType(weekly))
        object.__setattr__(self, "extra_open", MappingProxyType(extra))


@dataclass(frozen=True, slots=True)
class ScheduleStatus:
    """What the widget shows: whether the chat is open and takes new chats, and when that changes.

    ``closes_at`` is the end of the running period (None when closed or opened by override);
    ``next_opening`` is when intake next opens, set only while intake is closed.
    """

    open: bool
    intake_open: bool
    closes_at: datetime | None
    next_opening: datetime | None


def parse_weekly_schedule(spec: str) -> dict[int, Periods]:
    """Parse a spec such as ``"mon-thu 09:00-16:00; fri 09:00-12:00,13:00-15:00; sat-sun closed"``.

    Entries are separated by ``;``; each is days, a space, then hours. Days are English
    (mon..sun) or Swedish (mån..sön) abbreviations: one day or a Monday-first range, several
    joined by ``,``. Hours are ``closed`` (``stängt``) or ``HH:MM-HH:MM`` periods joined by ``,``
    (``.`` may separate hours and minutes, an en dash may replace the hyphen). Unmentioned days
    are closed. Returns all seven weekdays, Monday=0.

    Raises ScheduleError naming the entry at fault: an empty spec, an unknown day, a backwards
    range, a day given twice, a bad time, an end at or before its start (periods cannot span
    midnight), or overlapping or touching periods.
    """
    entries = [entry.strip() for entry in spec.replace("–", "-").split(";") if entry.strip()]
    if not entries:
        raise ScheduleError("empty weekly schedule; write 'mon-sun closed' to keep the chat closed")
    weekly: dict[int, Periods] = {}
    for entry in entries:
        days_text, _, hours_text = entry.partition(" ")
        if not hours_text.strip():
            raise ScheduleError(f"{entry!r}: expected days then hours, e.g. 'mon-fri 09:00-16:00'")
        periods = _checked_periods(_parse_hours(hours_text.strip(), entry), repr(entry))
        for day in _parse_days(days_text, entry):
            if day in weekly:
                raise ScheduleError(f"{entry!r}: {_WEEKDAY_ABBRS[day]} is given more than once")
            weekly[day] = periods
    return {day: weekly.get(day, ()) for day in range(7)}


def parse_dates(spec: str) -> frozenset[date]:
    """Parse ISO dates separated by commas or spaces, e.g. ``"2026-12-24,2026-12-31"``.

    An empty spec gives no dates. Raises ScheduleError naming the first item that is not a real
    YYYY-MM-DD date.
    """
    dates = set()
    for item in re.split(r"[,\s]+", spec.strip()):
        if not item:
            continue
        try:
            if not _DATE_RE.fullmatch(item):
                raise ValueError(item)
            dates.add(date.fromisoformat(item))
        except ValueError as error:
            raise ScheduleError(f"bad date {item!r}; use YYYY-MM-DD, e.g. 2026-12-24") from error
    return frozenset(dates)


def periods_on(hours: OpeningHours, day: date) -> Periods:
    """The wall-clock periods the chat is staffed on ``day``, after all closures and extras."""
    if day in hours.extra_open:
        return hours.extra_open[day]
    if day in hours.closed_dates:
        return ()
    if (hours.observe_public_holidays or hours.observe_holiday_eves) and day in _holiday_dates(
        day.year, hours.observe_public_holidays, hours.observe_holiday_eves
    ):
        return ()
    return hours.weekly.get(day.weekday(), ())


def is_open(hours: OpeningHours, now: datetime) -> bool:
    """True while ``now`` is inside a staffed period (start included, end excluded).

    Raises ValueError if ``now`` is naive.
    """
    return _running_period(hours, now) is not None


def is_intake_open(hours: OpeningHours, now: datetime) -> bool:
    """True while new chats are taken: open, and before the end less the intake cutoff.

    Raises ValueError if ``now`` is naive.
    """
    period = _running_period(hours, now)
    return period is not None and _utc(now) < period[1] - _intake_cutoff(hours)


def closes_at(hours: OpeningHours, now: datetime) -> datetime | None:
    """End of the running period in the schedule's time zone, or None when closed.

    Raises ValueError if ``now`` is naive.
    """
    period = _running_period(hours, now)
    return _in_zone(hours, None if period is None else period[1])


def next_opening(hours: OpeningHours, now: datetime) -> datetime | None:
    """The next instant strictly after ``now`` at which intake opens, in the schedule's zone.

    Periods too short to take chats after the cutoff are skipped. None if nothing opens within
    NEXT_OPENING_SEARCH_DAYS days. Raises ValueError if ``now`` is naive. Like every datetime
    returned here, compare it or add to it after ``.astimezone(UTC)``: Python does same-zone
    comparison and arithmetic on the wall clock, which misleads around DST changes.
    """
    now_utc = _utc(now)
    first_day = _local_date(hours, now) - timedelta(days=1)
    upcoming = (start for start in _intake_starts(hours, first_day) if start > now_utc)
    return _in_zone(hours, next(upcoming, None))


def status(hours: OpeningHours, now: datetime, override: str | None = None) -> ScheduleStatus:
    """The widget's view of the schedule at ``now``, with a supervisor's override for today.

    ``override`` "open" opens the chat and its intake whatever the schedule says (no scheduled
    closing is shown); "closed" closes both, and ``next_opening`` is the first intake opening on
    a later date. The caller passes an override only on the local date it was set for; chats in
    progress are not affected either way. Raises ValueError on a naive ``now`` or another
    override.
    """
    if override == "open":
        _utc(now)  # A naive now is still a caller bug.
        return ScheduleStatus(open=True, intake_open=True, closes_at=None, next_opening=None)
    if override == "closed":
        tomorrow = _local_date(hours, now) + timedelta(days=1)
        upcoming = _in_zone(hours, next(_intake_starts(hours, tomorrow), None))
        return ScheduleStatus(open=False, intake_open=False, closes_at=None, next_opening=upcoming)
    if override is not None:
        raise ValueError(f"unknown override {override!r}; expected 'open', 'closed' or None")
    intake_open = is_intake_open(hours, now)
    return ScheduleStatus(
        open=is_open(hours, now),
        intake_open=intake_open,
        closes_at=closes_at(hours, now),
        next_opening=None if intake_open else next_opening(hours, now),
    )


def _checked_periods(periods: Periods, where: str) -> Periods:
    """``periods`` sorted, or ScheduleError if one is empty or inverted, or two overlap/touch."""
    ordered = tuple(sorted(periods))
    for start, end in ordered:
        if end <= start:
            raise ScheduleError(
                f"{where}: period {_format(start, end)} ends at or before it starts"
                " (periods cannot span midnight)"
            )
    for (start_a, end_a), (start_b, end_b) in pairwise(ordered):
        if start_b <= end_a:
            raise ScheduleError(
                f"{where}: periods {_format(start_a, end_a)} and {_format(start_b, end_b)}"
                " overlap or touch; join them or leave a gap"
            )
    return ordered


def _format(start: time, end: time) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"


def _parse_days(text: str, entry: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        first, is_range, last = part.partition("-")
        first_day = _day_number(first, entry)
        last_day = _day_number(last, entry) if is_range else first_day
        if last_day < first_day:
            raise ScheduleError(f"{entry!r}: day range {part!r} runs backwards; start on Monday")
        days.extend(range(first_day, last_day + 1))
    return days


def _day_number(name: str, entry: str) -> int:
    number = _DAY_NUMBERS.get(name.strip())
    if number is None:
        raise ScheduleError(
            f"{entry!r}: unknown day {name.strip()!r}; use {' '.join(_WEEKDAY_ABBRS)}"
            f" or {' '.join(_SWEDISH_WEEKDAY_ABBRS)}"
        )
    return number


def _parse_hours(text: str, entry: str) -> Periods:
    if text.lower() in _CLOSED_WORDS:
        return ()
    periods: list[Period] = []
    for part in text.split(","):
        start_text, is_period, end_text = part.strip().partition("-")
        if not is_period:
            raise ScheduleError(f"{entry!r}: period {part.strip()!r} should look like 09:00-16:00")
        periods.append((_parse_time(start_text, entry), _parse_time(end_text, entry)))
    return tuple(periods)


def _parse_time(text: str, entry: str) -> time:
    match = _TIME_RE.fullmatch(text.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError(f"{entry!r}: bad time {text.strip()!r}; use HH:MM from 00:00 to 23:59")
    return time(int(match[1]), int(match[2]))


@lru_cache(maxsize=64)
def _holiday_dates(year: int, public: bool, eves: bool) -> frozenset[date]:
    """Named Swedish holidays of ``year`` (public ones and/or the eves), never plain Sundays."""
    categories = [name for name, wanted in (("public", public), ("de_facto", eves)) if wanted]
    # Some versions of the library count every Sunday as a holiday unless told otherwise;
    # Sundays follow the weekly schedule here, so only named holidays close the chat.
    calendar = holidays.country_holidays(
        "SE", years=year, categories=categories, include_sundays=False
    )
    return frozenset(calendar)


def _wall_instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock on ``day`` shows ``wall`` or later."""
    naive = datetime.combine(day, wall)
    earlier = naive.replace(tzinfo=zone)  # fold=0: the first occurrence of a repeated time
    instant = earlier.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # ``wall`` is skipped by a spring-forward jump. The two offsets bracket the jump: before
    # ``low`` the clock reads less than ``wall``, at ``high`` more. Bisect to the jump itself.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = instant
    one_second = timedelta(seconds=1)
    while high - low > one_second:
        middle = low + (high - low) // one_second // 2 * one_second
        if middle.astimezone(zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high


def _periods_from(
    hours: OpeningHours, first_day: date, days: int
) -> Iterator[tuple[datetime, datetime]]:
    """Staffed periods as (start, end) UTC instants, in order, for ``days`` days on."""
    zone = ZoneInfo(hours.tz)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for start, end in periods_on(hours, day):
            start_at, end_at = _wall_instant(day, start, zone), _wall_instant(day, end, zone)
            if start_at < end_at:  # A period wholly inside a DST gap never happens.
                yield start_at, end_at


def _intake_starts(hours: OpeningHours, first_day: date) -> Iterator[datetime]:
    """UTC starts of the periods that take chats, from ``first_day`` on."""
    for start, end in _periods_from(hours, first_day, NEXT_OPENING_SEARCH_DAYS + 1):
        if start < end - _intake_cutoff(hours):
            yield start


def _running_period(hours: OpeningHours, now: datetime) -> tuple[datetime, datetime] | None:
    """The (start, end) UTC instants of the period running at ``now``, if any."""
    now_utc = _utc(now)
    # Yesterday and tomorrow too, in case a DST rule moves a period across local midnight.
    first_day = _local_date(hours, now) - timedelta(days=1)
    periods = _periods_from(hours, first_day, 3)
    return next(((s, e) for s, e in periods if s <= now_utc < e), None)


def _in_zone(hours: OpeningHours, instant: datetime | None) -> datetime | None:
    return None if instant is None else instant.astimezone(ZoneInfo(hours.tz))


def _intake_cutoff(hours: OpeningHours) -> timedelta:
    return timedelta(minutes=hours.intake_close_before_min)


def _local_date(hours: OpeningHours, now: datetime) -> date:
    """The date in the schedule's zone at ``now``; ValueError if ``now`` is naive."""
    return _utc(now).astimezone(ZoneInfo(hours.tz)).date()


def _utc(now: datetime) -> datetime:
    """``now`` as a UTC instant; ValueError if it is naive.

    Every comparison here is between UTC instants: Python compares two datetimes of the same
    zone by wall clock, ignoring ``fold``, which is wrong in the repeated hour of a fall-back day.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC)")
    return now.astimezone(UTC)
