"""The fixed codes shared by the widget, routing, the console and the statistics.

Fixed lists, never free text: these codes feed anonymous statistics.
"""

from __future__ import annotations

from typing import Final

TOPICS: Final = (
    "violence_close",  # våld i nära relation
    "honour",  # hedersrelaterat våld och förtryck
    "sex_for_compensation",  # sex mot ersättning
    "older_person",  # våld mot en äldre person
    "worried_other",  # orolig för någon annan
    "professional",  # frågar i yrkesroll (skola, träffpunkt…)
    "other",
)

LANGUAGES: Final = (
    "sv", "en", "ar", "fa", "so", "ti", "ku", "tr", "uk", "ru", "pl", "es", "fr", "de", "fi",
    "bs", "sr", "hr", "prs", "am",
)  # fmt: skip

TRANSFER_REASONS: Final = ("language", "topic", "capacity", "break", "other")
