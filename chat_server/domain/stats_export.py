"""Exporting the anonymous statistics: date ranges, small-cell suppression, CSV, the report.

Pure, like :mod:`chat_server.domain.stats`: the caller reads the per-day counters and passes
them in, with ``today``. Everything that leaves the service (a CSV file, the statistics page)
goes through :func:`suppress_small_cells`, so no count from 1 to 4 is ever shown.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from .stats import (
    ABANDON_WAIT,
    ABANDONED_BY_HOUR,
    ANSWERED_BY_HOUR,
    CALLBACKS_CANCELLED,
    CALLBACKS_COMPLETED,
    CALLBACKS_EXPIRED,
    CALLBACKS_FAILED,
    CALLBACKS_REQUESTED,
    CHATS_ABANDONED,
    CHATS_ABANDONED_SHORT,
    CHATS_ANSWERED,
    CHATS_OFFERED,
    DEFAULT_SERVICE_TARGETS_S,
    DEFAULT_VOCABULARY,
    END_REASON,
    FEEDBACK,
    FEEDBACK_RESPONSES,
    HANDLE,
    LANGUAGE,
    OFFERED_BY_HOUR,
    TOPIC,
    WAIT,
    Vocabulary,
    all_fields,
    bucket_label,
    is_counter_field,
    live_summary,
)

# --- date ranges --------------------------------------------------------------------------

MAX_EXPORT_DAYS: Final = 366
DEFAULT_RANGE_DAYS: Final = 28  # the statistics page's first view: four weeks to today
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class StatsRangeError(ValueError):
    """A date range that cannot be exported; ``code`` is stable, ``message`` is for people
    (Swedish first, English second)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class DateRange:
    """Whole days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a date range cannot end before it starts")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> Iterator[date]:
        """Every day of the range, in order."""
        return (self.start + timedelta(days=i) for i in range(self.days))


def _parse_day(text: str, name_sv: str, name_en: str) -> date:
    shown = repr(text[:20])
    problem = StatsRangeError(
        "invalid_date",
        f"Ogiltigt {name_sv} {shown}: skriv ÅÅÅÅ-MM-DD. / "
        f"Invalid {name_en} {shown}: write YYYY-MM-DD.",
    )
    # date.fromisoformat alone would also take "20240501" and "2024-W18-3".
    if not _ISO_DATE.fullmatch(text):
        raise problem
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise problem from None


def default_range(today: date) -> DateRange:
    """The DEFAULT_RANGE_DAYS days ending ``today`` (the service's day, not the browser's)."""
    return DateRange(today - timedelta(days=DEFAULT_RANGE_DAYS - 1), today)


def parse_date_range(
    start: str, end: str, today: date, max_days: int = MAX_EXPORT_DAYS
) -> DateRange:
    """The range from two YYYY-MM-DD strings; ``end`` may be today (a partial day) at latest.

    Raises :class:`StatsRangeError` with code ``invalid_date``, ``end_before_start``,
    ``end_in_future`` or ``range_too_long`` (more than ``max_days`` days).
    """
    first = _parse_day(start, "startdatum", "start date")
    last = _parse_day(end, "slutdatum", "end date")
    if last < first:
        raise StatsRangeError(
            "end_before_start",
            f"Slutdatum {last} ligger före startdatum {first}. / "
            f"The end date {last} is before the start date {first}.",
        )
    if last > today:
        raise StatsRangeError(
            "end_in_future",
            f"Slutdatum {last} ligger i framtiden (i dag är det {today}). / "
            f"The end date {last} is in the future (today is {today}).",
        )
    span = DateRange(first, last)
    if span.days > max_days:
        raise StatsRangeError(
            "range_too_long",
            f"Perioden är {span.days} dagar; högst {max_days} dagar åt gången. / "
            f"The range is {span.days} days; at most {max_days} days at a time.",
        )
    return span


# --- export: merging, small-cell suppression, CSV -----------------------------------------

MIN_PUBLISHED_COUNT: Final = 5
COMPLEMENTARY_MARKER: Final = "x"

# Fields whose members add up to a total. Members of a prefix group are every field of the
# row starting with the prefix. A group only binds a row where the sums really match (handle
# times, for instance, are optional), but then anyone who knows the rule can use it.
_PREFIX_GROUPS: Final = (
    (CHATS_OFFERED, (TOPIC, LANGUAGE, OFFERED_BY_HOUR, END_REASON)),
    (CHATS_ANSWERED, (WAIT, HANDLE, ANSWERED_BY_HOUR)),
    (CHATS_ABANDONED, (ABANDON_WAIT, ABANDONED_BY_HOUR)),
)
# Every survey question is such a group too: its answers add up to the forms (when every
# form answered it); the questions are found in the row (``feedback:<id>:*``).
_LISTED_GROUPS: Final = (
    (CHATS_OFFERED, (CHATS_ANSWERED, CHATS_ABANDONED)),
    (
        CALLBACKS_REQUESTED,
        (CALLBACKS_COMPLETED, CALLBACKS_FAILED, CALLBACKS_CANCELLED, CALLBACKS_EXPIRED),
    ),
    *(
        (
            f"{OFFERED_BY_HOUR}:{h:02d}",
            (f"{ANSWERED_BY_HOUR}:{h:02d}", f"{ABANDONED_BY_HOUR}:{h:02d}"),
        )
        for h in range(24)
    ),
)


def merge_days(days: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The field-by-field sum of several days' counters."""
    merged: dict[str, int] = {}
    for day in days:
        for field, count in day.items():
            merged[field] = merged.get(field, 0) + count
    return merged


