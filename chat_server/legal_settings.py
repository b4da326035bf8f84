"""Settings of the legal pages (privacy notice, accessibility statement), read from the
environment. ``LegalSettings.from_env`` is the only reader of these variables (Settings calls it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from .envparse import EnvReader

DEFAULT_CONTROLLER: Final = "Socialnämnden, Uppsala kommun"
STATEMENT_DATE: Final = "2026-12-04"  # when the accessibility statement's text was last assessed
MAX_SETTING_CHARS: Final = 300
_EMAIL_RE: Final = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[a-z]{2,}", re.IGNORECASE)


class LegalSettingsError(ValueError):
    """A variable of the legal pages has a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class LegalSettings:
    """Who answers for the service and how to reach them, shown on /integritet and
    /tillganglighet. Empty contacts fall back to the municipality's Kontaktcenter."""

    controller: str = DEFAULT_CONTROLLER
    dpo_contact: str = ""
    a11y_contact: str = ""  # an e-mail address for accessibility faults, shown as a mailto link
    legal_basis_sv: str = ""  # empty: the draft text of chat_server/web/legal.py
    legal_basis_en: str = ""
    statement_date: str = STATEMENT_DATE
    a11y_report_days: int = 30  # how long a reported fault is kept for the staff to read

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LegalSettings:
        read = EnvReader(env, LegalSettingsError)
        texts = {
            name: env.get(name, "").strip()
            for name in (
                "NEXUS_CONTROLLER",
                "NEXUS_DPO_CONTACT",
                "NEXUS_A11Y_CONTACT",
                "NEXUS_LEGAL_BASIS_SV",
                "NEXUS_LEGAL_BASIS_EN",
                "NEXUS_A11Y_STATEMENT_DATE",
            )
        }
        for name, value in texts.items():
            if len(value) > MAX_SETTING_CHARS and not name.startswith("NEXUS_LEGAL_BASIS"):
                raise LegalSettingsError(f"{name}: at most {MAX_SETTING_CHARS} characters")
        contact = texts["NEXUS_A11Y_CONTACT"]
        if contact and not _EMAIL_RE.fullmatch(contact):
            raise LegalSettingsError("NEXUS_A11Y_CONTACT: an e-mail address, e.g. a11y@example.se")
        when = texts["NEXUS_A11Y_STATEMENT_DATE"] or STATEMENT_DATE
        try:
            date.fromisoformat(when)
        except ValueError:
            raise LegalSettingsError("NEXUS_A11Y_STATEMENT_DATE: a date, YYYY-MM-DD") from None
        days = read.whole("NEXUS_A11Y_REPORT_DAYS", 30)
        if not 1 <= days <= 365:
            raise LegalSettingsError("NEXUS_A11Y_REPORT_DAYS: from 1 to 365")
        return cls(
            controller=texts["NEXUS_CONTROLLER"] or DEFAULT_CONTROLLER,
            dpo_contact=texts["NEXUS_DPO_CONTACT"],
            a11y_contact=contact,
            legal_basis_sv=texts["NEXUS_LEGAL_BASIS_SV"],
            legal_basis_en=texts["NEXUS_LEGAL_BASIS_EN"],
            statement_date=when,
            a11y_report_days=days,
        )
