"""Unit tests of the anonymous statistics: buckets, service level, counters, export."""

from __future__ import annotations

import ast
import itertools
import math
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.domain import stats, stats_export
from chat_server.domain.stats import (
    DEFAULT_SERVICE_TARGETS_S,
    HANDLE_BUCKETS_S,
    WAIT_BUCKETS_S,
    Vocabulary,
    all_fields,
    answered_within_target,
    bucket_for,
    counter_field,
    downsample,
    increments_for_abandoned,
    increments_for_callback,
    increments_for_chat_ended,
    increments_for_feedback,
    increments_for_outcomes,
    live_summary,
    median_wait_s,
    outcome_waits_for_counsellor,
    percentile_from_histogram,
    service_level,
)
from chat_server.domain.stats_export import (
    DateRange,
    StatsRangeError,
    merge_days,
    parse_date_range,
    render_csv,
    suppress_small_cells,
    to_csv_rows,
)

TODAY = date(2024, 5, 15)
SAFE_FIELD = re.compile(r"[a-z_]+(:[a-z0-9_]+){0,2}")


def answered(wait_s: float, **overrides: object) -> dict[str, int]:
    """An answered chat with sensible defaults, for building example days."""
    args: dict[str, object] = {
        "wait_s": wait_s, "handle_s": None, "answered": True, "topic": "honour",
        "language": "sv", "outcomes": ("support_talk",), "hour": 10,
    }  # fmt: skip
    args.update(overrides)
    return increments_for_chat_ended(**args)  # type: ignore[arg-type]


# --- buckets and percentiles ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_s", "label"),
    [(0, "le_10"), (-3, "le_10"), (10, "le_10"), (10.01, "le_30"), (60, "le_60"),
     (60.5, "le_120"), (1800, "le_1800"), (1800.1, "inf"), (10**9, "inf")],
)  # fmt: skip
def test_bucket_for_puts_a_bound_in_its_own_bucket(value_s: float, label: str) -> None:
    """A value equal to a bound lands in that bound's bucket; negatives count as 0."""
    assert bucket_for(value_s, WAIT_BUCKETS_S) == label


def test_handle_buckets_end_open() -> None:
    """Handle times use their own bounds, and a very long chat lands in "inf"."""
    assert bucket_for(3600, HANDLE_BUCKETS_S) == "le_3600"
    assert bucket_for(3601, HANDLE_BUCKETS_S) == "inf"


def test_bucket_for_rejects_nan_and_values_beyond_closed_bounds() -> None:
    """NaN has no bucket, nor has a value above bounds that do not end in infinity."""
    with pytest.raises(ValueError, match="NaN"):
        bucket_for(math.nan, WAIT_BUCKETS_S)
    with pytest.raises(ValueError, match="above the last"):
        bucket_for(61, (10, 60))


def test_percentile_of_an_empty_histogram_is_none() -> None:
    """No data, or only zero counts, gives no percentile rather than 0."""
    assert percentile_from_histogram({}, WAIT_BUCKETS_S, 0.5) is None
    assert percentile_from_histogram({"le_60": 0}, WAIT_BUCKETS_S, 0.5) is None


@pytest.mark.parametrize("q", [0.0, 0.5, 1.0])
def test_percentile_of_a_single_bucket_is_its_bound(q: float) -> None:
    """With every value in one bucket, every quantile is that bucket's upper bound."""
    assert percentile_from_histogram({"le_120": 7}, WAIT_BUCKETS_S, q) == 120.0


@pytest.mark.parametrize(
    ("q", "expected"), [(0.0, 10.0), (0.2, 10.0), (0.21, 30.0), (0.5, 30.0), (0.6, 60.0),
                        (0.9, 60.0), (0.91, math.inf), (1.0, math.inf)],
)  # fmt: skip
def test_percentile_returns_the_upper_bound_of_the_quantile_bucket(
    q: float, expected: float
) -> None:
    """Ten values 2×le_10, 3×le_30, 4×le_60, 1×inf: each quantile maps to its bucket's bound."""
    counts = {"le_10": 2, "le_30": 3, "le_60": 4, "inf": 1}
    assert percentile_from_histogram(counts, WAIT_BUCKETS_S, q) == expected


