"""The pure rules of flood control: the difficulty curve and the signed challenges."""

from __future__ import annotations

import pytest

from chat_server.domain import flood
from chat_server.domain.flood import FloodPolicy, PowRefused

KEY = b"k" * 32
NOW_MS = 1_750_000_000_000
POLICY = FloodPolicy(starts_per_min=60, min_bits=10, max_bits=14, challenge_ttl_s=60)


def _challenge(bits: int = 8) -> flood.Challenge:
    return flood.issue(KEY, bits, NOW_MS, bytes(range(16)), ttl_s=60)


def test_no_challenge_below_the_rate() -> None:
    """Below the configured rate no proof of work is asked."""
    assert flood.required_bits(59.9, POLICY) == 0
    assert flood.required_bits(0, POLICY) == 0


def test_difficulty_grows_with_the_flood_and_is_capped() -> None:
    """At the rate: min_bits; two more bits per doubling; never over max_bits."""
    assert flood.required_bits(60, POLICY) == 10
    assert flood.required_bits(120, POLICY) == 12
    assert flood.required_bits(240, POLICY) == 14
    assert flood.required_bits(1_000_000, POLICY) == 14


def test_rate_zero_switches_flood_control_off() -> None:
    """starts_per_min 0 never asks for work."""
    assert flood.required_bits(10_000, FloodPolicy(starts_per_min=0)) == 0


def test_recent_rate_weighs_the_previous_window_by_what_is_left_of_it() -> None:
    """A quarter into a window, three quarters of the previous window still count."""
    quarter = flood.WINDOW_MS * 1000 + flood.WINDOW_MS // 4
    assert flood.recent_rate(10, 40, quarter) == pytest.approx(40.0)


def test_bad_policies_are_refused() -> None:
    """Nonsense settings fail at start-up, not in a flood."""
    for bad in ({"min_bits": 0}, {"min_bits": 15, "max_bits": 14}, {"max_bits": 33},
                {"starts_per_min": -1}, {"challenge_ttl_s": 1}):  # fmt: skip
        with pytest.raises(ValueError, match=r"must|need"):
            FloodPolicy(**bad)  # type: ignore[arg-type]


def test_a_solved_challenge_verifies() -> None:
    """solve() finds a counter that verify() accepts, with the challenge's bits."""
    challenge = _challenge()
    solution = flood.solve(challenge.text, challenge.bits)
    assert flood.leading_zero_bits(flood.work_digest(challenge.text, solution)) >= 8
    assert flood.verify(KEY, challenge.text, solution, NOW_MS + 1000) == challenge


def test_an_unsolved_challenge_is_invalid() -> None:
    """A counter that does not give the zero bits is refused as invalid."""
    challenge = _challenge(bits=20)
    wrong = next(
        str(n)
        for n in range(100)
        if flood.leading_zero_bits(flood.work_digest(challenge.text, str(n))) < 20
    )
    with pytest.raises(PowRefused) as refused:
        flood.verify(KEY, challenge.text, wrong, NOW_MS)
    assert refused.value.code == flood.POW_INVALID


def test_a_forged_challenge_is_invalid() -> None:
    """A challenge with lowered bits, another key's signature, or garbage is refused."""
    challenge = _challenge(bits=12)
    lowered = challenge.text.replace("1.12.", "1.1.", 1)
    other_key = flood.issue(b"x" * 32, 1, NOW_MS, bytes(16), 60).text
    non_ascii = challenge.text.rsplit(".", 1)[0] + ".é"
    for forged in (lowered, other_key, "", "1.2.3", "garbage.a.b.c.d", challenge.text + "0",
                   non_ascii):  # fmt: skip
        solution = flood.solve(forged, 1) if forged else "0"
        with pytest.raises(PowRefused) as refused:
            flood.verify(KEY, forged, solution, NOW_MS)
        assert refused.value.code == flood.POW_INVALID


def test_a_solution_must_be_a_decimal_counter() -> None:
    """Non-digit or overlong solutions are invalid even if they happen to hash well."""
    challenge = _challenge(bits=1)
    for bad in ("", "-1", "１２", "1" * 21, "0x1"):
        with pytest.raises(PowRefused) as refused:
            flood.verify(KEY, challenge.text, bad, NOW_MS)
        assert refused.value.code == flood.POW_INVALID


def test_an_expired_challenge_is_refused_as_expired() -> None:
    """At its expiry time a challenge no longer opens the way."""
    challenge = _challenge()
    solution = flood.solve(challenge.text, challenge.bits)
    with pytest.raises(PowRefused) as refused:
        flood.verify(KEY, challenge.text, solution, challenge.expires_ms)
    assert refused.value.code == flood.POW_EXPIRED


def test_a_challenge_fits_the_protocol_limit() -> None:
    """The challenge string is shorter than the start frame's field limit."""
    assert len(flood.issue(KEY, 32, 10**15, bytes(16), 3600).text) <= flood.MAX_CHALLENGE_CHARS


def test_settings_read_the_flood_variables_and_refuse_nonsense() -> None:
    """NEXUS_FLOOD_* become the policy; impossible values stop the start with their name."""
    from chat_server.config import SettingsError, load_settings

    env = {"NEXUS_FLOOD_STARTS_PER_MIN": "5", "NEXUS_FLOOD_MIN_BITS": "8",
           "NEXUS_FLOOD_MAX_BITS": "12", "NEXUS_FLOOD_CHALLENGE_TTL_S": "30"}  # fmt: skip
    assert load_settings(env).flood == FloodPolicy(5, 8, 12, 30)
    assert load_settings({}).flood == FloodPolicy(60, 10, 14, 60)
    for name, bad in (("NEXUS_FLOOD_MIN_BITS", "0"), ("NEXUS_FLOOD_MAX_BITS", "40"),
                      ("NEXUS_FLOOD_STARTS_PER_MIN", "many")):  # fmt: skip
        with pytest.raises(SettingsError, match="NEXUS_FLOOD"):
            load_settings({name: bad})
