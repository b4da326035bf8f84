"""The fixed outcome codes a counsellor picks when a chat ends: never free text.

Outcomes feed anonymous statistics (the pilot's evaluation), so they are short codes from a
fixed list, grouped for the console's picker: what was talked about (``topic_*``, the same
topics the visitor can choose), what kind of help was given, where the visitor was referred
(``referral_*``), and whether the counsellor ended the chat as abusive. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

MAX_OUTCOMES: Final = 16
# How long after a chat ends its counsellor may still save the outcome (then: unspecified);
# NEXUS_OUTCOME_GRACE_S.
OUTCOME_GRACE_S: Final = 30 * 60
MAX_OUTCOME_CODE_CHARS: Final = 32
# The counsellor ended the chat because it misused the service (abuse, harassment, a flood).
ENDED_ABUSIVE: Final = "ended_abusive"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One choice in the picker: its code, its group and its labels (Swedish first)."""

    code: str
    group: str
    label_sv: str
    label_en: str


GROUP_TOPIC: Final = "topic"
GROUP_HELP: Final = "help"
GROUP_REFERRAL: Final = "referral"
GROUP_ENDING: Final = "ending"

GROUP_LABELS: Final = {
    GROUP_TOPIC: ("Vad samtalet handlade om", "What the chat was about"),
    GROUP_HELP: ("Vilket stöd som gavs", "What support was given"),
    GROUP_REFERRAL: ("Hänvisning", "Referral"),
    GROUP_ENDING: ("Hur chatten avslutades", "How the chat ended"),
}

OUTCOMES: Final[tuple[Outcome, ...]] = (
    Outcome("topic_violence_close", GROUP_TOPIC, "Våld i nära relation",
            "Violence in a close relationship"),
    Outcome("topic_honour", GROUP_TOPIC, "Hedersrelaterat våld och förtryck",
            "Honour-related violence and oppression"),
    Outcome("topic_sex_for_compensation", GROUP_TOPIC, "Sex mot ersättning",
            "Sex for compensation"),
    Outcome("topic_older_person", GROUP_TOPIC, "Våld mot en äldre person",
            "Violence against an older person"),
    Outcome("topic_worried_other", GROUP_TOPIC, "Orolig för någon annan",
            "Worried about someone else"),
    Outcome("topic_professional", GROUP_TOPIC, "Frågor i yrkesroll", "Professional asking"),
    Outcome("topic_other", GROUP_TOPIC, "Annat", "Other"),
    Outcome("support_talk", GROUP_HELP, "Stödsamtal", "Supportive conversation"),
    Outcome("information", GROUP_HELP, "Information", "Information"),
    Outcome("safety_planning", GROUP_HELP, "Säkerhetsplanering", "Safety planning"),
    Outcome("emergency_112", GROUP_HELP, "Uppmanad att ringa 112", "Told to call 112"),
    Outcome("referral_nexus", GROUP_REFERRAL, "Besökstid hos Nexus", "Nexus appointment"),
    Outcome("referral_stodteamet", GROUP_REFERRAL, "Stödteamet (praktiskt stöd)",
            "Stödteamet (practical support)"),
    Outcome("referral_shelter", GROUP_REFERRAL, "Skyddat boende", "Shelter"),
    Outcome("referral_police", GROUP_REFERRAL, "Polisen", "Police"),
    Outcome("referral_healthcare", GROUP_REFERRAL, "Hälso- och sjukvård", "Healthcare"),
    Outcome("referral_kvinnofridslinjen", GROUP_REFERRAL, "Kvinnofridslinjen",
            "Kvinnofridslinjen (national helpline)"),
    Outcome("referral_other", GROUP_REFERRAL, "Annan hänvisning", "Other referral"),
    # Ticked with "Avsluta chatt", it ends an abusive chat at once like any other end (the
    # visitor sees the usual notice) and is counted as its own outcome.
    Outcome(ENDED_ABUSIVE, GROUP_ENDING, "Avslutad: missbruk av chatten",
            "Ended: misuse of the chat"),
)  # fmt: skip

OUTCOME_CODES: Final = frozenset(o.code for o in OUTCOMES)


class UnknownOutcomeError(ValueError):
    """An outcome code that is not in :data:`OUTCOMES`, or too many codes."""


def validate_outcomes(codes: Iterable[str]) -> tuple[str, ...]:
    """The given codes, de-duplicated in their order; raises UnknownOutcomeError on a code not
    in the list or on more than MAX_OUTCOMES distinct codes."""
    if isinstance(codes, str):
        raise TypeError("outcomes is a collection of codes, not one string")
    chosen: list[str] = []
    for code in codes:
        if code not in OUTCOME_CODES:
            raise UnknownOutcomeError(f"unknown outcome code {code[:MAX_OUTCOME_CODE_CHARS]!r}")
        if code not in chosen:
            chosen.append(code)
    if len(chosen) > MAX_OUTCOMES:
        raise UnknownOutcomeError(f"at most {MAX_OUTCOMES} outcome codes")
    return tuple(chosen)


def outcomes_for_console() -> list[dict[str, str]]:
    """The picker's choices as plain dicts (code, group, sv, en), in display order."""
    return [
        {"code": o.code, "group": o.group, "sv": o.label_sv, "en": o.label_en} for o in OUTCOMES
    ]
