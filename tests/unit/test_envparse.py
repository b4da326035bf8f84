"""Unit tests of the shared environment parsers: an explicit mapping in, a value or an error out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.envparse import EnvError, EnvReader


class CustomError(ValueError):
    """Stands in for a settings module's own exception type."""


def reader(**env: str) -> EnvReader:
    """A reader raising EnvError over exactly the given variables."""
    return EnvReader(env)


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_unset_or_blank_values_mean_the_default(raw: str | None) -> None:
    """A missing, empty or all-white-space variable gives the default for every kind."""
    read = reader() if raw is None else reader(NEXUS_X=raw)
    assert read.whole("NEXUS_X", 7) == 7
    assert read.number("NEXUS_X", 2.5) == 2.5
    assert read.flag("NEXUS_X", True) is True
    assert read.flag("NEXUS_X", False) is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("60", 60), (" 60 ", 60), ("0", 0), ("+5", 5), ("1_000", 1000), ("60.0", 60), ("6e1", 60)],
)
def test_whole_numbers_accept_integer_text_and_integral_numbers(raw: str, expected: int) -> None:
    """Integer text, and numbers with no fractional part, read as that int."""
    value = reader(NEXUS_X=raw).whole("NEXUS_X", 1)
    assert value == expected and type(value) is int


def test_whole_numbers_honour_a_minimum() -> None:
    """A value below the minimum is refused and the message states that minimum."""
    assert reader(NEXUS_X="1").whole("NEXUS_X", 5, minimum=1) == 1
    with pytest.raises(EnvError, match=r"^NEXUS_X must be a number: a whole number ≥ 1, got '0'$"):
        reader(NEXUS_X="0").whole("NEXUS_X", 5, minimum=1)


def test_whole_numbers_honour_a_maximum() -> None:
    """A value above the maximum is refused and the message states that maximum."""
    assert reader(NEXUS_X="16").whole("NEXUS_X", 0, maximum=16) == 16
    with pytest.raises(EnvError, match=r"^NEXUS_X must be at most 16, got 17$"):
        reader(NEXUS_X="17").whole("NEXUS_X", 0, maximum=16)


@given(st.integers(min_value=0, max_value=10**30))
def test_every_non_negative_int_reads_back(number: int) -> None:
    """Any non-negative int written out in decimal reads back unchanged."""
    assert reader(NEXUS_X=str(number)).whole("NEXUS_X", 0) == number


@pytest.mark.parametrize(
    ("raw", "expected"), [("2.5", 2.5), (" 0.5 ", 0.5), ("0", 0.0), ("1e3", 1000.0), ("7", 7.0)]
)
def test_numbers_accept_decimal_and_exponent_forms(raw: str, expected: float) -> None:
    """Decimal and exponent spellings read as that float."""
    assert reader(NEXUS_X=raw).number("NEXUS_X", 1.0) == expected


def test_numbers_honour_a_minimum() -> None:
    """A number below the minimum is refused and the message states that minimum."""
    assert reader(NEXUS_X="1.5").number("NEXUS_X", 2.0, minimum=1.5) == 1.5
    with pytest.raises(EnvError, match=r"^NEXUS_X must be a finite number ≥ 1.5, got '1.4'$"):
        reader(NEXUS_X="1.4").number("NEXUS_X", 2.0, minimum=1.5)


# Each parser, the form its error states, and values it must refuse.
BAD_VALUES: dict[str, tuple[Callable[[EnvReader], object], str, list[str]]] = {
    "whole": (
        lambda read: read.whole("NEXUS_X", 1),
        "a number: a whole number ≥ 0",
        ["abc", "1.5", "8080x", "-1", "nan", "inf", "1e400", "1,5"],
    ),
    "number": (
        lambda read: read.number("NEXUS_X", 1.0),
        "a finite number ≥ 0",
        ["abc", "1,5", "fast", "-1", "-0.1", "nan", "inf", "-inf"],
    ),
    "flag": (
        lambda read: read.flag("NEXUS_X", True),
        "true or false (or yes/no, on/off, 1/0)",
        ["maybe", "2", "ja", "y", "truthy"],
    ),
}


@pytest.mark.parametrize(
    ("kind", "raw"), [(kind, raw) for kind, (_, _, bad) in BAD_VALUES.items() for raw in bad]
)
def test_bad_values_are_refused_with_name_form_and_value(kind: str, raw: str) -> None:
    """A value a parser cannot use raises, naming the variable, the form and the value."""
    parse, form, _ = BAD_VALUES[kind]
    with pytest.raises(EnvError) as raised:
        parse(reader(NEXUS_X=raw))
    assert str(raised.value) == f"NEXUS_X must be {form}, got {raw!r}"


FLAG_WORDS = {"1": True, "true": True, "yes": True, "on": True}
FLAG_WORDS |= {"0": False, "false": False, "no": False, "off": False}


@pytest.mark.parametrize("word", sorted(FLAG_WORDS))
@pytest.mark.parametrize("spell", [str.lower, str.upper, str.title, lambda w: f" {w}\t"])
def test_flag_words_in_any_case(word: str, spell: Callable[[str], str]) -> None:
    """Flags accept 1/0, true/false, yes/no and on/off in any case, overriding the default."""
    expected = FLAG_WORDS[word]
    assert reader(NEXUS_X=spell(word)).flag("NEXUS_X", not expected) is expected


def test_errors_are_raised_as_the_callers_type() -> None:
    """With an error class given, every kind of read raises that class (a ValueError)."""
    read = EnvReader({"NEXUS_X": "abc"}, CustomError)
    for parse in (
        lambda: read.whole("NEXUS_X", 1),
        lambda: read.number("NEXUS_X", 1.0),
        lambda: read.flag("NEXUS_X", True),
    ):
        with pytest.raises(CustomError, match="NEXUS_X"):
            parse()
    assert issubclass(EnvError, ValueError)


def test_a_long_bad_value_is_quoted_cut_short() -> None:
    """An error quotes only the first 20 characters of a long value, marking the cut."""
    with pytest.raises(EnvError) as raised:
        reader(NEXUS_X="x" * 500).whole("NEXUS_X", 1)
    assert str(raised.value).endswith(f"got {'x' * 20!r}…")


def test_other_variables_are_not_consulted() -> None:
    """Only the named variable counts: a bad value elsewhere in the mapping is ignored."""
    read = reader(NEXUS_OTHER="abc", NEXUS_X="3")
    assert (read.whole("NEXUS_X", 0), read.whole("NEXUS_Y", 9)) == (3, 9)
