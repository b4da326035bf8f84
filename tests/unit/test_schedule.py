"""Opening hours: parsing, clock edges, Swedish holidays, DST days and the widget status."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_server.domain import schedule
from chat_server.domain.schedule import (
    OpeningHours,
    ScheduleError,
    ScheduleStatus,
    closes_at,
    is_intake_open,
    is_open,
    next_opening,
    parse_dates,
    parse_weekly_schedule,
    periods_on,
    status,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
OFFICE_SPEC = "mon-thu 09:00-16:00; fri 09:00-12:00,13:00-15:00; sat-sun closed"
OFFICE = OpeningHours(weekly=parse_weekly_schedule(OFFICE_SPEC), intake_close_before_min=15)
EVERY_DAY = OpeningHours(
    weekly=parse_weekly_schedule("mon-sun 10:00-14:00"), intake_close_before_min=0
)


def local(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    """An aware datetime on the Stockholm wall clock."""
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=STOCKHOLM)


def utc(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    """An aware datetime in UTC."""
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def sundays(
    spec: str, intake_close_before_min: int = 0, observe_public_holidays: bool = True
) -> OpeningHours:
    """A schedule open on Sundays only, the day DST changes in Europe."""
    return OpeningHours(
        weekly=parse_weekly_schedule(f"sun {spec}"),
        intake_close_before_min=intake_close_before_min,
        observe_public_holidays=observe_public_holidays,
    )


# --- parsing -------------------------------------------------------------------------------


def test_parse_weekly_schedule_reads_ranges_lunch_breaks_and_closed_days() -> None:
    """Day ranges expand, a lunch break gives two periods and every weekday is present."""
    weekly = parse_weekly_schedule(OFFICE_SPEC)
    assert weekly[0] == weekly[3] == ((time(9), time(16)),)
    assert weekly[4] == ((time(9), time(12)), (time(13), time(15)))
    assert weekly[5] == weekly[6] == ()
    assert sorted(weekly) == list(range(7))


def test_parse_weekly_schedule_accepts_swedish_days_dots_and_en_dashes() -> None:
    """Swedish abbreviations, "stängt", 9.00 and an en dash are read like their English forms."""
    weekly = parse_weekly_schedule(
        "MÅN-ons,fre 9.00–16.00; tor 09:00-12:00, 13:00-15:30; lör stängt"
    )
    assert weekly[0] == weekly[2] == weekly[4] == ((time(9), time(16)),)
    assert weekly[3] == ((time(9), time(12)), (time(13), time(15, 30)))
    assert weekly[5] == weekly[6] == ()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty weekly schedule"),
        (" ; ", "empty weekly schedule"),
        ("mon", "expected days then hours"),
        ("mond 09:00-16:00", "unknown day 'mond'"),
        ("fri-mon 09:00-16:00", "runs backwards"),
        ("mon-fri 09:00-16:00; fri 10:00-12:00", "fri is given more than once"),
        ("mon 25:00-26:00", "bad time '25:00'"),
        ("mon 09:60-16:00", "bad time '09:60'"),
        ("mon 9am-4pm", "bad time '9am'"),
        ("mon 09:00", "should look like 09:00-16:00"),
        ("mon 16:00-09:00", "ends at or before it starts"),
        ("mon 09:00-09:00", "ends at or before it starts"),
        ("mon 22:00-02:00", "cannot span midnight"),
        ("mon 09:00-12:00,11:00-15:00", "09:00-12:00 and 11:00-15:00 overlap"),
        ("mon 09:00-12:00,12:00-15:00", "overlap or touch"),
    ],
)
def test_parse_weekly_schedule_rejects_bad_specs_clearly(spec: str, message: str) -> None:
    """Each kind of mistake raises ScheduleError, a ValueError, saying what is wrong."""
    with pytest.raises(ScheduleError, match=message) as caught:
        parse_weekly_schedule(spec)
    assert isinstance(caught.value, ValueError)


def test_parse_dates_reads_commas_and_spaces() -> None:
    """Dates separated by commas or spaces parse; an empty spec gives no dates."""
    assert parse_dates("2026-12-24, 2026-12-31 2027-01-02,") == {
        date(2026, 12, 24),
        date(2026, 12, 31),
        date(2027, 1, 2),
    }
    assert parse_dates("  ") == frozenset()


@pytest.mark.parametrize("spec", ["2026-13-01", "2026-02-30", "24/12/2026", "20261224", "tomorrow"])
def test_parse_dates_rejects_what_is_not_an_iso_date(spec: str) -> None:
    """An item that is not a real YYYY-MM-DD date is named in the error."""
    with pytest.raises(ScheduleError, match=f"bad date '{spec}'"):
        parse_dates(f"2026-12-24,{spec}")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weekly": {7: ()}}, "weekday 7"),
        ({"intake_close_before_min": -1}, "cannot be negative"),
        ({"tz": "Europe/Uppsala"}, "unknown time zone"),
        ({"extra_open": {date(2026, 12, 24): ((time(14), time(10)),)}}, "2026-12-24: period"),
        ({"weekly": {0: ((time(9), time(12)), (time(11), time(13)))}}, "mon: periods"),
    ],
)
def test_opening_hours_rejects_invalid_settings(options: dict[str, object], message: str) -> None:
    """Schedules built in code are validated as strictly as parsed ones."""
    settings: dict[str, object] = {"weekly": {}, "intake_close_before_min": 15} | options
    with pytest.raises(ScheduleError, match=message):
        OpeningHours(**settings)  # type: ignore[arg-type]


def test_opening_hours_keeps_its_own_copy_of_the_weekly_schedule() -> None:
    """Changing the dict a schedule was built from does not change the schedule."""
    weekly = {0: ((time(9), time(16)),)}
    hours = OpeningHours(weekly=weekly, intake_close_before_min=0)
    weekly[1] = ((time(9), time(16)),)
    assert 1 not in hours.weekly
    assert hash(hours) == hash(OpeningHours(weekly=weekly, intake_close_before_min=0))


# --- a normal week -------------------------------------------------------------------------


def test_open_during_weekday_hours_and_closed_outside_them() -> None:
    """Tuesday 10:00 is open; 08:00 and 20:00 are closed."""
    assert is_open(OFFICE, local(2026, 3, 10, 10))
    assert not is_open(OFFICE, local(2026, 3, 10, 8))
    assert not is_open(OFFICE, local(2026, 3, 10, 20))


def test_start_is_inside_and_end_is_outside_a_period() -> None:
    """At exactly 09:00 the chat is open; at exactly 16:00 it is closed."""
    assert is_open(OFFICE, local(2026, 3, 10, 9))
    assert not is_open(OFFICE, local(2026, 3, 10, 8, 59, 59, 999999))
    assert is_open(OFFICE, local(2026, 3, 10, 15, 59, 59, 999999))
    assert not is_open(OFFICE, local(2026, 3, 10, 16))
    assert closes_at(OFFICE, local(2026, 3, 10, 16)) is None


def test_intake_closes_exactly_the_cutoff_before_closing() -> None:
    """Intake is open at 15:44:59 and closed from 15:45, while the chat itself stays open."""
    assert is_intake_open(OFFICE, local(2026, 3, 10, 15, 44, 59))
    assert not is_intake_open(OFFICE, local(2026, 3, 10, 15, 45))
    assert is_open(OFFICE, local(2026, 3, 10, 15, 45))
    assert is_intake_open(OFFICE, local(2026, 3, 10, 9))


def test_lunch_break_closes_the_chat_and_its_intake() -> None:
    """Friday intake stops at 11:45, the chat at 12:00, and both reopen at 13:00."""
    assert is_intake_open(OFFICE, local(2026, 3, 13, 11, 44, 59))
    assert not is_intake_open(OFFICE, local(2026, 3, 13, 11, 45))
    assert not is_open(OFFICE, local(2026, 3, 13, 12, 30))
    assert is_intake_open(OFFICE, local(2026, 3, 13, 13))
    assert closes_at(OFFICE, local(2026, 3, 13, 11, 50)) == local(2026, 3, 13, 12)


def test_weekend_is_closed() -> None:
    """Saturday and Sunday have no periods in the office schedule."""
    assert not is_open(OFFICE, local(2026, 3, 14, 10))
    assert not is_open(OFFICE, local(2026, 3, 15, 10))


def test_now_in_another_zone_means_the_same_instant() -> None:
    """08:30 UTC in March is 09:30 in Stockholm, so the chat is open."""
    assert is_open(OFFICE, utc(2026, 3, 10, 8, 30))
    assert not is_open(OFFICE, utc(2026, 3, 10, 7, 30))


# --- holidays and closures -----------------------------------------------------------------


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 6),  # Trettondedag jul, a Tuesday
        date(2026, 4, 5),  # Påskdagen, a Sunday
        date(2026, 6, 6),  # Nationaldagen, a Saturday
        date(2026, 12, 25),  # Juldagen, a Friday
    ],
)
def test_swedish_public_holidays_close_the_chat(holiday: date) -> None:
    """A public holiday from the library closes a day the weekly schedule would open."""
    assert not is_open(EVERY_DAY, local(holiday.year, holiday.month, holiday.day, 11))
    unobserved = OpeningHours(
        weekly=EVERY_DAY.weekly, intake_close_before_min=0, observe_public_holidays=False
    )
    assert is_open(unobserved, local(holiday.year, holiday.month, holiday.day, 11))


def test_ordinary_sunday_follows_the_weekly_schedule() -> None:
    """A plain Sunday is not treated as a holiday, whatever the library's Sunday default."""
    assert is_open(EVERY_DAY, local(2026, 3, 15, 11))


