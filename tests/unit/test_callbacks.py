"""The pure rules of safe callback requests: validation, storage life, work list, outcomes."""

from __future__ import annotations

import ast
import os
import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chat_server.domain import callbacks
from chat_server.domain.callbacks import (
    CallbackRequestIn,
    CallbackSettings,
    CallbackValidationError,
    Outcome,
    ValidRequest,
    Window,
    WindowIn,
    WorklistItem,
    WorkStatus,
    apply_outcome,
    classify,
    expiry,
    new_status_code,
    next_window,
    normalise_status_code,
    order_worklist,
    ttl_seconds,
    validate_request,
)

STHLM = ZoneInfo("Europe/Stockholm")
SETTINGS = CallbackSettings()
# Monday 10 March 2025, 08:00 in Stockholm (winter time, UTC+1).
NOW = datetime(2025, 3, 10, 8, 0, tzinfo=STHLM)


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=STHLM)


def request(
    phone: str = "070-123 45 67",
    windows: tuple[tuple[str, str, str], ...] = (("2025-03-10", "09:00", "10:00"),),
    **extra: str | bool,
) -> CallbackRequestIn:
    fields: dict[str, str | bool] = {"alias": "Blåklocka"}
    fields.update(extra)
    return CallbackRequestIn(
        phone=phone,
        windows=tuple(WindowIn(*w) for w in windows),
        **fields,  # type: ignore[arg-type]
    )


def errors_of(
    raw: CallbackRequestIn, settings: CallbackSettings = SETTINGS, now: datetime = NOW
) -> list[tuple[str, str]]:
    with pytest.raises(CallbackValidationError) as caught:
        validate_request(raw, settings, now)
    return [(e.field, e.code) for e in caught.value.errors]


def window_at(day: date, start_hh: int, end_hh: int) -> Window:
    return Window(local(day, start_hh).astimezone(UTC), local(day, end_hh).astimezone(UTC))


# --- phone numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("070-123 45 67", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("070 123 45 67", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("0046701234567", "+46701234567"),
        ("018-727 00 00", "+46187270000"),
        ("(018) 727 00 00", "+46187270000"),
        ("  018/727 00 00 ", "+46187270000"),
    ],
)
def test_swedish_numbers_in_common_formats_are_normalised_to_e164(typed: str, e164: str) -> None:
    """Swedish numbers written nationally or internationally come out as one E.164 form."""
    assert validate_request(request(phone=typed), SETTINGS, NOW).phone_e164 == e164


@pytest.mark.parametrize("typed", ["+46701234567", "+4915112345678", "+44 20 7946 0958"])
def test_international_e164_numbers_are_accepted(typed: str) -> None:
    """Valid numbers of other countries are kept, without spaces."""
    assert validate_request(request(phone=typed), SETTINGS, NOW).phone_e164 == typed.replace(
        " ", ""
    )


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("070-12", "invalid"),
        ("+4670123", "invalid"),
        ("+4670123456789", "invalid"),
        ("112", "invalid"),
        ("070-ABC DEFG", "invalid_characters"),
        ("070-123 45 67; drop", "invalid_characters"),
        ("0" * 40, "invalid_characters"),
        ("0900-123 45 67", "premium_rate"),
    ],
)
def test_unusable_phone_numbers_are_rejected(typed: str, code: str) -> None:
    """Too short, too long, lettered, emergency and premium-rate numbers are refused."""
    assert errors_of(request(phone=typed)) == [("phone", code)]


# --- windows -----------------------------------------------------------------------------


def test_a_window_is_read_on_the_stockholm_wall_clock_and_kept_in_utc() -> None:
    """09:00-10:00 on a winter Monday is 08:00-09:00 UTC."""
    valid = validate_request(request(), SETTINGS, NOW)
    assert valid.windows == (
        Window(datetime(2025, 3, 10, 8, tzinfo=UTC), datetime(2025, 3, 10, 9, tzinfo=UTC)),
    )
    assert valid.windows[0].start.tzinfo is UTC


def test_a_window_in_the_past_is_rejected() -> None:
    """A window that ended before now is refused."""
    assert errors_of(request(windows=(("2025-03-07", "09:00", "10:00"),))) == [("window-1", "past")]