def _groups(
    table: Mapping[str, int], extra: Iterable[tuple[str, Sequence[str]]] = ()
) -> list[tuple[str, list[str]]]:
    groups = [(total, list(members)) for total, members in (*_LISTED_GROUPS, *extra)]
    questions = {f.rsplit(":", 1)[0] for f in table if f.startswith(FEEDBACK + ":")}
    prefix_groups = [*_PREFIX_GROUPS, (FEEDBACK_RESPONSES, tuple(sorted(questions)))]
    for total, prefixes in prefix_groups:
        for prefix in prefixes:
            groups.append((total, sorted(f for f in table if f.startswith(prefix + ":"))))
    return [
        (total, members)
        for total, members in groups
        if table.get(total, 0) > 0 and sum(table.get(m, 0) for m in members) == table[total]
    ]


def _some_cell_pinned(bounds: list[tuple[float, float]], hidden_sum: int) -> bool:
    """Whether a known sum of hidden cells, each within its (low, high), fixes one of them."""
    lows = sum(low for low, _ in bounds)
    finite_highs = sum(high for _, high in bounds if math.isfinite(high))
    open_count = sum(1 for _, high in bounds if math.isinf(high))
    for low, high in bounds:
        if math.isinf(high):
            others_high = math.inf if open_count > 1 else finite_highs
        else:
            others_high = math.inf if open_count else finite_highs - high
        least = max(low, hidden_sum - others_high)
        most = min(high, hidden_sum - (lows - low))
        if least >= most:
            return True
    return False


def suppress_small_cells(
    table: Mapping[str, int],
    min_count: int = MIN_PUBLISHED_COUNT,
    extra_groups: Iterable[tuple[str, Sequence[str]]] = (),
) -> dict[str, str]:
    """One row of counters as export cells, with small counts withheld.

    A count of 1 to ``min_count − 1`` could point at a person in a municipality this size (a
    rare language on a quiet day), so it becomes ``"<5"``; 0 stays ``"0"`` (it reveals no one).

    Totals could give a withheld cell away (offered 20, answered 17, abandoned "<5"), so cells
    are also withheld *complementarily* (marked ``"x"``, always ≥ ``min_count``) until, in
    every group of fields known to add up to a total, no withheld cell can be computed exactly
    from the total, the published cells and the bounds the markers disclose. The smallest
    published member goes first; if none is left, the total itself. Limitations: groups are
    checked one at a time (combining several, as a linear program would, can narrow a withheld
    cell to a short interval) and rows are independent, so differencing two exports of
    overlapping ranges can still reveal a small count. No total row is emitted for that reason.
    ``extra_groups`` adds (total, members) groups of fields the caller put in the row (the
    evaluation report's months and weekdays).
    """
    small = f"<{min_count}"
    primary = {f for f, n in table.items() if 0 < n < min_count}
    extra: set[str] = set()
    groups = _groups(table, extra_groups)
    changed = True
    while changed:
        changed = False
        for total, members in groups:
            hidden = primary | extra
            in_view = sorted((table.get(m, 0), m) for m in members if m not in hidden)
            nonzero_in_view = [m for n, m in in_view if n > 0]
            hidden_members = [m for m in members if m in hidden]
            pick: str | None = None
            if total in hidden:
                # A withheld total is still given away if all its members are published.
                if not hidden_members and nonzero_in_view:
                    pick = nonzero_in_view[0]
            elif hidden_members:
                bounds = [_disclosed_bounds(m in primary, min_count) for m in hidden_members]
                hidden_sum = table[total] - sum(n for n, _ in in_view)
                if _some_cell_pinned(bounds, hidden_sum):
                    pick = nonzero_in_view[0] if nonzero_in_view else total
            if pick is not None:
                extra.add(pick)
                changed = True
    return {
        field: small if field in primary else COMPLEMENTARY_MARKER if field in extra else str(n)
        for field, n in table.items()
    }