@pytest.mark.parametrize("eve", [date(2026, 6, 19), date(2026, 12, 24), date(2026, 12, 31)])
def test_holiday_eves_close_only_when_asked(eve: date) -> None:
    """Midsommarafton, julafton and nyårsafton are no public holidays but can be observed."""
    assert is_open(EVERY_DAY, local(eve.year, eve.month, eve.day, 11))
    with_eves = OpeningHours(
        weekly=EVERY_DAY.weekly, intake_close_before_min=0, observe_holiday_eves=True
    )
    assert not is_open(with_eves, local(eve.year, eve.month, eve.day, 11))


def test_closed_dates_close_and_extra_open_overrules_everything() -> None:
    """A closure date closes a weekday; extra opening hours win over closures and holidays."""
    training_day, epiphany = date(2026, 3, 11), date(2026, 1, 6)
    hours = OpeningHours(
        weekly=OFFICE.weekly,
        intake_close_before_min=15,
        closed_dates=frozenset({training_day, epiphany}),
        extra_open={epiphany: ((time(10), time(14)),)},
    )
    assert periods_on(hours, training_day) == ()
    assert not is_open(hours, local(2026, 3, 11, 10))
    assert periods_on(hours, epiphany) == ((time(10), time(14)),)
    assert is_open(hours, local(2026, 1, 6, 10))
    assert not is_open(hours, local(2026, 1, 6, 9))


