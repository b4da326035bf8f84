"""The configurable survey: strict validation of its configuration, answers and counters."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from chat_server.domain.stats_export import suppress_small_cells
from chat_server.domain.survey import (
    InvalidAnswer,
    SurveyConfigError,
    increments_for_answers,
    parse_answers,
    parse_survey,
)
from chat_server.survey_config import LAST_GOOD_NAME, SHIPPED_SURVEY, load_survey

EXTRA: dict[str, Any] = {
    "id": "practical_help",
    "kind": "yes_no",
    "text": {"sv": "Fick du hjälp med något praktiskt?", "en": "Did you get practical help?"},
}


def shipped_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SHIPPED_SURVEY.read_text("utf-8"))
    return document


def with_extra() -> dict[str, Any]:
    document = shipped_document()
    document["questions"].append(copy.deepcopy(EXTRA))
    return document


def test_the_shipped_survey_keeps_the_first_surveys_ids() -> None:
    """The default asks helped (1-5) and contact_again (yes/no/unsure), as before."""
    survey = parse_survey(shipped_document())
    assert [(q.id, q.kind, q.answers) for q in survey.questions] == [
        ("helped", "scale", ("1", "2", "3", "4", "5")),
        ("contact_again", "choice", ("yes", "no", "unsure")),
    ]


def test_the_shipped_survey_speaks_every_widget_language() -> None:
    """Each language of the widget's index has its own text of every shipped question."""
    index = json.loads((SHIPPED_SURVEY.parents[2] / "widget" / "i18n" / "index.json").read_text())
    codes = {entry["code"] for entry in index["languages"]}
    for question in parse_survey(shipped_document()).questions:
        assert codes <= set(question.text), question.id
        assert all(codes <= set(choice.text) for choice in question.choices), question.id


def _broken(change: str) -> dict[str, Any]:
    document = with_extra()
    questions = document["questions"]
    match change:
        case "version":
            document["version"] = 2
        case "no_questions":
            document["questions"] = []
        case "too_many":
            document["questions"] = [{**EXTRA, "id": f"q{i}"} for i in range(11)]
        case "unknown_key":
            document["title"] = "x"
        case "bad_id":
            questions[2]["id"] = "Praktisk hjälp"
        case "duplicate_id":
            questions[2]["id"] = "helped"
        case "bad_kind":
            questions[2]["kind"] = "free_text"
        case "no_english":
            del questions[2]["text"]["en"]
        case "empty_text":
            questions[2]["text"]["sv"] = "  "
        case "long_text":
            questions[2]["text"]["sv"] = "x" * 201
        case "control_char":
            questions[2]["text"]["sv"] = "a\u0007b"
        case "bad_language":
            questions[2]["text"]["Svenska"] = "x"
        case "choices_on_yes_no":
            questions[2]["choices"] = questions[1]["choices"]
        case "one_choice":
            questions[1]["choices"] = questions[1]["choices"][:1]
        case "duplicate_choice":
            questions[1]["choices"][1]["value"] = "yes"
        case "reserved_choice":
            questions[1]["choices"][1]["value"] = "other"
        case "bad_choice_value":
            questions[1]["choices"][1]["value"] = "Nej!"
        case "bad_hint":
            questions[0]["hint"] = "1-5"
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("version", "version: must be 1"),
        ("no_questions", "questions: give 1 to 10 questions"),
        ("too_many", "questions: give 1 to 10 questions"),
        ("unknown_key", "survey: unknown key 'title'"),
        ("bad_id", "questions[2].id: must start with a-z"),
        ("duplicate_id", "questions[2].id: 'helped' is given twice"),
        ("bad_kind", "questions[2].kind: must be one of scale, yes_no, choice"),
        ("no_english", "questions[2].text: the text in en is missing"),
        ("empty_text", "questions[2].text.sv: must be a non-empty text"),
        ("long_text", "questions[2].text.sv: at most 200 characters"),
        ("control_char", "questions[2].text.sv: contains a control character"),
        ("bad_language", "questions[2].text: 'Svenska' is not a language code"),
        ("choices_on_yes_no", "questions[2].choices: only a choice question has choices"),
        ("one_choice", "questions[1].choices: a choice question needs 2 to 8 choices"),
        ("duplicate_choice", "questions[1].choices[1].value: 'yes' is given twice"),
        ("reserved_choice", "questions[1].choices[1].value: 'other' is reserved"),
        ("bad_choice_value", "questions[1].choices[1].value: must be a code"),
        ("bad_hint", "questions[0].hint: must be an object of texts"),
    ],
)
def test_each_configuration_error_is_named(change: str, message: str) -> None:
    """Every kind of mistake is refused with a message that says where and what."""
    with pytest.raises(SurveyConfigError) as caught:
        parse_survey(_broken(change))
    assert str(caught.value).startswith(message)