def test_percentile_rejects_bad_q_unknown_labels_and_negative_counts() -> None:
    """Out-of-range q, buckets of other bounds and negative counts are errors, not guesses."""
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile_from_histogram({"le_60": 1}, WAIT_BUCKETS_S, 1.5)
    with pytest.raises(ValueError, match="le_45"):
        percentile_from_histogram({"le_45": 1}, WAIT_BUCKETS_S, 0.5)
    with pytest.raises(ValueError, match="negative"):
        percentile_from_histogram({"le_60": -1, "le_10": 2}, WAIT_BUCKETS_S, 0.5)


def test_median_wait_uses_the_wait_buckets() -> None:
    """Median of 1×le_10, 1×le_60, 1×le_300 is the le_60 bound."""
    assert median_wait_s({"le_10": 1, "le_60": 1, "le_300": 1}) == 60.0


# --- service level ---------------------------------------------------------------------------

WAIT_HIST = {"le_10": 1, "le_30": 2, "le_60": 3, "le_120": 4, "le_300": 5}


def test_default_targets_are_wait_bucket_bounds() -> None:
    """60 s and 120 s are the default targets, and both can be counted exactly."""
    assert DEFAULT_SERVICE_TARGETS_S == (60, 120)
    assert [answered_within_target(WAIT_HIST, t) for t in DEFAULT_SERVICE_TARGETS_S] == [6, 10]


def test_a_target_that_is_not_a_bucket_bound_is_refused() -> None:
    """90 s would need to split a bucket, so it is an error."""
    with pytest.raises(ValueError, match="90 s is not a wait bucket bound"):
        answered_within_target(WAIT_HIST, 90)


def test_service_level_leaves_short_abandons_out() -> None:
    """6 answered within target of 20 offered, 2 of them gone within 10 s: 6 / 18."""
    assert service_level(6, 20, 2) == pytest.approx(1 / 3)
    assert service_level(6, 20) == pytest.approx(0.3)


def test_service_level_without_eligible_chats_is_none() -> None:
    """No offered chats, or only short abandons, means no service level (not 0 %)."""
    assert service_level(0, 0) is None
    assert service_level(0, 3, 3) is None


def test_service_level_never_exceeds_one_and_rejects_negatives() -> None:
    """A numerator read ahead of its denominator shows 100 %; negative counters are errors."""
    assert service_level(5, 4) == 1.0
    with pytest.raises(ValueError, match="negative"):
        service_level(-1, 4)


def test_live_summary_reads_a_day_of_counters() -> None:
    """Two answered (20 s, 90 s) and two abandoned (5 s, 200 s) chats, summarised."""
    day = merge_days(
        [answered(20), answered(90), increments_for_abandoned(wait_s=5, topic="", language="",
         hour=9), increments_for_abandoned(wait_s=200, topic="", language="", hour=9)]
    )  # fmt: skip
    summary = live_summary(day)
    assert (summary.offered, summary.answered, summary.abandoned) == (4, 2, 2)
    assert summary.median_wait_s == 30.0
    assert summary.service_levels == {60: pytest.approx(1 / 3), 120: pytest.approx(2 / 3)}


# --- counters --------------------------------------------------------------------------------


def test_answered_chat_increments_exactly_its_counters() -> None:
    """An answered chat counts offer, answer, hour, wait, handle, topic, language, outcomes."""
    assert increments_for_chat_ended(
        wait_s=45, handle_s=900, answered=True, topic="honour", language="ar",
        outcomes=("referral_shelter", "support_talk", "referral_shelter"), hour=22,
        end_reason="counsellor_ended",
    ) == {
        "chats_offered": 1, "offered_by_hour:22": 1, "topic:honour": 1, "language:ar": 1,
        "chats_answered": 1, "answered_by_hour:22": 1, "wait:le_60": 1, "handle:le_1200": 1,
        "outcome:referral_shelter": 1, "outcome:support_talk": 1,
        "end_reason:counsellor_ended": 1,
    }  # fmt: skip