# --- next opening ----------------------------------------------------------------------------


def test_next_opening_crosses_the_weekend() -> None:
    """After Friday's close the next opening is Monday 09:00 Stockholm time."""
    opening = next_opening(OFFICE, local(2026, 3, 13, 15))
    assert opening == local(2026, 3, 16, 9)
    assert opening is not None and opening.tzinfo == STOCKHOLM


def test_next_opening_crosses_easter_and_the_change_to_summer_time() -> None:
    """From Maundy Thursday evening it skips Good Friday to Easter Monday: Tuesday 09:00 CEST."""
    opening = next_opening(OFFICE, utc(2026, 4, 2, 15))
    assert opening == utc(2026, 4, 7, 7)
    assert opening is not None and opening.utcoffset() == timedelta(hours=2)


def test_next_opening_skips_closure_dates_and_christmas() -> None:
    """Closed on julafton by date and on juldagen by law, the chat reopens Monday the 28th."""
    hours = OpeningHours(
        weekly=OFFICE.weekly, intake_close_before_min=15, closed_dates=parse_dates("2026-12-24")
    )
    assert next_opening(hours, local(2026, 12, 23, 16)) == local(2026, 12, 28, 9)


def test_next_opening_is_strictly_after_now() -> None:
    """At exactly 09:00, and during lunch, the next opening is a later start."""
    assert next_opening(OFFICE, local(2026, 3, 10, 9)) == local(2026, 3, 11, 9)
    assert next_opening(OFFICE, local(2026, 3, 13, 12, 10)) == local(2026, 3, 13, 13)


