"""What the caller says if someone else answers: the fixed list of openings, its safe default,
and the validation of the visitor's choice in the pure callback rules."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chat_server.domain.callbacks import (
    DEFAULT_OPENING,
    OPENING_CODES,
    OPENINGS,
    CallbackRequestIn,
    CallbackSettings,
    CallbackValidationError,
    WindowIn,
    opening_for,
    opening_lines,
    validate_request,
)

SETTINGS = CallbackSettings()
# Monday 10 March 2025, 08:00 in Stockholm.
NOW = datetime(2025, 3, 10, 8, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
I18N_DIR = Path(__file__).resolve().parents[2] / "widget" / "i18n"
# Words that would tell whoever answers who is calling or why.
REVEALING = re.compile(
    r"nexus|kommun|uppsala|våld|violence|hjälp|help|stöd|support|social|kris|crisis|polis|police",
    re.IGNORECASE,
)


def request(**extra: str) -> CallbackRequestIn:
    return CallbackRequestIn(
        phone="070-123 45 67",
        windows=(WindowIn("2025-03-10", "09:00", "10:00"),),
        alias=extra.pop("alias", "Blåklocka"),
        **extra,
    )


def errors_of(raw: CallbackRequestIn) -> list[tuple[str, str, str, str]]:
    with pytest.raises(CallbackValidationError) as caught:
        validate_request(raw, SETTINGS, NOW)
    return [(e.field, e.code, e.message_sv, e.message_en) for e in caught.value.errors]


def test_the_openings_are_a_short_fixed_list_with_the_safe_default_first() -> None:
    """Four codes, unique, wrong_number first and the default; every text is there."""
    assert [o.code for o in OPENINGS] == ["wrong_number", "personal", "survey", "hang_up"]
    assert OPENINGS[0].code == DEFAULT_OPENING
    assert {o.code for o in OPENINGS} == OPENING_CODES
    for opening in OPENINGS:
        texts = (opening.choice_sv, opening.choice_en, opening.say_sv, opening.say_en)
        assert all(text.strip() == text and text.endswith((".", "!")) for text in texts), opening
        assert opening.choice_sv != opening.choice_en and opening.say_sv != opening.say_en


def test_no_opening_tells_whoever_answers_who_calls_or_why() -> None:
    """No text names Nexus, the municipality, violence, help or the police."""
    for opening in OPENINGS:
        for text in (opening.choice_sv, opening.choice_en, opening.say_sv, opening.say_en):
            assert not REVEALING.search(text), (opening.code, text)


def test_only_the_personal_opening_says_the_alias() -> None:
    """The alias fills {alias} in "personal" (both languages); the others never say it."""
    assert opening_lines("personal", "Blåsippa") == (
        "Hej, jag söker Blåsippa. Jag ringer igen en annan gång.",
        "Hello, I would like to speak to Blåsippa. I will call again another time.",
    )
    for code in OPENING_CODES - {"personal"}:
        assert all("Blåsippa" not in line for line in opening_lines(code, "Blåsippa")), code
    assert opening_lines("personal", "{0} {alias}")[0].startswith("Hej, jag söker {0} {alias}.")


def test_an_unknown_stored_code_reads_as_the_default() -> None:
    """A request stored before openings existed (no code) is handled as the safe default."""
    assert opening_for("").code == DEFAULT_OPENING
    assert opening_lines("", "Ros") == opening_lines(DEFAULT_OPENING, "Ros")
    assert opening_lines("wrong_number", "Ros")[0] == "Förlåt, jag har nog ringt fel nummer."


def test_no_choice_means_the_default_and_a_known_code_is_kept() -> None:
    """Missing or blank is wrong_number; case and spaces around a code do not matter."""
    assert validate_request(request(), SETTINGS, NOW).opening == "wrong_number"
    assert validate_request(request(opening="  "), SETTINGS, NOW).opening == "wrong_number"
    for code in OPENING_CODES:
        assert validate_request(request(opening=code), SETTINGS, NOW).opening == code
    assert validate_request(request(opening=" Survey "), SETTINGS, NOW).opening == "survey"


@pytest.mark.parametrize("typed", ["say_nexus", "nexus", "<b>", "wrong number", "0"])
def test_an_unknown_opening_is_a_field_error_in_both_languages(typed: str) -> None:
    """An unknown code is refused on the opening field, in Swedish and English."""
    assert errors_of(request(opening=typed)) == [
        (
            "opening",
            "invalid",
            "Välj vad vi ska säga om någon annan svarar.",
            "Choose what we should say if someone else answers.",
        )
    ]


def test_an_opening_error_comes_with_the_others_in_form_order() -> None:
    """A too long alias and an unknown opening are reported together, alias first; the alias
    error says the limit."""
    errors = errors_of(request(alias="å" * 41, opening="x", language="svenska"))
    assert [(field, code) for field, code, *_ in errors] == [
        ("alias", "too_long"),
        ("opening", "invalid"),
        ("language", "invalid"),
    ]
    assert errors[0][2:] == (
        "Aliaset får vara högst 40 tecken.",
        "The alias may be at most 40 characters.",
    )


def test_json_and_form_input_carry_the_opening() -> None:
    """Both readers take "opening"; a non-string in JSON counts as missing."""
    assert CallbackRequestIn.from_json({"opening": "survey"}).opening == "survey"
    assert CallbackRequestIn.from_json({"opening": ["survey"]}).opening == ""
    assert CallbackRequestIn.from_form({"opening": "hang_up"}).opening == "hang_up"
    assert CallbackRequestIn.from_form({}).opening == ""


def test_the_widget_labels_are_the_servers_choice_texts() -> None:
    """The widget's Swedish and English labels say what the no-JS form says; Arabic has one for
    every opening."""
    for lang in ("sv", "en", "ar"):
        strings = json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))
        for opening in OPENINGS:
            label = strings[f"cb_opening_{opening.code}"]
            if lang != "ar":
                assert label == getattr(opening, f"choice_{lang}"), (lang, opening.code)
            assert label.strip(), (lang, opening.code)