@pytest.mark.parametrize(
    "window",
    [
        ("2025-03-10", "08:00", "10:00"),  # starts before opening
        ("2025-03-10", "15:30", "16:30"),  # ends after closing
        ("2025-03-15", "10:00", "11:00"),  # a Saturday
    ],
)
def test_a_window_outside_callback_hours_is_rejected(window: tuple[str, str, str]) -> None:
    """Only Monday to Friday 09:00-16:00 are callback hours by default."""
    assert errors_of(request(windows=(window,))) == [("window-1", "outside_hours")]


def test_a_window_on_a_closed_date_is_rejected() -> None:
    """A date in closed_dates (a holiday) has no callback hours."""
    settings = CallbackSettings(closed_dates=frozenset({date(2025, 3, 11)}))
    raw = request(windows=(("2025-03-11", "10:00", "11:00"),))
    assert errors_of(raw, settings) == [("window-1", "outside_hours")]


def test_a_window_ending_exactly_at_closing_is_accepted() -> None:
    """The callback hours are inclusive of their end."""
    raw = request(windows=(("2025-03-10", "15:30", "16:00"),))
    assert len(validate_request(raw, SETTINGS, NOW).windows) == 1


def test_a_window_shorter_than_the_minimum_is_rejected() -> None:
    """A 20-minute window is too short when 30 are required."""
    raw = request(windows=(("2025-03-10", "09:00", "09:20"),))
    assert errors_of(raw) == [("window-1", "too_short")]


def test_windows_beyond_max_days_ahead_are_rejected_but_the_last_day_is_allowed() -> None:
    """Seven days ahead is fine, eight is not."""
    assert validate_request(request(windows=(("2025-03-17", "09:00", "10:00"),)), SETTINGS, NOW)
    raw = request(windows=(("2025-03-18", "09:00", "10:00"),))
    assert errors_of(raw) == [("window-1", "too_far_ahead")]


def test_more_than_max_windows_are_rejected_as_a_whole() -> None:
    """Six windows when five are allowed give one error on the windows field."""
    windows = tuple((f"2025-03-1{day}", "09:00", "10:00") for day in range(6))
    assert errors_of(request(windows=windows)) == [("windows", "too_many")]


def test_no_window_at_all_is_rejected() -> None:
    """At least one safe window is required."""
    assert errors_of(request(windows=())) == [("windows", "required")]


def test_overlapping_and_touching_windows_are_merged_and_sorted() -> None:
    """Overlapping or touching windows become one; separate ones stay, in time order."""
    raw = request(
        windows=(
            ("2025-03-11", "13:00", "14:00"),
            ("2025-03-10", "09:30", "11:00"),
            ("2025-03-10", "09:00", "10:00"),
            ("2025-03-10", "11:00", "12:00"),
        )
    )
    day = date(2025, 3, 10)
    assert validate_request(raw, SETTINGS, NOW).windows == (
        window_at(day, 9, 12),
        window_at(date(2025, 3, 11), 13, 14),
    )


def test_a_window_that_has_begun_counts_from_now() -> None:
    """At 10:15:30.5 a 09:00-12:00 window is kept as 10:15:30-12:00."""
    now = datetime(2025, 3, 10, 10, 15, 30, 500_000, tzinfo=STHLM)
    raw = request(windows=(("2025-03-10", "09:00", "12:00"),))
    (window,) = validate_request(raw, SETTINGS, now).windows
    assert window.start == datetime(2025, 3, 10, 9, 15, 30, tzinfo=UTC)


def test_a_begun_window_with_too_little_time_left_is_rejected() -> None:
    """At 11:40 a window ending at 12:00 leaves only 20 minutes."""
    now = local(date(2025, 3, 10), 11, 40)
    raw = request(windows=(("2025-03-10", "09:00", "12:00"),))
    assert errors_of(raw, now=now) == [("window-1", "too_short")]


@pytest.mark.parametrize(
    ("window", "code"),
    [
        (("10/3/2025", "09:00", "10:00"), "invalid"),
        (("2025-02-30", "09:00", "10:00"), "invalid"),
        (("2025-03-10", "9", "10:00"), "invalid"),
        (("2025-03-10", "09:00", "24:00"), "invalid"),
        (("2025-03-10", "11:00", "10:00"), "end_before_start"),
    ],
)
def test_malformed_windows_are_rejected(window: tuple[str, str, str], code: str) -> None:
    """Dates must be YYYY-MM-DD and real; times HH:MM; the end after the start."""
    assert errors_of(request(windows=(window,))) == [("window-1", code)]