def test_next_opening_skips_periods_too_short_for_intake() -> None:
    """A 20-minute period with a 30-minute cutoff never takes chats, so it is not an opening."""
    hours = OpeningHours(
        weekly=parse_weekly_schedule("mon 10:00-10:20; tue 10:00-12:00"), intake_close_before_min=30
    )
    assert next_opening(hours, local(2026, 3, 8, 12)) == local(2026, 3, 10, 10)


def test_next_opening_is_none_when_nothing_is_planned() -> None:
    """A schedule closed every day has no next opening."""
    hours = OpeningHours(weekly=parse_weekly_schedule("mon-sun closed"), intake_close_before_min=0)
    assert next_opening(hours, local(2026, 3, 10, 10)) is None


# --- DST days in Europe/Stockholm ------------------------------------------------------------


def test_night_period_on_spring_forward_day_lasts_two_real_hours() -> None:
    """01:00-04:00 on 2026-03-29 runs from 00:00 to 02:00 UTC, across the 02:00→03:00 jump."""
    hours = sundays("01:00-04:00")
    assert not is_open(hours, utc(2026, 3, 28, 23, 59, 59))
    assert is_open(hours, utc(2026, 3, 29, 0))
    assert is_open(hours, utc(2026, 3, 29, 1, 59, 59))
    assert not is_open(hours, utc(2026, 3, 29, 2))
    assert closes_at(hours, utc(2026, 3, 29, 1)) == utc(2026, 3, 29, 2)


def test_night_period_on_fall_back_day_lasts_four_real_hours() -> None:
    """01:00-04:00 on 2026-10-25 runs from 23:00 to 03:00 UTC, through 02:00-03:00 twice."""
    hours = sundays("01:00-04:00")
    assert not is_open(hours, utc(2026, 10, 24, 22, 59, 59))
    assert is_open(hours, utc(2026, 10, 24, 23))
    assert is_open(hours, utc(2026, 10, 25, 1, 30))  # 02:30 winter time, the second pass
    assert is_open(hours, utc(2026, 10, 25, 2, 59, 59))
    assert not is_open(hours, utc(2026, 10, 25, 3))


@pytest.mark.parametrize(
    ("day", "opens_utc", "closes_utc"),
    [
        (date(2026, 3, 29), utc(2026, 3, 29, 7), utc(2026, 3, 29, 14)),
        (date(2026, 10, 25), utc(2026, 10, 25, 8), utc(2026, 10, 25, 15)),
    ],
)
def test_day_period_on_dst_days_keeps_its_wall_clock_times(
    day: date, opens_utc: datetime, closes_utc: datetime
) -> None:
    """09:00-16:00 on each DST Sunday opens and closes at the local times, whatever the offset."""
    hours = sundays("09:00-16:00")
    assert not is_open(hours, opens_utc - timedelta(seconds=1))
    assert is_open(hours, opens_utc)
    assert next_opening(hours, opens_utc - timedelta(hours=3)) == opens_utc
    assert closes_at(hours, opens_utc) == closes_utc
    assert not is_open(hours, closes_utc)