def _disclosed_bounds(is_small: bool, min_count: int) -> tuple[float, float]:
    """What a marker tells a reader: "<5" is 1–4, "x" is at least 5 (see suppress_small_cells)."""
    return (1, min_count - 1) if is_small else (min_count, math.inf)


def to_csv_rows(
    per_day: Mapping[date, Mapping[str, int]],
    fields: Sequence[str],
    min_count: int = MIN_PUBLISHED_COUNT,
) -> list[list[str]]:
    """A header row (``date`` and ``fields``) and one suppressed row per day, oldest first.

    Suppression looks at the whole day, not just the exported fields, so choosing columns
    cannot undo it. A field the day lacks is "0". Every cell is a date, a number, "<5" or
    "x", so no cell can start a spreadsheet formula.
    """
    rows = [["date", *fields]]
    for day in sorted(per_day):
        cells = suppress_small_cells(per_day[day], min_count)
        rows.append([day.isoformat(), *(cells.get(field, "0") for field in fields)])
    return rows


def render_csv(rows: Iterable[Sequence[str]]) -> str:
    """The rows as RFC 4180 CSV text (comma-separated, CRLF line ends)."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


# --- the statistics page's report ---------------------------------------------------------

Cell = int | str
"""A published count, or "<5" / "x" where it is withheld (see suppress_small_cells)."""
_WEEK_FIELDS: Final = (CHATS_OFFERED, CHATS_ANSWERED, CHATS_ABANDONED)


def export_fields(
    per_day: Mapping[date, Mapping[str, int]], vocabulary: Vocabulary = DEFAULT_VOCABULARY
) -> list[str]:
    """The columns of an export: every field of the vocabulary, then any other well-formed
    field the days hold (counted under an earlier vocabulary), sorted."""
    known = all_fields(vocabulary)
    seen = {f for day in per_day.values() for f in day if is_counter_field(f)}
    return known + sorted(seen - set(known))


def _cell(cells: Mapping[str, str], field: str) -> Cell:
    text = cells.get(field, "0")
    return int(text) if text.isdigit() else text


def iso_weeks(span: DateRange) -> list[DateRange]:
    """The ISO weeks (Monday to Sunday) of ``span``, the first and last cut to the range."""
    weeks = []
    start = span.start
    while start <= span.end:
        sunday = start + timedelta(days=6 - start.weekday())
        weeks.append(DateRange(start, min(sunday, span.end)))
        start = sunday + timedelta(days=1)
    return weeks


def range_report(
    per_day: Mapping[date, Mapping[str, int]],
    span: DateRange,
    *,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    targets_s: Iterable[int] = DEFAULT_SERVICE_TARGETS_S,
    min_count: int = MIN_PUBLISHED_COUNT,
) -> dict[str, object]:
    """The statistics page's data for ``span``: the range's cells, its weeks, service levels.

    ``total`` maps every export field to a suppressed cell of the whole range; ``weeks`` gives
    each ISO week's offered, answered and abandoned cells. Service levels (rounded to whole
    per cent) and the median wait bucket are left out (None) when fewer than ``min_count``
    chats count towards them, since a share of a tiny number gives the number away.
    """
    targets = tuple(targets_s)
    total = merge_days(per_day.get(day, {}) for day in span.dates())
    cells = suppress_small_cells(total, min_count)
    weeks: list[dict[str, object]] = []
    for week in iso_weeks(span):
        week_cells = suppress_small_cells(
            merge_days(per_day.get(day, {}) for day in week.dates()), min_count
        )
        year, number, _ = week.start.isocalendar()
        weeks.append(
            {
                "week": f"{year}-W{number:02d}",
                "start": week.start.isoformat(),
                "end": week.end.isoformat(),
                **{f: _cell(week_cells, f) for f in _WEEK_FIELDS},
            }
        )
    summary = live_summary(total, targets)
    enough = total.get(CHATS_OFFERED, 0) - total.get(CHATS_ABANDONED_SHORT, 0) >= min_count
    median = summary.median_wait_s
    return {
        "start": span.start.isoformat(),
        "end": span.end.isoformat(),
        "days": span.days,
        "min_count": min_count,
        "total": {f: _cell(cells, f) for f in export_fields({span.start: total}, vocabulary)},
        "weeks": weeks,
        "service_levels": {
            str(t): round(level, 2) if enough and level is not None else None
            for t, level in summary.service_levels.items()
        },
        "median_wait": bucket_label(median) if enough and median is not None else None,
    }