def test_answers_are_checked_against_their_question() -> None:
    """Scale takes 1-5 as numbers, yes_no and choice their codes; null is no answer."""
    survey = parse_survey(with_extra())
    answers = {"helped": 4, "contact_again": None, "practical_help": "yes"}
    assert parse_answers(survey, answers) == {"helped": "4", "practical_help": "yes"}
    for bad, field in [
        ({"helped": "4"}, "answers.helped"),
        ({"helped": True}, "answers.helped"),
        ({"helped": 6}, "answers.helped"),
        ({"practical_help": "unsure"}, "answers.practical_help"),
        ({"contact_again": "kanske"}, "answers.contact_again"),
        ({"<script>": "yes"}, "answers"),
    ]:
        with pytest.raises(InvalidAnswer) as caught:
            parse_answers(survey, bad)
        assert caught.value.field == field
    with pytest.raises(InvalidAnswer):
        parse_answers(survey, ["helped"])


def test_answers_count_per_question_and_code() -> None:
    """One form: one response and one counter per answered question, codes only."""
    assert increments_for_answers({"helped": "5", "practical_help": "no"}) == {
        "feedback_responses": 1,
        "feedback:helped:5": 1,
        "feedback:practical_help:no": 1,
    }


def test_a_configured_questions_answers_are_suppressed_as_a_group() -> None:
    """When every form answered it, one small answer cannot be computed from the total."""
    row = {"feedback_responses": 12, "feedback:practical_help:yes": 9,
           "feedback:practical_help:no": 3}  # fmt: skip
    cells = suppress_small_cells(row)
    assert cells["feedback:practical_help:no"] == "<5"
    assert cells["feedback:practical_help:yes"] == "x"


def test_the_widget_gets_the_questions_with_their_answers() -> None:
    """The frame lists every answer; choices carry their texts, yes/no and scale do not."""
    questions = parse_survey(with_extra()).for_widget()
    assert questions[0]["hint"]["sv"].startswith("1 betyder")
    first = questions[1]["answers"][0]
    assert (first["value"], first["text"]["sv"], first["text"]["ar"]) == ("yes", "Ja", "نعم")
    assert questions[2] == {**EXTRA, "answers": [{"value": "yes"}, {"value": "no"}]}


def test_a_good_file_is_used_and_kept_as_the_last_good(tmp_path: Path) -> None:
    """A valid NEXUS_SURVEY_FILE is in force and copied to the data dir."""
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(with_extra()), "utf-8")
    loaded = load_survey(path, tmp_path / "data")
    assert loaded.source == "configured"
    assert loaded.survey.question("practical_help") is not None
    assert (tmp_path / "data" / LAST_GOOD_NAME).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "questions": []}', None])
def test_a_bad_file_falls_back_to_the_last_good_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str | None
) -> None:
    """Broken, invalid or missing: one ERROR line, and the last good copy stays in force."""
    path, data = tmp_path / "survey.json", tmp_path / "data"
    path.write_text(json.dumps(with_extra()), "utf-8")
    load_survey(path, data)
    if content is None:
        path.unlink()
    else:
        path.write_text(content, "utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = load_survey(path, data)
    assert (loaded.source, loaded.survey.question("practical_help") is not None) == (
        "last_good", True)  # fmt: skip
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert f"NEXUS_SURVEY_FILE refused, {path}:" in record.getMessage()
    assert "using the last good copy" in record.getMessage()


def test_without_a_last_good_copy_the_shipped_survey_is_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad file on first start: the shipped default, and the log says so."""
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(_broken("bad_kind")), "utf-8")
    loaded = load_survey(path, tmp_path / "data")
    assert loaded.source == "shipped"
    assert "questions[2].kind" in caplog.text
    assert "using the shipped default survey" in caplog.text