def test_start_in_the_spring_gap_means_the_moment_of_the_jump() -> None:
    """02:30 does not exist on 2026-03-29; a period starting then opens at 03:00 CEST."""
    hours = sundays("02:30-04:00")
    opening = next_opening(hours, local(2026, 3, 28, 20))
    assert opening == utc(2026, 3, 29, 1)
    assert opening is not None and (opening.hour, opening.minute) == (3, 0)
    assert not is_open(hours, utc(2026, 3, 29, 0, 59, 59))
    assert is_open(hours, utc(2026, 3, 29, 1))


def test_period_wholly_inside_the_spring_gap_does_not_happen() -> None:
    """02:10-02:50 on the spring-forward day never opens; the next Sunday's does."""
    hours = sundays("02:10-02:50", observe_public_holidays=False)
    assert not any(is_open(hours, utc(2026, 3, 29, 0, m)) for m in range(0, 60, 5))
    assert next_opening(hours, local(2026, 3, 28, 20)) == local(2026, 4, 5, 2, 10)


def test_repeated_time_on_fall_back_day_means_its_first_occurrence() -> None:
    """02:30 happens twice on 2026-10-25; a period starting then opens at 02:30 CEST."""
    hours = sundays("02:30-05:00")
    opening = next_opening(hours, local(2026, 10, 24, 20))
    # A datetime in the repeated hour never compares equal across zones (PEP 495): go via UTC.
    assert opening is not None and opening.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert opening.utcoffset() == timedelta(hours=2)
    assert is_open(hours, utc(2026, 10, 25, 0, 30))
    assert not is_open(hours, utc(2026, 10, 25, 0, 29, 59))


def test_now_in_the_repeated_hour_is_placed_by_its_fold() -> None:
    """02:20 winter time (fold=1) is after the 02:30 summer-time start, so the chat is open."""
    hours = sundays("02:30-05:00")
    second_pass = local(2026, 10, 25, 2, 20).replace(fold=1)
    assert is_open(hours, second_pass)
    assert not is_open(hours, local(2026, 10, 25, 2, 20))
    opening = next_opening(hours, second_pass)
    assert opening is not None and opening.astimezone(UTC) == utc(2026, 11, 1, 1, 30)


def test_intake_cutoff_counts_real_minutes_across_the_jump() -> None:
    """01:00-04:00 with a 90-minute cutoff stops intake at 01:30 CET on the spring day."""
    hours = sundays("01:00-04:00", intake_close_before_min=90)
    assert is_intake_open(hours, utc(2026, 3, 29, 0, 29, 59))
    assert not is_intake_open(hours, utc(2026, 3, 29, 0, 30))
    assert is_open(hours, utc(2026, 3, 29, 0, 30))


# --- the widget status and overrides ---------------------------------------------------------


def test_status_while_open_shows_the_closing_time() -> None:
    """During hours the status is open, takes chats and says when it closes."""
    assert status(OFFICE, local(2026, 3, 10, 10)) == ScheduleStatus(
        open=True, intake_open=True, closes_at=local(2026, 3, 10, 16), next_opening=None
    )


def test_status_after_intake_cutoff_shows_the_next_opening() -> None:
    """In the last 15 minutes the chat is open but intake is closed until tomorrow 09:00."""
    assert status(OFFICE, local(2026, 3, 10, 15, 50)) == ScheduleStatus(
        open=True,
        intake_open=False,
        closes_at=local(2026, 3, 10, 16),
        next_opening=local(2026, 3, 11, 9),
    )


