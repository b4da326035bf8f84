"""The pilot's evaluation report: the statistics of a period as tables a committee can read.

Pure, like :mod:`chat_server.domain.stats_export`: the caller reads the per-day counters of
the period and passes them in. Every number goes through the one suppression rule,
:func:`chat_server.domain.stats_export.suppress_small_cells`, applied **once** to one row that
holds the period's totals and the report's own breakdowns (months, weekdays) with the groups
they add up in, so every table shows the same withheld cells and none can be computed from
another table's total. Shares and service levels are given only where the counts they are
made of are at least ``min_count`` (a share of a tiny number gives the number away).

The report is in one language, Swedish (default) or English (:data:`REPORT_LANGUAGES`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from .outcomes import GROUP_REFERRAL, OUTCOMES
from .stats import (
    ABANDON_WAIT,
    CALLBACKS_CANCELLED,
    CALLBACKS_COMPLETED,
    CALLBACKS_EXPIRED,
    CALLBACKS_FAILED,
    CALLBACKS_REQUESTED,
    CALLBACKS_RETRY,
    CHATS_ABANDONED,
    CHATS_ABANDONED_SHORT,
    CHATS_ANSWERED,
    CHATS_OFFERED,
    CHATS_URGENT,
    DEFAULT_SERVICE_TARGETS_S,
    DEFAULT_VOCABULARY,
    FEEDBACK,
    FEEDBACK_RESPONSES,
    OFFERED_BY_HOUR,
    OTHER,
    TOPIC,
    UNSPECIFIED,
    WAIT,
    WAIT_BUCKETS_S,
    Vocabulary,
    bucket_label,
    live_summary,
)
from .stats_export import (
    COMPLEMENTARY_MARKER,
    MIN_PUBLISHED_COUNT,
    Cell,
    DateRange,
    StatsRangeError,
    merge_days,
    parse_date_range,
    suppress_small_cells,
)
from .survey import YES_NO, Question, Survey, text_in

REPORT_LANGUAGES: Final = ("sv", "en")
MAX_REPORT_DAYS: Final = 731  # two years, the pilot's evaluation period
_MONTH: Final = "report_month"
_WEEKDAY: Final = "report_weekday"
_WEEKDAY_HOUR: Final = "report_weekday_hours"
_BLOCK: Final = "report_hours"
HOURS_PER_BLOCK: Final = 3  # the weekday × time-of-day table: 8 blocks fit an A4 page

_WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "sv": {
        "title": "Nexus chatt – utvärdering av piloten",
        "period": "Period",
        "days": "dagar",
        "overview": "Sammanfattning",
        "contacts": "Kontakter",
        "by_month": "Chattar per månad",
        "by_weekday": "Chattar per veckodag",
        "by_hour": "Chattar per timme på dygnet",
        "by_weekday_hour": "Chattar per veckodag och tid på dygnet (klockslag)",
        "topics": "Vad chattarna handlade om",
        "topics_by_visitor": "Ämne som besökaren valde",
        "waits": "Väntetider och servicenivå",
        "wait": "Väntetid till svar",
        "wait_column": "Väntetid",
        "abandon_wait": "Hur länge de som lämnade kön hade väntat",
        "callbacks": "Återuppringning",
        "referrals": "Hänvisningar",
        "referral_kind": "Hänvisning",
        "survey": "Brukarundersökning",
        "month": "Månad",
        "weekday": "Veckodag",
        "hour": "Timme",
        "chats": "Chattar",
        "answered": "Besvarade",
        "abandoned": "Lämnade kön",
        "count": "Antal",
        "answer": "Svar",
        "whole_period": "Hela perioden",
        "offered": "Chattar totalt",
        "short": "Lämnade kön inom 10 sekunder",
        "urgent": "Markerade som brådskande",
        "urgent_share": "Andel markerade som brådskande",
        "median_wait": "Medianväntetid",
        "service_level": "Besvarade inom {target}",
        "cb_requested": "Önskade återuppringningar",
        "cb_completed": "Nådda",
        "cb_failed": "Inte nådda efter sista försöket",
        "cb_retry": "Försök utan svar (nytt försök planerat)",
        "cb_cancelled": "Avbokade av besökaren",
        "cb_expired": "Inte uppringda inom de valda tiderna",
        "cb_reached_share": "Andel nådda",
        "responses": "Svar på undersökningen",
        "not_answered": "Inte besvarad",
        "unspecified": "Inte angivet",
        "other": "Annat",
        "older_question": "Fråga som inte längre ställs",
        "no_data": "Det finns inga uppgifter för den här perioden.",
        "too_few": "för få för att redovisas",
        "small": "färre än 5",
        "hidden": "dolt",
        "suppression_note": (
            "Små antal visas inte, så att ingen enskild person kan pekas ut: 1–4 visas som "
            "”färre än 5”. ”Dolt” är ett antal på minst 5 som döljs för att ett litet antal "
            "annars skulle gå att räkna ut ur summan."
        ),
        "counting_note": (
            "Varje chatt räknas en gång, när den avslutas, på den dag och timme den kom in i "
            "kön. En chatt kan ha flera hänvisningar."
        ),
        "at_most": "högst {limit}",
        "over": "mer än {limit}",
        "created": "Uppgifterna kommer från den anonyma statistiken: bara antal per dag sparas.",
    },
    "en": {
        "title": "Nexus chat – evaluation of the pilot",
        "period": "Period",
        "days": "days",
        "overview": "Summary",
        "contacts": "Contacts",
        "by_month": "Chats per month",
        "by_weekday": "Chats per weekday",
        "by_hour": "Chats per hour of day",
        "by_weekday_hour": "Chats per weekday and time of day (hours)",
        "topics": "What the chats were about",
        "topics_by_visitor": "Topic the visitor chose",
        "waits": "Waiting times and service level",
        "wait": "Wait until answered",
        "wait_column": "Wait",
        "abandon_wait": "How long those who left the queue had waited",
        "callbacks": "Callbacks",
        "referrals": "Referrals",
        "referral_kind": "Referral",
        "survey": "User survey",
        "month": "Month",
        "weekday": "Weekday",
        "hour": "Hour",
        "chats": "Chats",
        "answered": "Answered",
        "abandoned": "Left the queue",
        "count": "Count",
        "answer": "Answer",
        "whole_period": "Whole period",
        "offered": "Chats in total",
        "short": "Left the queue within 10 seconds",
        "urgent": "Marked urgent",
        "urgent_share": "Share marked urgent",
        "median_wait": "Median wait",
        "service_level": "Answered within {target}",
        "cb_requested": "Callbacks requested",
        "cb_completed": "Reached",
        "cb_failed": "Not reached after the last attempt",
        "cb_retry": "Attempts without answer (another one planned)",
        "cb_cancelled": "Cancelled by the visitor",
        "cb_expired": "Not called within the chosen times",
        "cb_reached_share": "Share reached",
        "responses": "Survey answers",
        "not_answered": "Not answered",
        "unspecified": "Not given",
        "other": "Other",
        "older_question": "Question no longer asked",
        "no_data": "There is no data for this period.",
        "too_few": "too few to report",
        "small": "fewer than 5",
        "hidden": "withheld",
        "suppression_note": (
            "Small counts are not shown, so that no single person can be singled out: 1–4 is "
            "shown as “fewer than 5”. “Withheld” is a count of at least 5 that is hidden because "
            "a small count could otherwise be computed from the total."
        ),
        "counting_note": (
            "Every chat is counted once, when it ends, on the day and hour it entered the "
            "queue. A chat may have several referrals."
        ),
        "at_most": "at most {limit}",
        "over": "more than {limit}",
        "created": "The figures come from the anonymous statistics: only counts per day are kept.",
    },
}
_MONTHS: Final = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}  # fmt: skip
_WEEKDAYS: Final = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_CALLBACK_ROWS: Final = (
    ("cb_requested", CALLBACKS_REQUESTED),
    ("cb_completed", CALLBACKS_COMPLETED),
    ("cb_failed", CALLBACKS_FAILED),
    ("cb_cancelled", CALLBACKS_CANCELLED),
    ("cb_expired", CALLBACKS_EXPIRED),
    ("cb_retry", CALLBACKS_RETRY),
)


def words(lang: str) -> Mapping[str, str]:
    """The report's fixed texts in ``lang`` (one of :data:`REPORT_LANGUAGES`)."""
    return _WORDS[lang]


