"""The evaluation report's data: the period's tables, one suppression for all, empty periods."""

from __future__ import annotations

from datetime import date

import pytest

from chat_server.domain.evaluation_report import (
    EvaluationReport,
    Table,
    build_report,
    parse_report_language,
    parse_report_period,
    report_csv_rows,
)
from chat_server.domain.stats_export import DateRange, StatsRangeError
from chat_server.domain.survey import parse_survey

TODAY = date(2026, 7, 1)
SPAN = DateRange(date(2026, 1, 1), date(2026, 2, 28))
# Thursday 2026-01-15 and Monday 2026-02-02.
DAYS = {
    date(2026, 1, 15): {"chats_offered": 12, "chats_answered": 10, "chats_abandoned": 2,
                        "chats_urgent": 6, "offered_by_hour:10": 12, "answered_by_hour:10": 10,
                        "abandoned_by_hour:10": 2, "wait:le_30": 10, "topic:honour": 12,
                        "outcome:referral_stodteamet": 7, "callbacks_requested": 8,
                        "callbacks_completed": 6, "callbacks_failed": 2},
    date(2026, 2, 2): {"chats_offered": 9, "chats_answered": 9, "offered_by_hour:14": 9,
                       "answered_by_hour:14": 9, "wait:le_60": 9, "topic:violence_close": 9,
                       "feedback_responses": 6, "feedback:helped:5": 6,
                       "feedback:old_question:yes": 6},
}  # fmt: skip


def table(report: EvaluationReport, key: str) -> Table:
    return next(t for s in report.sections for t in s.tables if t.key == key)


def figures(report: EvaluationReport, section: str) -> dict[str, str]:
    found = next(s for s in report.sections if s.key == section)
    return {f.label: f.value for f in found.figures}


def test_months_weekdays_and_hours_come_from_the_days() -> None:
    """Every month of the period is a row; weekdays follow the days' dates; hours and
    weekday × time of day the hour counts."""
    clean = {day: {**counts, "chats_answered": counts["chats_offered"], "chats_abandoned": 0}
             for day, counts in DAYS.items()}  # fmt: skip
    report = build_report(clean, SPAN)
    assert table(report, "months").rows == (
        ("januari 2026", (12, 12, 0)), ("februari 2026", (9, 9, 0)),
        ("Hela perioden", (21, 21, 0)),
    )  # fmt: skip
    weekdays = dict(table(report, "weekdays").rows)
    assert (weekdays["torsdag"], weekdays["måndag"], weekdays["söndag"]) == (
        (12, 12, 0), (9, 9, 0), (0, 0, 0))  # fmt: skip
    by_block = dict(table(report, "weekday_hours").rows)
    assert by_block["torsdag"] == (0, 0, 0, 12, 0, 0, 0, 0)  # 10–11 is in 09–12
    assert by_block["måndag"] == (0, 0, 0, 0, 9, 0, 0, 0)  # 14–15 is in 12–15
    hours = dict(table(report, "hours").rows)
    assert (hours["10–11"], hours["14–15"], hours["23–00"]) == ((12,), (9,), (0,))


def test_one_withheld_cell_is_withheld_everywhere() -> None:
    """January's 2 abandoned is "<5": neither its month row nor the totals give it away."""
    report = build_report(DAYS, SPAN)
    months = dict(table(report, "months").rows)
    # 10 answered of 12 would give the 2 away; then February's answered, so its total (9 =
    # "x" + 0), and so January's total (21 − February's): withheld in turn.
    assert months["januari 2026"] == ("x", "x", "<5")
    assert months["februari 2026"] == ("x", "x", 0)
    assert months["Hela perioden"] == (21, "x", "<5")
    weekdays = dict(table(report, "weekdays").rows)
    assert (weekdays["torsdag"], weekdays["måndag"]) == (("x", "x", "<5"), ("x", "x", 0))
    overview = figures(report, "overview")
    assert (overview["Lämnade kön"], overview["Besvarade"]) == ("färre än 5", "dolt")


def test_shares_only_of_published_counts() -> None:
    """The urgent share is given (6 of 21); a share made of a withheld count is not."""
    overview = figures(build_report(DAYS, SPAN), "overview")
    assert overview["Andel markerade som brådskande"] == "29 %"
    # 19 of 21 within 1 min would give away the withheld 9 (and so the answered): withheld.
    assert overview["Besvarade inom 1 min"] == "dolt"
    assert overview["Medianväntetid"] == "högst 30 s"
    callbacks = figures(build_report(DAYS, SPAN), "callbacks")
    assert callbacks["Andel nådda"] == "för få för att redovisas"  # 8 = 6 + "<5": both hidden
    assert dict(table(build_report(DAYS, SPAN), "referrals").rows)[
        "Stödteamet (praktiskt stöd)"] == (7,)  # fmt: skip


def test_survey_tables_follow_the_configuration_and_keep_old_questions() -> None:
    """Configured questions in order with their texts; a question no longer asked by code."""
    survey = parse_survey({"version": 1, "questions": [
        {"id": "helped", "kind": "scale", "text": {"sv": "Fick du hjälp?", "en": "Helped?"}},
    ]})  # fmt: skip
    report = build_report(DAYS, SPAN, survey=survey, lang="en")
    helped = table(report, "survey_helped")
    assert helped.title == "Helped?" and helped.rows[-1] == ("5", (6,))
    old = table(report, "survey_old_question")
    assert old.title == "Question no longer asked: old_question" and old.rows == (("yes", (6,)),)


def test_an_empty_period_has_no_data_and_zeros_only() -> None:
    """No counts: has_data is false, every cell is 0 and no share is computed."""
    report = build_report({}, SPAN)
    assert not report.has_data
    assert {row[3] for row in report_csv_rows(report)[1:]} == {"0"}
    assert figures(report, "overview")["Medianväntetid"] == "för få för att redovisas"


def test_the_csv_lists_every_cell_once() -> None:
    """Header, then table, row, column and value; values are numbers or the two markers."""
    rows = report_csv_rows(build_report(DAYS, SPAN, lang="en"))
    assert rows[0] == ["table", "row", "column", "value"]
    assert ["Chats per month", "January 2026", "Left the queue", "<5"] in rows
    assert {r[3] for r in rows[1:]} - {"<5", "x"} <= {str(n) for n in range(0, 100)}


def test_language_and_period_are_checked() -> None:
    """sv by default, en on request, anything else refused; at most two years."""
    assert (parse_report_language(""), parse_report_language("en")) == ("sv", "en")
    with pytest.raises(StatsRangeError) as caught:
        parse_report_language("fr")
    assert caught.value.code == "unknown_language"
    assert parse_report_period("2024-07-01", "2026-06-30", TODAY).days == 730
    with pytest.raises(StatsRangeError) as caught:
        parse_report_period("2024-06-29", "2026-06-30", TODAY)
    assert caught.value.code == "range_too_long"