def test_times_may_be_written_with_a_dot() -> None:
    """Swedes often write 09.00; it means 09:00."""
    raw = request(windows=(("2025-03-10", "9.00", "10.00"),))
    assert validate_request(raw, SETTINGS, NOW).windows == (window_at(date(2025, 3, 10), 9, 10),)


NIGHT_SETTINGS = CallbackSettings(callback_hours={6: (time(1), time(4))})
BEFORE_SPRING_FORWARD = datetime(2025, 3, 29, 12, tzinfo=STHLM)


def test_window_length_on_the_spring_forward_day_is_real_elapsed_time() -> None:
    """01:45-03:10 on 30 March 2025 lasts 25 real minutes, so it is too short."""
    raw = request(windows=(("2025-03-30", "01:45", "03:10"),))
    assert errors_of(raw, NIGHT_SETTINGS, BEFORE_SPRING_FORWARD) == [("window-1", "too_short")]
    raw = request(windows=(("2025-03-30", "01:30", "03:15"),))
    (window,) = validate_request(raw, NIGHT_SETTINGS, BEFORE_SPRING_FORWARD).windows
    assert window.end - window.start == timedelta(minutes=45)


def test_a_time_skipped_by_the_spring_forward_is_rejected() -> None:
    """02:30 does not exist in Stockholm on 30 March 2025."""
    raw = request(windows=(("2025-03-30", "02:30", "03:30"),))
    assert errors_of(raw, NIGHT_SETTINGS, BEFORE_SPRING_FORWARD) == [
        ("window-1", "nonexistent_time")
    ]


def test_ttl_across_the_spring_forward_counts_real_seconds() -> None:
    """From Saturday 12:00 CET to Monday 10:00 CEST plus an hour of grace is 46 real hours."""
    raw = request(windows=(("2025-03-31", "09:00", "10:00"),))
    valid = validate_request(raw, SETTINGS, BEFORE_SPRING_FORWARD)
    assert ttl_seconds(valid, SETTINGS, BEFORE_SPRING_FORWARD) == 46 * 3600


# --- other fields ------------------------------------------------------------------------


def test_alias_and_message_at_their_limits_are_accepted_and_beyond_rejected() -> None:
    """40 alias and 300 message characters (not bytes) pass; one more each fails."""
    ok = validate_request(request(alias="å" * 40, message="ö" * 300), SETTINGS, NOW)
    assert (len(ok.alias), len(ok.message)) == (40, 300)
    assert errors_of(request(alias="å" * 41, message="ö" * 301)) == [
        ("alias", "too_long"),
        ("message", "too_long"),
    ]


def test_alias_is_required_and_single_line() -> None:
    """An empty alias is refused; inner whitespace collapses; control characters are refused."""
    assert errors_of(request(alias="  ")) == [("alias", "required")]
    assert validate_request(request(alias=" Röd \n  ros "), SETTINGS, NOW).alias == "Röd ros"
    assert errors_of(request(alias="Röd\x00ros")) == [("alias", "invalid_characters")]


def test_message_keeps_its_lines_and_is_optional() -> None:
    """Line breaks survive (CRLF becomes LF); no message is fine."""
    assert validate_request(request(message="Hej\r\nTack "), SETTINGS, NOW).message == "Hej\nTack"
    assert validate_request(request(), SETTINGS, NOW).message == ""
    assert errors_of(request(message="a\x1bb")) == [("message", "invalid_characters")]


def test_language_defaults_to_swedish_and_must_be_a_short_code() -> None:
    """No language means Swedish; a word instead of a code is refused."""
    assert validate_request(request(), SETTINGS, NOW).language == "sv"
    assert validate_request(request(language="AR"), SETTINGS, NOW).language == "ar"
    assert errors_of(request(language="svenska")) == [("language", "invalid")]


def test_topic_must_be_a_configured_code_when_codes_are_configured() -> None:
    """With topic codes set, an unknown topic is refused and a known one kept."""
    settings = CallbackSettings(topic_codes=frozenset({"honour"}))
    assert validate_request(request(topic="honour"), settings, NOW).topic == "honour"
    assert errors_of(request(topic="other"), settings) == [("topic", "invalid")]
    assert errors_of(request(topic="<b>")) == [("topic", "invalid")]