def format_day(day: date, lang: str) -> str:
    """A date as the report writes it: "6 maj 2024", "6 May 2024"."""
    return f"{day.day} {_MONTHS[lang][day.month - 1]} {day.year}"


def parse_report_language(raw: str) -> str:
    """``sv`` when empty, else one of :data:`REPORT_LANGUAGES`; raises
    :class:`StatsRangeError` ``unknown_language`` for anything else (not echoed whole)."""
    lang = raw or "sv"
    if lang not in REPORT_LANGUAGES:
        raise StatsRangeError(
            "unknown_language",
            f"Okänt språk {raw[:12]!r}: välj sv eller en. / "
            f"Unknown language {raw[:12]!r}: choose sv or en.",
        )
    return lang


def parse_report_period(start: str, end: str, today: date) -> DateRange:
    """The period of a report: as :func:`parse_date_range`, at most :data:`MAX_REPORT_DAYS`."""
    return parse_date_range(start, end, today, max_days=MAX_REPORT_DAYS)


# --- the report's data ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Table:
    """One table (and its bar chart, of the first value column when ``chart``)."""

    key: str
    title: str
    label_header: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell, ...]], ...]
    chart: bool = True
    total_row: bool = False  # the last row is the total: in the table, not in the chart


@dataclass(frozen=True, slots=True)
class Figure:
    """A key figure: its label and its value as shown (a number, a per cent, a bucket)."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    figures: tuple[Figure, ...]
    tables: tuple[Table, ...]


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    lang: str
    span: DateRange
    min_count: int
    has_data: bool
    sections: tuple[Section, ...]


def _months(span: DateRange) -> list[tuple[int, int]]:
    months = []
    for day in span.dates():
        if (day.year, day.month) not in months:
            months.append((day.year, day.month))
    return months


def _month_key(day: date) -> str:
    return f"{day.year}_{day.month:02d}"


def _weekday_key(day: date) -> str:
    return str(day.weekday())


def _report_row(
    per_day: Mapping[date, Mapping[str, int]], span: DateRange
) -> tuple[dict[str, int], list[tuple[str, list[str]]]]:
    """The period's totals plus month and weekday breakdowns, and the groups they form."""
    days = [per_day.get(day, {}) for day in span.dates()]
    row = merge_days(days)
    groups: list[tuple[str, list[str]]] = []
    measures = (CHATS_OFFERED, CHATS_ANSWERED, CHATS_ABANDONED)
    key_makers: tuple[tuple[str, Callable[[date], str]], ...] = (
        (_MONTH, _month_key),
        (_WEEKDAY, _weekday_key),
    )
    for kind, key_of in key_makers:
        keys: list[str] = []
        for day in span.dates():
            key = key_of(day)
            if key not in keys:
                keys.append(key)
            for measure in measures:
                field = f"{kind}:{measure}:{key}"
                row[field] = row.get(field, 0) + per_day.get(day, {}).get(measure, 0)
        for measure in measures:
            groups.append((measure, [f"{kind}:{measure}:{k}" for k in keys]))
        for key in keys:
            groups.append((f"{kind}:{CHATS_OFFERED}:{key}",
                           [f"{kind}:{m}:{key}" for m in measures[1:]]))  # fmt: skip
    groups += _weekday_hours(per_day, span, row)
    return row, groups