def test_abandoned_chat_increments_exactly_its_counters() -> None:
    """A visitor leaving after 8 s is offered, abandoned and a short abandon; no outcome."""
    assert increments_for_abandoned(
        wait_s=8, topic="violence_close", language="sv", hour=7, end_reason="quick_exit"
    ) == {
        "chats_offered": 1, "offered_by_hour:07": 1, "topic:violence_close": 1,
        "language:sv": 1, "chats_abandoned": 1, "abandoned_by_hour:07": 1,
        "abandon_wait:le_10": 1, "chats_abandoned_short": 1, "end_reason:quick_exit": 1,
    }  # fmt: skip


def test_unknown_labels_become_other_and_empty_ones_unspecified() -> None:
    """Codes outside the allow-lists never reach a field name; case is ignored."""
    increments = answered(
        700, topic="Min man slog mig", language="SV", outcomes=("pizza",), end_reason="nope"
    )
    assert "topic:other" in increments and "language:sv" in increments
    assert "outcome:other" in increments and "end_reason:other" in increments
    empty = answered(700, topic="", language=" ", outcomes=())
    assert "topic:unspecified" in empty and "language:unspecified" in empty
    assert "outcome:unspecified" in empty
    assert not any(field.startswith("end_reason") for field in answered(5, end_reason=" "))


def test_a_configured_vocabulary_replaces_the_default() -> None:
    """A topic known only to a configured vocabulary is counted under its own name."""
    vocabulary = Vocabulary(topics=("elder_abuse",), languages=("sv",), outcomes=())
    assert "topic:elder_abuse" in answered(5, topic="elder_abuse", vocabulary=vocabulary)
    assert "topic:other" in answered(5, topic="honour", vocabulary=vocabulary)
    with pytest.raises(ValueError, match="lowercase codes"):
        Vocabulary(topics=("Hedersvåld",))


@given(topic=st.text(), language=st.text(), outcomes=st.lists(st.text(), max_size=4))
def test_no_free_text_can_enter_a_counter(topic: str, language: str, outcomes: list[str]) -> None:
    """Whatever a visitor or console sends, every field is a known code from all_fields()."""
    known = set(all_fields())
    for increments in (
        answered(42, topic=topic, language=language, outcomes=outcomes, end_reason=topic),
        increments_for_abandoned(wait_s=42, topic=topic, language=language, hour=0),
        increments_for_feedback(helped=4, contact_again=topic),
    ):
        assert set(increments) <= known
        assert all(SAFE_FIELD.fullmatch(field) for field in increments)


def test_contradictory_chat_facts_are_refused() -> None:
    """An unanswered chat with an outcome, a bad hour or one outcome string are caller bugs."""
    with pytest.raises(ValueError, match="no handle time and no outcome"):
        answered(5, answered=False, outcomes=("support_talk",))
    with pytest.raises(ValueError, match="hour"):
        answered(5, hour=24)
    with pytest.raises(TypeError, match="not one string"):
        answered(5, outcomes="support_talk")


def test_a_pending_outcome_counts_everything_but_the_outcome() -> None:
    """outcomes=None counts the chat as usual minus its outcome fields; the outcome fields
    given later make exactly the counts of a chat ended with them."""
    pending = answered(45, handle_s=900, outcomes=None, end_reason="visitor_ended")
    assert not any(field.startswith("outcome:") for field in pending)
    assert pending["chats_answered"] == 1 and pending["end_reason:visitor_ended"] == 1
    for later in (("referral_shelter", "support_talk"), ()):
        at_once = answered(45, handle_s=900, outcomes=later, end_reason="visitor_ended")
        assert {**pending, **increments_for_outcomes(later)} == at_once
    unanswered = answered(5, answered=False, outcomes=None)
    assert unanswered == answered(5, answered=False, outcomes=())


def test_outcome_increments_count_each_code_once() -> None:
    """Each distinct code once, unknown codes as other, none as unspecified, never a string."""
    assert increments_for_outcomes(["referral_police", "support_talk", "referral_police"]) == {
        "outcome:referral_police": 1, "outcome:support_talk": 1,
    }  # fmt: skip
    assert increments_for_outcomes([]) == {"outcome:unspecified": 1}
    assert increments_for_outcomes([" "]) == {"outcome:unspecified": 1}
    assert increments_for_outcomes(["Ring polisen"]) == {"outcome:other": 1}
    custom = Vocabulary(outcomes=("elder_referral",))
    assert increments_for_outcomes(["elder_referral"], custom) == {"outcome:elder_referral": 1}
    with pytest.raises(TypeError, match="not one string"):
        increments_for_outcomes("support_talk")


