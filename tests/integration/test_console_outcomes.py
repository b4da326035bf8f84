"""Pure pieces of the console: outcome codes, the break rule, the console settings."""

from __future__ import annotations

import re

import pytest

from chat_server.domain.outcomes import (
    MAX_OUTCOME_CODE_CHARS,
    OUTCOME_CODES,
    OUTCOMES,
    UnknownOutcomeError,
    validate_outcomes,
)
from chat_server.domain.vocabulary import TOPICS
from chat_server.store.wellbeing import Stretch
from chat_server.web.console_settings import ConsoleSettings, ConsoleSettingsError, break_due

HOUR_MS = 3_600_000


def test_outcome_codes_are_short_unique_and_cover_the_referrals() -> None:
    """Codes are short lowercase words, unique, with labels in Swedish and English."""
    assert len(OUTCOME_CODES) == len(OUTCOMES)
    for outcome in OUTCOMES:
        assert re.fullmatch(r"[a-z0-9_]+", outcome.code)
        assert len(outcome.code) <= MAX_OUTCOME_CODE_CHARS
        assert outcome.label_sv and outcome.label_en
    referrals = {o.code for o in OUTCOMES if o.group == "referral"}
    assert referrals == {
        "referral_nexus",
        "referral_stodteamet",
        "referral_shelter",
        "referral_police",
        "referral_healthcare",
        "referral_kvinnofridslinjen",
        "referral_other",
    }
    assert {f"topic_{t}" for t in TOPICS} == {o.code for o in OUTCOMES if o.group == "topic"}


def test_validate_outcomes_keeps_order_and_drops_repeats() -> None:
    """Known codes come back de-duplicated in their order."""
    chosen = ["referral_police", "support_talk", "referral_police"]
    assert validate_outcomes(chosen) == ("referral_police", "support_talk")
    assert validate_outcomes([]) == ()


@pytest.mark.parametrize("codes", [["free text"], ["support_talk", "referral_x"], [""]])
def test_validate_outcomes_refuses_unknown_codes(codes: list[str]) -> None:
    """Anything outside the fixed list is refused: outcomes are never free text."""
    with pytest.raises(UnknownOutcomeError):
        validate_outcomes(codes)
    with pytest.raises(TypeError):
        validate_outcomes("support_talk")


def test_break_is_due_after_enough_chats_or_time() -> None:
    """Either limit is enough; zero turns a limit off."""
    settings = ConsoleSettings(break_after_chats=4, break_after_s=3 * 3600)
    start = 1_000_000
    assert break_due(Stretch(start, 3, False), start + HOUR_MS, settings) is None
    assert break_due(Stretch(start, 4, False), start + HOUR_MS, settings) == "chats"
    assert break_due(Stretch(start, 0, False), start + 3 * HOUR_MS, settings) == "time"
    off = ConsoleSettings(break_after_chats=0, break_after_s=0)
    assert break_due(Stretch(start, 99, False), start + 99 * HOUR_MS, off) is None


def test_console_settings_from_the_environment() -> None:
    """Variables override the defaults; unusable values name the variable."""
    chosen = ConsoleSettings.from_env(
        {
            "NEXUS_BREAK_AFTER_CHATS": "6",
            "NEXUS_BREAK_AFTER_MIN": "90",
            "NEXUS_PHONE": "018-000 00 00",
            "NEXUS_LOGIN_MAX_DELAY_S": "30",
            "NEXUS_LOGIN_HASH_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        }
    )
    assert (chosen.break_after_chats, chosen.break_after_s, chosen.nexus_phone) == (
        6,
        5400,
        "018-000 00 00",
    )
    assert chosen.throttle.max_delay_s == 30 and len(chosen.login_hash_key) == 32
    assert ConsoleSettings.from_env({}) == ConsoleSettings()
    for env, name in (
        ({"NEXUS_BREAK_AFTER_CHATS": "many"}, "NEXUS_BREAK_AFTER_CHATS"),
        ({"NEXUS_LOGIN_MAX_DELAY_S": "-1"}, "NEXUS_LOGIN_MAX_DELAY_S"),
        ({"NEXUS_LOGIN_HASH_KEY": "c2hvcnQ"}, "NEXUS_LOGIN_HASH_KEY"),
    ):
        with pytest.raises(ConsoleSettingsError, match=name):
            ConsoleSettings.from_env(env)