def test_status_when_closed_shows_only_the_next_opening() -> None:
    """On Saturday the status is closed with Monday's opening."""
    assert status(OFFICE, local(2026, 3, 14, 10)) == ScheduleStatus(
        open=False, intake_open=False, closes_at=None, next_opening=local(2026, 3, 16, 9)
    )


def test_override_open_opens_a_closed_day() -> None:
    """A supervisor's "open" opens the chat on a Saturday with no closing time shown."""
    assert status(OFFICE, local(2026, 3, 14, 10), override="open") == ScheduleStatus(
        open=True, intake_open=True, closes_at=None, next_opening=None
    )


def test_override_closed_closes_the_rest_of_today() -> None:
    """A supervisor's "closed" on Friday morning skips Friday afternoon: next opening Monday."""
    assert status(OFFICE, local(2026, 3, 13, 10), override="closed") == ScheduleStatus(
        open=False, intake_open=False, closes_at=None, next_opening=local(2026, 3, 16, 9)
    )


def test_unknown_override_is_rejected() -> None:
    """An override other than "open", "closed" or None raises ValueError."""
    with pytest.raises(ValueError, match="unknown override 'shut'"):
        status(OFFICE, local(2026, 3, 13, 10), override="shut")


@pytest.mark.parametrize(
    "ask",
    [
        is_open,
        is_intake_open,
        closes_at,
        next_opening,
        status,
        lambda hours, now: status(hours, now, override="open"),
        lambda hours, now: status(hours, now, override="closed"),
    ],
)
def test_naive_now_is_rejected(ask: Callable[[OpeningHours, datetime], object]) -> None:
    """A datetime without a time zone is ambiguous, so every query refuses it."""
    with pytest.raises(ValueError, match="timezone-aware"):
        ask(OFFICE, datetime(2026, 3, 10, 10))


# --- properties --------------------------------------------------------------------------

# Lunch breaks, a night period cut by both DST changes and one lost in the spring gap.
TRICKY = OpeningHours(
    weekly=parse_weekly_schedule(
        "mon-fri 09:00-12:00,13:00-16:00; sun 01:00-02:10,02:20-02:50,02:55-04:00"
    ),
    intake_close_before_min=20,
    closed_dates=parse_dates("2026-12-24,2026-12-31"),
)
AWARE_INSTANTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.timezones()
)


@settings(database=None, deadline=None, max_examples=300)
@given(now=AWARE_INSTANTS)
def test_next_opening_is_later_and_takes_chats(now: datetime) -> None:
    """The next opening is after now, intake is open then, and closed just before if now."""
    opening = next_opening(TRICKY, now)
    assert opening is not None
    # UTC on both sides: same-zone comparison and arithmetic ignore DST folds.
    opening_utc, now_utc = opening.astimezone(UTC), now.astimezone(UTC)
    assert opening_utc > now_utc
    assert is_intake_open(TRICKY, opening)
    just_before = opening_utc - timedelta(microseconds=1)
    if not is_intake_open(TRICKY, now) and just_before > now_utc:
        assert not is_intake_open(TRICKY, just_before)


@settings(database=None, deadline=None, max_examples=300)
@given(now=AWARE_INSTANTS)
def test_status_is_consistent(now: datetime) -> None:
    """Intake implies open, and an open chat closes at a later instant."""
    current = status(TRICKY, now)
    assert current.open or not current.intake_open
    assert (current.closes_at is not None) == current.open
    assert current.closes_at is None or current.closes_at.astimezone(UTC) > now.astimezone(UTC)
    assert (current.next_opening is None) == current.intake_open


def test_schedule_module_stays_pure() -> None:
    """The schedule imports no I/O, clock or randomness module."""
    tree = ast.parse(Path(schedule.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    forbidden = {"aiohttp", "redis", "asyncio", "websockets", "time", "random", "os", "socket"}
    assert not {name.split(".")[0] for name in imported} & forbidden
