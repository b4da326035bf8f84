"""The idle-warning rule: warn once before a quiet chat lapses, clear once it is renewed."""

from __future__ import annotations

import pytest

from chat_server.domain.idle import IdleNotice, idle_notice, lapses_in_s

WARN_S = 300


@pytest.mark.parametrize(
    ("remaining_ms", "warned", "expected"),
    [
        (301_000, False, None),  # not yet
        (300_000, False, IdleNotice.WARN),  # exactly at the window
        (12_000, False, IdleNotice.WARN),
        (12_000, True, None),  # warned once is enough
        (1_800_000, True, IdleNotice.CLEAR),  # renewed by a message or still_here
        (-2, True, IdleNotice.CLEAR),  # gone: the end of the chat says the rest
        (-2, False, None),
        (-1, False, None),  # no expiry: nothing will lapse
    ],
)
def test_a_warning_comes_once_inside_the_window_and_clears_when_renewed(
    remaining_ms: int, warned: bool, expected: IdleNotice | None
) -> None:
    """The decision for one connection, given the chat's PTTL and its warned flag."""
    assert idle_notice(remaining_ms, WARN_S, warned=warned) is expected


def test_warnings_can_be_switched_off_and_lapse_times_are_whole_seconds() -> None:
    """warn_before_s 0 never warns; the seconds shown are floored and never negative."""
    assert idle_notice(1_000, 0, warned=False) is None
    assert (lapses_in_s(119_999), lapses_in_s(-5)) == (119, 0)
