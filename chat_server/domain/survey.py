"""The post-chat survey (brukarundersökning) as data: its questions, their strict validation,
the visitor's answers checked against them and the counters they add.

Pure. The questions come from a JSON document (the shipped ``chat_server/data/survey.json``
or ``NEXUS_SURVEY_FILE``; loading and the fallback to the last good one are in
:mod:`chat_server.survey_config`). An answer is only ever counted as ``feedback:<question
id>:<answer code>`` of the day: ids and answer codes are short fixed codes from the
configuration, never visitor text, and there is no free-text question kind.

Kinds: ``scale`` (answers ``1``..``5``), ``yes_no`` (``yes`` / ``no``) and ``choice`` (one of
2–8 configured codes). Every text is given at least in Swedish and English; other widget
languages may be added and the widget falls back to the base language (``sv`` for
``sv-lattlast``), then English.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .stats import FEEDBACK, FEEDBACK_RESPONSES, OTHER, UNSPECIFIED, counter_field

SURVEY_VERSION: Final = 1
MAX_QUESTIONS: Final = 10
MIN_CHOICES: Final = 2
MAX_CHOICES: Final = 8
MAX_TEXT_CHARS: Final = 200
MAX_LANGUAGES: Final = 25
REQUIRED_LANGUAGES: Final = ("sv", "en")
SCALE: Final = "scale"
YES_NO: Final = "yes_no"
CHOICE: Final = "choice"
KINDS: Final = (SCALE, YES_NO, CHOICE)
SCALE_ANSWERS: Final = ("1", "2", "3", "4", "5")
YES_NO_ANSWERS: Final = ("yes", "no")
_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
_CODE = re.compile(r"[a-z0-9_]{1,32}")
_LANG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")  # as the widget's i18n index: sv-lattlast
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Codes the statistics use for answers outside a question's list and for no answer.
_RESERVED_CODES: Final = frozenset({OTHER, UNSPECIFIED})


class SurveyConfigError(ValueError):
    """A survey configuration that cannot be used; the message names the place (for example
    ``questions[2].choices[0].value``) and what is wrong, in English, for the operator."""


Texts = Mapping[str, str]
"""One text in several languages: ``{"sv": ..., "en": ..., ...}``."""


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    text: Texts


@dataclass(frozen=True, slots=True)
class Question:
    """One question; ``answers`` are the codes it may be answered with, in display order."""

    id: str
    kind: str
    text: Texts
    hint: Texts | None
    choices: tuple[Choice, ...]

    @property
    def answers(self) -> tuple[str, ...]:
        if self.kind == SCALE:
            return SCALE_ANSWERS
        if self.kind == YES_NO:
            return YES_NO_ANSWERS
        return tuple(choice.value for choice in self.choices)

    def answer_text(self, answer: str, lang: str) -> str:
        """The shown text of one answer code (the scale's digits are their own text)."""
        for choice in self.choices:
            if choice.value == answer:
                return text_in(choice.text, lang)
        return answer


@dataclass(frozen=True, slots=True)
class Survey:
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def for_widget(self) -> list[dict[str, Any]]:
        """The questions as the ``feedback`` frame carries them (docs/protocol.md)."""
        return [
            {
                "id": q.id,
                "kind": q.kind,
                "text": dict(q.text),
                **({"hint": dict(q.hint)} if q.hint else {}),
                "answers": [
                    {"value": a, **({"text": dict(c.text)} if (c := _choice(q, a)) else {})}
                    for a in q.answers
                ],
            }
            for q in self.questions
        ]


def _choice(question: Question, value: str) -> Choice | None:
    return next((c for c in question.choices if c.value == value), None)


def text_in(texts: Texts, lang: str) -> str:
    """``texts`` in ``lang``, else its base language (``sv`` for ``sv-lattlast``), else
    English, else Swedish."""
    base = lang.split("-", 1)[0]
    return texts.get(lang) or texts.get(base) or texts.get("en") or texts.get("sv", "")


# --- validation ---------------------------------------------------------------------------


def _texts(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise SurveyConfigError(f"{where}: must be an object of texts by language, e.g. "
                                '{"sv": "...", "en": "..."}')  # fmt: skip
    missing = [lang for lang in REQUIRED_LANGUAGES if lang not in raw]
    if missing:
        raise SurveyConfigError(f"{where}: the text in {' and '.join(missing)} is missing")
    if len(raw) > MAX_LANGUAGES:
        raise SurveyConfigError(f"{where}: at most {MAX_LANGUAGES} languages")
    texts = {}
    for lang, text in raw.items():
        if not isinstance(lang, str) or not _LANG.fullmatch(lang):
            raise SurveyConfigError(f"{where}: {str(lang)[:12]!r} is not a language code")
        if not isinstance(text, str) or not text.strip():
            raise SurveyConfigError(f"{where}.{lang}: must be a non-empty text")
        if len(text) > MAX_TEXT_CHARS:
            raise SurveyConfigError(f"{where}.{lang}: at most {MAX_TEXT_CHARS} characters")
        if _CONTROL.search(text):
            raise SurveyConfigError(f"{where}.{lang}: contains a control character")
        texts[lang] = text.strip()
    return texts


def _only_keys(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(str(k)[:32] for k in raw if k not in allowed)
    if unknown:
        raise SurveyConfigError(f"{where}: unknown key {unknown[0]!r}")


def _choices(raw: Any, where: str) -> tuple[Choice, ...]:
    if not isinstance(raw, list) or not MIN_CHOICES <= len(raw) <= MAX_CHOICES:
        raise SurveyConfigError(f"{where}: a choice question needs {MIN_CHOICES} to "
                                f"{MAX_CHOICES} choices")  # fmt: skip
    choices: list[Choice] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise SurveyConfigError(f"{at}: must be an object with value and text")
        _only_keys(item, {"value", "text"}, at)
        value = item.get("value")
        if not isinstance(value, str) or not _CODE.fullmatch(value):
            raise SurveyConfigError(f"{at}.value: must be a code of a-z, 0-9 and _ "
                                    "(at most 32 characters)")  # fmt: skip
        if value in _RESERVED_CODES:
            raise SurveyConfigError(f"{at}.value: {value!r} is reserved by the statistics")
        if any(c.value == value for c in choices):
            raise SurveyConfigError(f"{at}.value: {value!r} is given twice")
        choices.append(Choice(value, _texts(item.get("text"), f"{at}.text")))
    return tuple(choices)


def _question(raw: Any, where: str, seen: set[str]) -> Question:
    if not isinstance(raw, dict):
        raise SurveyConfigError(f"{where}: must be an object")
    _only_keys(raw, {"id", "kind", "text", "hint", "choices"}, where)
    qid = raw.get("id")
    if not isinstance(qid, str) or not _ID.fullmatch(qid):
        raise SurveyConfigError(f"{where}.id: must start with a-z and hold only a-z, 0-9 "
                                "and _ (at most 32 characters)")  # fmt: skip
    if qid in seen:
        raise SurveyConfigError(f"{where}.id: {qid!r} is given twice")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SurveyConfigError(f"{where}.kind: must be one of {', '.join(KINDS)}")
    hint = _texts(raw["hint"], f"{where}.hint") if raw.get("hint") is not None else None
    if kind == CHOICE:
        choices = _choices(raw.get("choices"), f"{where}.choices")
    elif "choices" in raw:
        raise SurveyConfigError(f"{where}.choices: only a choice question has choices")
    else:
        choices = ()
    return Question(qid, kind, _texts(raw.get("text"), f"{where}.text"), hint, choices)


def parse_survey(document: Any) -> Survey:
    """The survey described by a parsed JSON ``document``; raises :class:`SurveyConfigError`
    naming the first problem (wrong version, no or too many questions, a bad or repeated id,
    an unknown kind, a missing Swedish or English text, bad or repeated choices)."""
    if not isinstance(document, dict):
        raise SurveyConfigError('the survey must be a JSON object {"version": 1, "questions": '
                                "[...]}")  # fmt: skip
    _only_keys(document, {"version", "questions"}, "survey")
    if document.get("version") != SURVEY_VERSION:
        raise SurveyConfigError(f"version: must be {SURVEY_VERSION}")
    raw_questions = document.get("questions")
    if not isinstance(raw_questions, list) or not 1 <= len(raw_questions) <= MAX_QUESTIONS:
        raise SurveyConfigError(f"questions: give 1 to {MAX_QUESTIONS} questions")
    questions: list[Question] = []
    for i, raw in enumerate(raw_questions):
        question = _question(raw, f"questions[{i}]", {q.id for q in questions})
        questions.append(question)
    return Survey(tuple(questions))


# --- answers ------------------------------------------------------------------------------


class InvalidAnswer(ValueError):
    """An answer the survey cannot take; ``field`` names it for the 422 (never visitor text)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def parse_answers(survey: Survey, answers: Any) -> dict[str, str]:
    """The answer codes of one form: ``{question id: code}`` for the questions answered.

    ``answers`` maps question ids to an answer: a whole number 1–5 for a scale, ``"yes"`` /
    ``"no"``, or a choice's value; ``null`` or a missing id is no answer. Raises
    :class:`InvalidAnswer` (field ``answers`` for a non-object or an id the survey does not
    have, ``answers.<id>`` for a wrong answer).
    """
    if not isinstance(answers, dict):
        raise InvalidAnswer("answers")
    chosen: dict[str, str] = {}
    for qid, value in answers.items():
        question = survey.question(qid) if isinstance(qid, str) else None
        if question is None:
            raise InvalidAnswer("answers")
        if value is None:
            continue
        if question.kind == SCALE:
            if type(value) is not int or not 1 <= value <= len(SCALE_ANSWERS):
                raise InvalidAnswer(f"answers.{qid}")
            chosen[qid] = str(value)
        elif isinstance(value, str) and value in question.answers:
            chosen[qid] = value
        else:
            raise InvalidAnswer(f"answers.{qid}")
    return chosen


def increments_for_answers(answers: Mapping[str, str]) -> dict[str, int]:
    """The counters of one form: ``feedback_responses`` and one ``feedback:<id>:<code>`` per
    answered question (``answers`` as :func:`parse_answers` returns them)."""
    increments = {FEEDBACK_RESPONSES: 1}
    for qid, code in answers.items():
        increments[counter_field(FEEDBACK, qid, code)] = 1
    return increments