@pytest.mark.parametrize(
    ("answered_", "reason", "counsellor", "waits"),
    [
        (True, "visitor_ended", "anna", True),
        (True, "quick_exit", "anna", True),
        (True, "expired", "anna", True),
        (True, "counsellor_ended", "anna", False),
        (False, "visitor_ended", "", False),
        (False, "expired", "anna", False),
        (True, "visitor_ended", "", False),
    ],
)  # fmt: skip
def test_only_chats_not_ended_by_their_counsellor_wait_for_an_outcome(
    answered_: bool, reason: str, counsellor: str, waits: bool
) -> None:
    """An answered, held chat waits unless its counsellor's own end gave the outcome."""
    assert (
        outcome_waits_for_counsellor(answered=answered_, reason=reason, counsellor=counsellor)
        is waits
    )


def test_callback_events_count_one_each() -> None:
    """Requested, completed and failed callbacks each have their own counter."""
    assert increments_for_callback("requested") == {"callbacks_requested": 1}
    assert increments_for_callback("completed") == {"callbacks_completed": 1}
    assert increments_for_callback("failed") == {"callbacks_failed": 1}
    with pytest.raises(ValueError, match="callback status"):
        increments_for_callback("lost")  # type: ignore[arg-type]


def test_feedback_counts_answers_on_their_scales() -> None:
    """A 1–5 score and yes/no/unsure are counted; anything off the scale becomes "other"."""
    assert increments_for_feedback(helped=4, contact_again="yes") == {
        "feedback_responses": 1, "feedback:helped:4": 1, "feedback:contact_again:yes": 1,
    }  # fmt: skip
    assert increments_for_feedback(helped=9, contact_again="kanske") == {
        "feedback_responses": 1, "feedback:helped:other": 1, "feedback:contact_again:other": 1,
    }  # fmt: skip
    assert increments_for_feedback(helped=True, contact_again=None) == {  # bool is not a score
        "feedback_responses": 1, "feedback:helped:other": 1,
    }  # fmt: skip
    assert increments_for_feedback(helped=None, contact_again="") == {"feedback_responses": 1}
    assert increments_for_feedback(helped=None, contact_again=" ") == {"feedback_responses": 1}


def test_counter_field_accepts_only_known_metrics_and_codes() -> None:
    """Field names are built from the vocabulary; free text is refused and not echoed."""
    assert counter_field("chats_offered") == "chats_offered"
    assert counter_field("feedback", "helped", "4") == "feedback:helped:4"
    with pytest.raises(ValueError, match="does not take 0"):
        counter_field("topic")
    with pytest.raises(ValueError, match="does not take 1"):
        counter_field("visitor_ip", "x")
    with pytest.raises(ValueError, match="short lowercase codes") as caught:
        counter_field("topic", "Anna Svensson")
    assert "Anna" not in str(caught.value)


def test_all_fields_are_unique_and_well_formed() -> None:
    """The CSV column list has no duplicates and every name passes counter_field's rules."""
    fields = all_fields()
    assert len(fields) == len(set(fields))
    assert all(SAFE_FIELD.fullmatch(field) for field in fields)


# --- date ranges -----------------------------------------------------------------------------


