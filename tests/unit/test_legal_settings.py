"""The legal pages' settings refuse what they cannot show, and durations read naturally."""

from __future__ import annotations

import pytest

from chat_server.config import SettingsError, load_settings
from chat_server.legal_settings import DEFAULT_CONTROLLER, STATEMENT_DATE
from chat_server.web.legal import duration


def test_defaults_name_the_committee_and_the_statement_date() -> None:
    """Without settings: the social welfare committee, no contacts, today's statement date."""
    legal = load_settings({}).legal
    assert (legal.controller, legal.dpo_contact, legal.a11y_contact) == (DEFAULT_CONTROLLER, "", "")
    assert (legal.statement_date, legal.a11y_report_days) == (STATEMENT_DATE, 30)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXUS_A11Y_CONTACT", "not an address"),
        ("NEXUS_A11Y_CONTACT", "a@b.se<script>"),
        ("NEXUS_A11Y_STATEMENT_DATE", "4 december"),
        ("NEXUS_A11Y_REPORT_DAYS", "0"),
        ("NEXUS_A11Y_REPORT_DAYS", "366"),
        ("NEXUS_A11Y_REPORT_DAYS", "many"),
        ("NEXUS_CONTROLLER", "x" * 301),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name: str, value: str) -> None:
    """Each bad value stops start-up with a SettingsError that names the variable."""
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


@pytest.mark.parametrize(
    ("seconds", "sv", "en"),
    [
        (1800, "30 minuter", "30 minutes"),
        (60, "1 minut", "1 minute"),
        (3600, "1 timme", "1 hour"),
        (7200, "2 timmar", "2 hours"),
        (8 * 86400, "8 dagar", "8 days"),
        (90, "90 sekunder", "90 seconds"),
    ],
)
def test_durations_take_the_largest_whole_unit(seconds: int, sv: str, en: str) -> None:
    """A duration is written in the largest unit that divides it, singular for one."""
    assert (duration(seconds, "sv"), duration(seconds, "en")) == (sv, en)