def test_every_problem_is_reported_at_once_with_both_languages() -> None:
    """Phone, window, alias and message errors come together, each with sv and en text."""
    raw = request(
        phone="123",
        windows=(("2025-03-10", "09:00", "10:00"), ("2025-03-10", "17:00", "18:00")),
        alias="x" * 41,
        message="y" * 301,
    )
    with pytest.raises(CallbackValidationError) as caught:
        validate_request(raw, SETTINGS, NOW)
    errors = caught.value.errors
    assert [(e.field, e.code) for e in errors] == [
        ("phone", "invalid"),
        ("window-2", "outside_hours"),
        ("alias", "too_long"),
        ("message", "too_long"),
    ]
    assert all(e.message_sv and e.message_en and e.message_sv != e.message_en for e in errors)
    assert "40" in errors[2].message_sv and "300" in errors[3].message_en


def test_safety_flags_default_to_no() -> None:
    """Without an explicit yes, no voicemail and no mention of Nexus."""
    valid = validate_request(request(), SETTINGS, NOW)
    assert (valid.voicemail_ok, valid.say_nexus_ok) == (False, False)


def test_from_form_reads_numbered_windows_and_checkboxes() -> None:
    """Form fields window-N-* become windows in N order; blank slots vanish; "on" is yes."""
    raw = CallbackRequestIn.from_form(
        {
            "phone": "070-123 45 67",
            "alias": "Ros",
            "voicemail_ok": "on",
            "window-2-date": "2025-03-11",
            "window-2-start": "10:00",
            "window-2-end": "11:00",
            "window-1-date": "2025-03-10",
            "window-1-start": "09:00",
            "window-1-end": "10:00",
            "window-3-date": "",
            "window-3-start": " ",
            "window-3-end": "",
        }
    )
    assert raw.windows == (
        WindowIn("2025-03-10", "09:00", "10:00"),
        WindowIn("2025-03-11", "10:00", "11:00"),
    )
    assert (raw.voicemail_ok, raw.say_nexus_ok) == (True, False)
    assert validate_request(raw, SETTINGS, NOW).alias == "Ros"


def test_from_json_treats_wrong_types_as_missing_and_only_true_as_yes() -> None:
    """Non-string values are empty, non-object windows are dropped, "false" is no."""
    raw = CallbackRequestIn.from_json(
        {
            "phone": 46701234567,
            "windows": [{"date": "2025-03-10", "start": "09:00", "end": "10:00"}, "junk"],
            "voicemail_ok": "false",
            "say_nexus_ok": True,
            "alias": ["x"],
        }
    )
    assert (raw.phone, raw.alias, len(raw.windows)) == ("", "", 1)
    assert (raw.voicemail_ok, raw.say_nexus_ok) == (False, True)


def test_a_naive_now_is_refused() -> None:
    """Wall times without a zone would silently shift windows, so they raise."""
    with pytest.raises(ValueError, match="aware"):
        validate_request(request(), SETTINGS, NOW.replace(tzinfo=None))


def test_unusable_settings_raise() -> None:
    """Hours ending before they start, zero windows or an unknown zone are refused."""
    with pytest.raises(ValueError):
        CallbackSettings(callback_hours={0: (time(16), time(9))})
    with pytest.raises(ValueError):
        CallbackSettings(max_windows=0)
    with pytest.raises(ValueError):
        CallbackSettings(tz="Europe/Nowhere")


# --- storage life ------------------------------------------------------------------------


def valid_with(*windows: Window) -> ValidRequest:
    return ValidRequest("+46701234567", windows, False, False, "Ros", "sv", "", "")


def test_expiry_is_the_end_of_the_last_window_plus_grace() -> None:
    """Two windows and an hour of grace expire an hour after the later one ends."""
    later = window_at(date(2025, 3, 12), 13, 14)
    valid = valid_with(window_at(date(2025, 3, 10), 9, 10), later)
    assert expiry(valid, SETTINGS) == later.end + timedelta(hours=1)