def test_a_valid_range_includes_both_ends() -> None:
    """2024-05-01 to 2024-05-15 (today) is fifteen whole days."""
    span = parse_date_range("2024-05-01", "2024-05-15", TODAY)
    assert span == DateRange(date(2024, 5, 1), date(2024, 5, 15))
    assert span.days == 15
    assert list(parse_date_range("2024-02-28", "2024-03-01", TODAY).dates()) == [
        date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "code", "words"),
    [
        ("2024-05-10", "2024-05-01", "end_before_start", "före startdatum"),
        ("2024-05-10", "2024-05-16", "end_in_future", "i framtiden"),
        ("2023-05-14", "2024-05-14", "range_too_long", "367 dagar"),
        ("2024-5-1", "2024-05-02", "invalid_date", "ÅÅÅÅ-MM-DD"),
        ("2024-05-01", "20240502", "invalid_date", "slutdatum"),
        ("2024-02-30", "2024-03-01", "invalid_date", "startdatum"),
        ("", "2024-03-01", "invalid_date", "Ogiltigt"),
        ("2024-W18-3", "2024-05-02", "invalid_date", "YYYY-MM-DD"),
    ],
)
def test_bad_ranges_get_clear_errors(start: str, end: str, code: str, words: str) -> None:
    """Each kind of bad range has its own code and a Swedish-then-English message."""
    with pytest.raises(StatsRangeError) as caught:
        parse_date_range(start, end, TODAY)
    assert caught.value.code == code
    assert words in caught.value.message
    swedish, english = caught.value.message.split(" / ")
    assert swedish and english


def test_the_longest_allowed_range_is_accepted() -> None:
    """Exactly max_days days pass; a smaller max_days is honoured."""
    assert parse_date_range("2023-05-15", "2024-05-14", TODAY).days == 366
    with pytest.raises(StatsRangeError, match="at most 7 days"):
        parse_date_range("2024-05-01", "2024-05-08", TODAY, max_days=7)


# --- merging, suppression, CSV ---------------------------------------------------------------


def test_merge_days_adds_field_by_field() -> None:
    """Fields present on some days only are summed with the others."""
    assert merge_days([{"a": 1, "b": 2}, {"b": 3, "c": 4}, {}]) == {"a": 1, "b": 5, "c": 4}


@pytest.mark.parametrize(("count", "cell"), [(0, "0"), (1, "<5"), (4, "<5"), (5, "5")])
def test_small_cells_are_withheld_but_zero_is_shown(count: int, cell: str) -> None:
    """1–4 become "<5"; 0 reveals no one and 5 is published."""
    assert suppress_small_cells({"outcome:referral_police": count}) == {
        "outcome:referral_police": cell
    }


def test_a_lone_small_cell_gets_a_complementary_one() -> None:
    """Offered 20 = answered 17 + abandoned 3: answered is withheld too, offered stays."""
    cells = suppress_small_cells({"chats_offered": 20, "chats_answered": 17, "chats_abandoned": 3})
    assert cells == {"chats_offered": "20", "chats_answered": "x", "chats_abandoned": "<5"}


def test_the_total_is_withheld_when_no_member_can_hide_the_small_one() -> None:
    """Offered 6 = 5 + 1 would give the 1 away from 6 − "≥5"; so offered is withheld as well,
    and then the topic breakdown that would rebuild offered loses a cell too."""
    cells = suppress_small_cells(
        {"chats_offered": 6, "chats_answered": 5, "chats_abandoned": 1, "topic:honour": 6}
    )
    assert cells == {
        "chats_offered": "x", "chats_answered": "x", "chats_abandoned": "<5", "topic:honour": "x",
    }  # fmt: skip


def test_two_small_cells_that_must_both_be_one_are_protected() -> None:
    """Offered 12 = 10 + 1 + 1: two "<5" cells summing to 2 must both be 1, so 10 is withheld."""
    cells = suppress_small_cells(
        {"chats_offered": 12, "topic:honour": 10, "topic:professional": 1, "topic:other": 1}
    )
    assert cells["topic:honour"] == "x"
    assert cells["chats_offered"] == "12"


def _feasible_values(cells: dict[str, str], total: str, members: list[str]) -> dict[str, set[int]]:
    """Brute force: every value each withheld cell can take given what the row shows."""
    cap = 40
    ranges = {
        field: range(1, 5) if cell == "<5" else range(5, cap) if cell == "x" else [int(cell)]
        for field, cell in cells.items()
    }
    seen: dict[str, set[int]] = {
        field: set() for field, cell in cells.items() if not cell.isdigit()
    }
    for values in itertools.product(*(ranges[m] for m in members)):
        if sum(values) in ranges[total]:
            for field, value in [*zip(members, values, strict=True), (total, sum(values))]:
                if field in seen:
                    seen[field].add(value)
    return seen