def _weekday_hours(
    per_day: Mapping[date, Mapping[str, int]], span: DateRange, row: dict[str, int]
) -> list[tuple[str, list[str]]]:
    """Adds chats offered per weekday and block of HOURS_PER_BLOCK hours to ``row``, and each
    block's total (never shown, but the published hours add up to it); returns the groups:
    a weekday's blocks add up to its chats, a block's weekdays and its hours to its total."""
    weekdays = sorted({_weekday_key(day) for day in span.dates()})
    blocks = range(24 // HOURS_PER_BLOCK)
    for day in span.dates():
        counts = per_day.get(day, {})
        for hour in range(24):
            n = counts.get(f"{OFFERED_BY_HOUR}:{hour:02d}", 0)
            field = f"{_WEEKDAY_HOUR}:{_weekday_key(day)}_{hour // HOURS_PER_BLOCK}"
            row[field] = row.get(field, 0) + n
            total = f"{_BLOCK}:{hour // HOURS_PER_BLOCK}"
            row[total] = row.get(total, 0) + n
    groups = [
        (f"{_WEEKDAY}:{CHATS_OFFERED}:{w}", [f"{_WEEKDAY_HOUR}:{w}_{b}" for b in blocks])
        for w in weekdays
    ]
    for b in blocks:
        hours = range(b * HOURS_PER_BLOCK, (b + 1) * HOURS_PER_BLOCK)
        groups.append((f"{_BLOCK}:{b}", [f"{_WEEKDAY_HOUR}:{w}_{b}" for w in weekdays]))
        groups.append((f"{_BLOCK}:{b}", [f"{OFFERED_BY_HOUR}:{h:02d}" for h in hours]))
    return groups


def _cell(cells: Mapping[str, str], field: str) -> Cell:
    text = cells.get(field, "0")
    return int(text) if text.isdigit() else text


def _duration(limit_s: float) -> str:
    return f"{int(limit_s)} s" if limit_s < 60 else f"{int(limit_s // 60)} min"


def _bucket_text(bounds: Sequence[float], index: int, lang: str) -> str:
    """A histogram bucket as a range: "högst 10 s", "10–30 s", "30 s–1 min", "mer än 30 min"."""
    w = words(lang)
    high = bounds[index]
    if index == 0:
        return w["at_most"].format(limit=_duration(high))
    low = bounds[index - 1]
    if math.isinf(high):
        return w["over"].format(limit=_duration(low))
    if (low < 60) == (high < 60):
        unit = "s" if high < 60 else "min"
        scale = 1 if high < 60 else 60
        return f"{int(low // scale)}–{int(high // scale)} {unit}"
    return f"{_duration(low)}–{_duration(high)}"


def _percent(part: Cell, whole: Cell, min_count: int, lang: str) -> str:
    if not isinstance(part, int) or not isinstance(whole, int) or whole < min_count:
        return words(lang)["too_few"]
    if 0 < part < min_count:  # never: a published part is 0 or ≥ min_count
        return words(lang)["too_few"]  # pragma: no cover
    return _format_percent(part / whole, lang)


def _format_percent(share: float, lang: str) -> str:
    number = f"{round(share * 100)}"
    return f"{number} %" if lang == "sv" else f"{number}%"


def shown_cell(cell: Cell, lang: str) -> str:
    """A cell as the page shows it: the number, "färre än 5" or "dolt"."""
    if isinstance(cell, int):
        return f"{cell:,}".replace(",", "\u00a0" if lang == "sv" else ",")
    return words(lang)["hidden"] if cell == COMPLEMENTARY_MARKER else words(lang)["small"]


def _topic_label(code: str, lang: str) -> str:
    if code in (OTHER, UNSPECIFIED):
        return words(lang)[code]
    for outcome in OUTCOMES:
        if outcome.code == f"topic_{code}":
            return outcome.label_sv if lang == "sv" else outcome.label_en
    return code


def build_report(
    per_day: Mapping[date, Mapping[str, int]],
    span: DateRange,
    *,
    lang: str = "sv",
    survey: Survey | None = None,
    vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    targets_s: Iterable[int] = DEFAULT_SERVICE_TARGETS_S,
    min_count: int = MIN_PUBLISHED_COUNT,
) -> EvaluationReport:
    """The evaluation report of ``span`` in ``lang`` from its days' counters (a missing day
    counts as empty). ``survey`` names the configured questions and answers; answers to
    questions it no longer has are shown under their codes. Raises ``KeyError`` for a
    language outside :data:`REPORT_LANGUAGES`."""
    w = words(lang)
    row, groups = _report_row(per_day, span)
    cells = suppress_small_cells(row, min_count, groups)

    def c(field: str) -> Cell:
        return _cell(cells, field)

    def rows(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, tuple[Cell, ...]], ...]:
        return tuple((label, (c(field),)) for label, field in pairs)

    has_data = any(n > 0 for field, n in row.items() if not field.startswith("report_"))
    months = [(f"{_MONTHS[lang][m - 1]} {y}", f"{y}_{m:02d}") for y, m in _months(span)]
    weekday_keys = list(dict.fromkeys(str(day.weekday()) for day in span.dates()))
    measures = (CHATS_OFFERED, CHATS_ANSWERED, CHATS_ABANDONED)
    counts = (w["chats"], w["answered"], w["abandoned"])
    total_row = (w["whole_period"], tuple(c(m) for m in measures))
    contacts = Section(
        "contacts",
        w["contacts"],
        (),
        (
            Table("months", w["by_month"], w["month"], counts, (
                *((label, tuple(c(f"{_MONTH}:{m}:{key}") for m in measures))
                  for label, key in months),
                total_row,
            ), total_row=True),
            Table("weekdays", w["by_weekday"], w["weekday"], counts, tuple(
                (_WEEKDAYS[lang][int(key)], tuple(c(f"{_WEEKDAY}:{m}:{key}") for m in measures))
                for key in sorted(weekday_keys)
            )),
            Table("weekday_hours", w["by_weekday_hour"], w["weekday"], tuple(
                f"{b * HOURS_PER_BLOCK:02d}–{(b + 1) * HOURS_PER_BLOCK % 24:02d}"
                for b in range(24 // HOURS_PER_BLOCK)
            ), tuple(
                (_WEEKDAYS[lang][int(key)], tuple(
                    c(f"{_WEEKDAY_HOUR}:{key}_{b}") for b in range(24 // HOURS_PER_BLOCK)))
                for key in sorted(weekday_keys)
            ), chart=False),
            Table("hours", w["by_hour"], w["hour"], (w["chats"],), rows(
                (f"{h:02d}–{(h + 1) % 24:02d}", f"{OFFERED_BY_HOUR}:{h:02d}") for h in range(24)
            )),
        ),
    )  # fmt: skip

    summary = live_summary(row, tuple(targets_s))
    eligible = row.get(CHATS_OFFERED, 0) - row.get(CHATS_ABANDONED_SHORT, 0)
    enough = eligible >= min_count
    median = summary.median_wait_s
    median_text = w["too_few"]
    if enough and median is not None:
        index = WAIT_BUCKETS_S.index(median)
        median_text = (
            w["at_most"].format(limit=_duration(median))
            if index < len(WAIT_BUCKETS_S) - 1
            else _bucket_text(WAIT_BUCKETS_S, index, lang)
        )

    def published(*fields: str) -> bool:
        return all(isinstance(c(f), int) for f in fields)

    # A share made only of published cells tells nothing new; one of a withheld cell would.
    levels = [
        Figure(
            w["service_level"].format(target=_duration(t)),
            w["too_few"] if not enough or level is None
            else _format_percent(level, lang) if published(
                CHATS_OFFERED, CHATS_ABANDONED_SHORT,
                *(f"{WAIT}:{bucket_label(b)}" for b in WAIT_BUCKETS_S if b <= t),
            )
            else w["hidden"],
        )
        for t, level in summary.service_levels.items()
    ]  # fmt: skip
    overview = Section(
        "overview",
        w["overview"],
        (
            Figure(w["offered"], shown_cell(c(CHATS_OFFERED), lang)),
            Figure(w["answered"], shown_cell(c(CHATS_ANSWERED), lang)),
            Figure(w["abandoned"], shown_cell(c(CHATS_ABANDONED), lang)),
            Figure(w["urgent"], shown_cell(c(CHATS_URGENT), lang)),
            Figure(w["urgent_share"], _percent(c(CHATS_URGENT), c(CHATS_OFFERED), min_count,
                                               lang)),
            Figure(w["median_wait"], median_text),
            *levels,
            Figure(w["cb_requested"], shown_cell(c(CALLBACKS_REQUESTED), lang)),
            Figure(w["responses"], shown_cell(c(FEEDBACK_RESPONSES), lang)),
        ),
        (),
    )  # fmt: skip

    topic_codes = (*vocabulary.topics, OTHER, UNSPECIFIED)
    topics = Section("topics", w["topics"], (), (
        Table("topics", w["topics_by_visitor"], w["topics"], (w["chats"],),
              rows((_topic_label(t, lang), f"{TOPIC}:{t}") for t in topic_codes)),
    ))  # fmt: skip

    bucket_rows = [(i, bucket_label(b)) for i, b in enumerate(WAIT_BUCKETS_S)]
    waits = Section(
        "waits",
        w["waits"],
        (
            Figure(w["median_wait"], median_text),
            *levels,
            Figure(w["abandoned"], shown_cell(c(CHATS_ABANDONED), lang)),
            Figure(w["short"], shown_cell(c(CHATS_ABANDONED_SHORT), lang)),
        ),
        (
            Table("waits", w["wait"], w["wait_column"], (w["answered"],), rows(
                (_bucket_text(WAIT_BUCKETS_S, i, lang), f"{WAIT}:{b}") for i, b in bucket_rows
            )),
            Table("abandon_waits", w["abandon_wait"], w["wait_column"], (w["abandoned"],), rows(
                (_bucket_text(WAIT_BUCKETS_S, i, lang), f"{ABANDON_WAIT}:{b}")
                for i, b in bucket_rows
            )),
        ),
    )  # fmt: skip

    callbacks = Section(
        "callbacks",
        w["callbacks"],
        (Figure(w["cb_reached_share"],
                _percent(c(CALLBACKS_COMPLETED), c(CALLBACKS_REQUESTED), min_count, lang)),),
        (Table("callbacks", w["callbacks"], w["callbacks"], (w["count"],),
               rows((w[key], field) for key, field in _CALLBACK_ROWS)),),
    )  # fmt: skip

    referral_rows = rows(
        (o.label_sv if lang == "sv" else o.label_en, f"outcome:{o.code}")
        for o in OUTCOMES
        if o.group == GROUP_REFERRAL and o.code in vocabulary.outcomes
    )
    referrals = Section("referrals", w["referrals"], (), (
        Table("referrals", w["referrals"], w["referral_kind"], (w["chats"],), referral_rows),
    ))  # fmt: skip

    survey_section = Section(
        "survey",
        w["survey"],
        (Figure(w["responses"], shown_cell(c(FEEDBACK_RESPONSES), lang)),),
        tuple(_survey_tables(row, c, survey, lang)),
    )
    return EvaluationReport(
        lang, span, min_count, has_data,
        (overview, contacts, topics, waits, callbacks, referrals, survey_section),
    )  # fmt: skip


_YES_NO: Final = {"sv": {"yes": "Ja", "no": "Nej"}, "en": {"yes": "Yes", "no": "No"}}


def _answer_label(question: Question, code: str, lang: str) -> str:
    if code == OTHER:
        return words(lang)["other"]
    if question.kind == YES_NO:
        return _YES_NO[lang][code]
    return question.answer_text(code, lang)


def _survey_tables(
    row: Mapping[str, int], cell: Callable[[str], Cell], survey: Survey | None, lang: str
) -> Iterable[Table]:
    """One table per configured question (its answers in order, then "other" if counted),
    then one per question found in the data that the survey no longer asks."""
    w = words(lang)
    questions = survey.questions if survey else ()
    prefix = FEEDBACK + ":"
    in_data: dict[str, set[str]] = {}
    for field in row:
        if field.startswith(prefix) and field.count(":") == 2:
            _, qid, code = field.split(":")
            in_data.setdefault(qid, set()).add(code)
    for question in questions:
        codes = [*question.answers, *([OTHER] if OTHER in in_data.get(question.id, ()) else [])]
        yield Table(
            f"survey_{question.id}",
            text_in(question.text, lang),
            w["answer"],
            (w["count"],),
            tuple(
                (_answer_label(question, code, lang), (cell(f"{prefix}{question.id}:{code}"),))
                for code in codes
            ),
        )
    for qid in sorted(set(in_data) - {q.id for q in questions}):
        yield Table(
            f"survey_{qid}",
            f"{w['older_question']}: {qid}",
            w["answer"],
            (w["count"],),
            tuple((code, (cell(f"{prefix}{qid}:{code}"),)) for code in sorted(in_data[qid])),
        )


def report_csv_rows(report: EvaluationReport) -> list[list[str]]:
    """The report's tables as CSV rows: a header, then one row per table cell
    (table, row, column, value), values as numbers, ``<5`` or ``x``. Key figures are not
    repeated: they are computed from the same cells."""
    header = {"sv": ["tabell", "rad", "kolumn", "värde"],
              "en": ["table", "row", "column", "value"]}[report.lang]  # fmt: skip
    out = [header]
    for section in report.sections:
        for table in section.tables:
            for label, values in table.rows:
                for column, value in zip(table.columns, values, strict=True):
                    out.append([table.title, label, column, str(value)])
    return out