def test_ttl_is_rounded_up_and_never_negative() -> None:
    """Half a second left is one second; after expiry it is 0."""
    valid = valid_with(window_at(date(2025, 3, 10), 9, 10))
    ends = expiry(valid, SETTINGS)
    assert ttl_seconds(valid, SETTINGS, ends - timedelta(milliseconds=500)) == 1
    assert ttl_seconds(valid, SETTINGS, NOW) == 3 * 3600
    assert ttl_seconds(valid, SETTINGS, ends + timedelta(days=1)) == 0


# --- work list ---------------------------------------------------------------------------

MONDAY = date(2025, 3, 10)
TUESDAY = date(2025, 3, 11)
TWO_WINDOWS = (window_at(MONDAY, 9, 10), window_at(TUESDAY, 9, 10))


def test_next_window_is_the_current_one_then_the_next_then_none() -> None:
    """Inside a window it is that window; between windows the next; after all of them None."""
    assert next_window(TWO_WINDOWS, local(MONDAY, 9, 30)) == TWO_WINDOWS[0]
    assert next_window(TWO_WINDOWS, local(MONDAY, 10)) == TWO_WINDOWS[1]
    assert next_window(TWO_WINDOWS, local(TUESDAY, 10)) is None


def test_classify_marks_upcoming_due_overdue_and_expired() -> None:
    """Before: upcoming; inside: due; after a missed window: overdue; after all: expired."""
    assert classify(TWO_WINDOWS, local(MONDAY, 8)) is WorkStatus.UPCOMING
    assert classify(TWO_WINDOWS, local(MONDAY, 9, 59)) is WorkStatus.DUE
    assert classify(TWO_WINDOWS, local(MONDAY, 12)) is WorkStatus.OVERDUE
    assert classify(TWO_WINDOWS, local(TUESDAY, 9)) is WorkStatus.DUE
    assert classify(TWO_WINDOWS, local(TUESDAY, 10)) is WorkStatus.EXPIRED
    assert classify(TWO_WINDOWS, local(TUESDAY, 10)) == "expired"


def test_an_attempt_in_the_passed_window_means_it_is_not_overdue() -> None:
    """A no-answer attempt at 09:15 makes the request upcoming again, not overdue."""
    assert classify(TWO_WINDOWS, local(MONDAY, 12), local(MONDAY, 9, 15)) is WorkStatus.UPCOMING
    # An attempt before the window opened does not count for it.
    assert classify(TWO_WINDOWS, local(MONDAY, 12), local(MONDAY, 8)) is WorkStatus.OVERDUE


def test_worklist_is_ordered_by_next_window_start_with_expired_last() -> None:
    """Due ones first (earliest start), then upcoming by start, ties by id, expired last."""
    now = local(MONDAY, 9, 30)
    items = [
        WorklistItem("expired", (window_at(MONDAY, 8, 9),)),
        WorklistItem("tuesday", (window_at(TUESDAY, 9, 10),)),
        WorklistItem("b-late-due", (window_at(MONDAY, 9, 12),)),
        WorklistItem("a-late-due", (window_at(MONDAY, 9, 11),)),
        WorklistItem("early-due", (window_at(MONDAY, 8, 9), window_at(MONDAY, 9, 10))),
        WorklistItem("afternoon", (window_at(MONDAY, 13, 14),)),
    ]
    entries = order_worklist(items, now)
    assert [e.item.request_id for e in entries] == [
        "a-late-due",
        "b-late-due",
        "early-due",
        "afternoon",
        "tuesday",
        "expired",
    ]
    assert [e.status for e in entries] == ["due", "due", "due", "upcoming", "upcoming", "expired"]
    assert entries[-1].next_window is None


# --- outcomes ----------------------------------------------------------------------------


def test_reached_is_final_and_completed() -> None:
    """Reaching the visitor ends the request, counted as completed."""
    decision = apply_outcome(0, Outcome.REACHED, TWO_WINDOWS, local(MONDAY, 9, 5), SETTINGS)
    assert (decision.final, decision.retry, decision.attempts, decision.counted_as) == (
        True,
        False,
        1,
        "completed",
    )


def test_no_answer_retries_in_the_next_window() -> None:
    """No answer with a later window left and attempts to spare is a retry there."""
    decision = apply_outcome(0, Outcome.NO_ANSWER, TWO_WINDOWS, local(MONDAY, 9, 5), SETTINGS)
    assert (decision.final, decision.retry, decision.attempts, decision.counted_as) == (
        False,
        True,
        1,
        "retry",
    )
    assert decision.next_window == TWO_WINDOWS[1]