@given(st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=3))
def test_no_withheld_cell_can_be_computed_from_its_group(values: list[int]) -> None:
    """For any small topic breakdown, every withheld cell keeps at least two possible values."""
    members = [f"topic:{name}" for name in ("honour", "professional", "other")[: len(values)]]
    table = {"chats_offered": sum(values), **dict(zip(members, values, strict=True))}
    cells = suppress_small_cells(table)
    for field, possible in _feasible_values(cells, "chats_offered", members).items():
        assert len(possible) >= 2, (table, cells, field)


def scripted_days() -> dict[date, dict[str, int]]:
    """Day one: 6 answered, 1 abandoned; day two: 10 answered and 2 feedback forms."""
    day_one = merge_days(
        [*(answered(w) for w in (20, 20, 25, 45, 50, 55)),
         increments_for_abandoned(wait_s=100, topic="violence_close", language="sv", hour=10)]
    )  # fmt: skip
    day_two = merge_days(
        [*(answered(w) for w in (20,) * 5),
         *(answered(w, topic="violence_close") for w in (50,) * 5),
         increments_for_feedback(helped=None, contact_again=None),
         increments_for_feedback(helped=None, contact_again=None)]
    )  # fmt: skip
    return {date(2024, 5, 7): day_two, date(2024, 5, 6): day_one}


def test_csv_of_two_scripted_days_matches_exactly() -> None:
    """Days come oldest first; small cells and the cells that would reveal them are withheld."""
    fields = [
        "chats_offered", "chats_answered", "chats_abandoned", "wait:le_30", "wait:le_60",
        "topic:honour", "topic:violence_close", "feedback_responses",
    ]  # fmt: skip
    assert render_csv(to_csv_rows(scripted_days(), fields)) == (
        "date,chats_offered,chats_answered,chats_abandoned,wait:le_30,wait:le_60,"
        "topic:honour,topic:violence_close,feedback_responses\r\n"
        "2024-05-06,7,x,<5,<5,<5,x,<5,0\r\n"
        "2024-05-07,10,10,0,5,5,5,5,<5\r\n"
    )


def test_csv_of_all_fields_has_one_column_per_field() -> None:
    """The full export has a date column plus one per known field on every row."""
    rows = to_csv_rows(scripted_days(), all_fields())
    assert {len(row) for row in rows} == {len(all_fields()) + 1}


# --- downsampling ----------------------------------------------------------------------------


def test_a_short_series_is_returned_unchanged() -> None:
    """Fewer points than the limit need no thinning."""
    points = [(0, 1), (60, 2), (120, 0)]
    assert downsample(points, 3) == points


def test_downsampling_keeps_the_peak() -> None:
    """A one-minute queue spike survives thinning 100 points to 5."""
    points = [(t, 7 if t == 42 else 1) for t in range(100)]
    thinned = downsample(points, 5)
    assert (42, 7) in thinned
    assert thinned[0] == (0, 1) and thinned[-1] == (99, 1)


def test_downsampling_needs_room_for_both_ends() -> None:
    """A limit below two cannot keep first and last; two keeps exactly those."""
    with pytest.raises(ValueError, match="at least 2"):
        downsample([(0, 1), (1, 1), (2, 1)], 1)
    assert downsample([(0, 1), (1, 5), (2, 1)], 2) == [(0, 1), (2, 1)]


@given(st.integers(min_value=0, max_value=300), st.integers(min_value=2, max_value=50))
def test_downsampling_keeps_ends_order_and_limit(length: int, max_points: int) -> None:
    """Any series thins to at most max_points, in time order, with first and last kept."""
    points = [(t * 60, (t * 7919) % 13) for t in range(length)]
    thinned = downsample(points, max_points)
    assert len(thinned) <= max_points
    assert thinned == sorted(set(thinned))
    if points:
        assert thinned[0] == points[0] and thinned[-1] == points[-1]


@pytest.mark.parametrize("module", [stats, stats_export])
def test_stats_module_imports_no_io_library(module: object) -> None:
    """The statistics core stays pure: no aiohttp, redis, asyncio or socket import."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    imported = {alias.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for alias in n.names}  # fmt: skip
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}  # fmt: skip
    assert not imported & {"aiohttp", "redis", "asyncio", "socket", "websockets"}