def test_no_answer_on_the_last_allowed_attempt_is_final() -> None:
    """The third unanswered attempt (of three) fails the request even with windows left."""
    windows = (*TWO_WINDOWS, window_at(date(2025, 3, 12), 9, 10))
    decision = apply_outcome(2, Outcome.NO_ANSWER, windows, local(MONDAY, 9, 5), SETTINGS)
    assert (decision.final, decision.attempts, decision.counted_as) == (True, 3, "failed")
    more = replace(SETTINGS, max_attempts=5)
    assert apply_outcome(2, Outcome.NO_ANSWER, windows, local(MONDAY, 9, 5), more).retry


def test_no_answer_without_a_later_window_is_final() -> None:
    """In the last window, even with time left in it, no answer fails the request."""
    decision = apply_outcome(0, Outcome.NO_ANSWER, TWO_WINDOWS, local(TUESDAY, 9, 5), SETTINGS)
    assert (decision.final, decision.retry, decision.counted_as) == (True, False, "failed")


@pytest.mark.parametrize("outcome", [Outcome.NOT_SAFE, Outcome.WRONG_NUMBER])
def test_not_safe_and_wrong_number_are_final_at_once(outcome: Outcome) -> None:
    """These never retry, whatever windows remain."""
    decision = apply_outcome(0, outcome, TWO_WINDOWS, local(MONDAY, 9, 5), SETTINGS)
    assert (decision.final, decision.retry, decision.counted_as) == (True, False, "failed")


def test_negative_attempts_raise() -> None:
    """A negative attempt count is a caller bug."""
    with pytest.raises(ValueError):
        apply_outcome(-1, Outcome.REACHED, TWO_WINDOWS, NOW, SETTINGS)


# --- status codes ------------------------------------------------------------------------

CODE_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


def test_status_code_is_two_groups_of_four_unambiguous_characters() -> None:
    """Codes look like ABCD-EFGH and never contain I, L, O or U."""
    for _ in range(200):
        code = new_status_code(os.urandom(5))
        assert CODE_RE.fullmatch(code), code


def test_status_code_uses_all_40_random_bits() -> None:
    """Every one of the 40 input bits changes the code, and the extremes map to 0s and Zs."""
    assert new_status_code(bytes(5)) == "0000-0000"
    assert new_status_code(b"\xff" * 5) == "ZZZZ-ZZZZ"
    codes = {new_status_code((1 << bit).to_bytes(5, "big")) for bit in range(40)}
    assert len(codes) == 40 and "0000-0000" not in codes


def test_status_code_needs_five_random_bytes() -> None:
    """Fewer than 40 bits of randomness is refused."""
    with pytest.raises(ValueError):
        new_status_code(b"1234")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("7KQ2-M9XD", "7KQ2-M9XD"),
        ("7kq2m9xd", "7KQ2-M9XD"),
        (" 7kq2 - m9xd ", "7KQ2-M9XD"),
        ("o1l0-iabc", "0110-1ABC"),
    ],
)
def test_typed_status_codes_are_normalised(typed: str, canonical: str) -> None:
    """Case, spaces and dashes do not matter; O, I, L read as 0, 1, 1."""
    assert normalise_status_code(typed) == canonical


@pytest.mark.parametrize("typed", ["", "7KQ2-M9X", "7KQ2-M9XDD", "7KQ2-M9XU", "7KQ2_M9XD"])
def test_impossible_status_codes_normalise_to_none(typed: str) -> None:
    """Wrong length or a character outside the alphabet cannot be a code."""
    assert normalise_status_code(typed) is None


def test_a_new_code_normalises_to_itself() -> None:
    """What the visitor is shown is already canonical."""
    code = new_status_code(os.urandom(5))
    assert normalise_status_code(code) == code


def test_window_round_trips_through_epoch_seconds() -> None:
    """The store can keep windows as integer seconds."""
    window = window_at(MONDAY, 9, 10)
    assert Window.from_epoch_s(*window.to_epoch_s()) == window


def test_callbacks_module_does_no_io() -> None:
    """The pure core imports no network, Redis, asyncio or clock-reading module."""
    tree = ast.parse(Path(callbacks.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported.isdisjoint(
        {"aiohttp", "redis", "asyncio", "os", "time", "socket", "random", "secrets"}
    )
