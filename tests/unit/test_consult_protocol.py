"""Unit tests of the warm-transfer frames: consult, consult_answer, consult_cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat_server.domain.console_protocol import (
    MAX_CONSULT_NOTE_CHARS,
    ChatRequest,
    Consult,
    ConsultAnswer,
    parse_counsellor_message,
)
from chat_server.domain.protocol import ErrorCode, ProtocolError


def error_of(**fields: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_counsellor_message(json.dumps(fields))
    return caught.value.code


def test_a_consult_names_a_colleague_a_reason_and_an_optional_note() -> None:
    """The username is trimmed and lower-cased, the note trimmed, and absent means ''."""
    parsed = parse_counsellor_message(
        json.dumps({"type": "consult", "chat_id": "c1", "to": " Bo ", "reason": "language",
                    "note": "  talar arabiska  "})
    )  # fmt: skip
    assert parsed == Consult("c1", "bo", "language", "talar arabiska")
    bare = parse_counsellor_message(
        json.dumps({"type": "consult", "chat_id": "c1", "to": "bo", "reason": "other"})
    )
    assert bare == Consult("c1", "bo", "other", "")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "bo", "reason": "other"}, ErrorCode.MISSING_FIELD),
        ({"chat_id": "c1", "reason": "other"}, ErrorCode.MISSING_FIELD),
        ({"chat_id": "c1", "to": "", "reason": "other"}, ErrorCode.MISSING_FIELD),
        ({"chat_id": "c1", "to": "bo"}, ErrorCode.MISSING_FIELD),
        ({"chat_id": "c1", "to": "bo", "reason": "bored"}, ErrorCode.INVALID_FIELD),
        ({"chat_id": "c1", "to": 7, "reason": "other"}, ErrorCode.INVALID_FIELD),
        ({"chat_id": "c1", "to": "bo", "reason": "other", "note": ["x"]}, ErrorCode.INVALID_FIELD),
        (
            {
                "chat_id": "c1",
                "to": "bo",
                "reason": "other",
                "note": "x" * (MAX_CONSULT_NOTE_CHARS + 1),
            },
            ErrorCode.TEXT_TOO_LONG,
        ),
    ],
)
def test_a_bad_consult_is_refused_with_a_code(fields: dict[str, Any], code: str) -> None:
    """Every missing or wrong field of consult has its own clear code."""
    assert error_of(type="consult", **fields) == code


def test_a_note_of_exactly_the_limit_is_taken() -> None:
    """500 characters after trimming is still a note."""
    note = "å" * MAX_CONSULT_NOTE_CHARS
    parsed = parse_counsellor_message(
        json.dumps({"type": "consult", "chat_id": "c", "to": "bo", "reason": "other",
                    "note": f" {note} "})
    )  # fmt: skip
    assert isinstance(parsed, Consult) and parsed.note == note


def test_an_answer_is_a_yes_or_a_no() -> None:
    """accept must be present and a boolean; consult_cancel needs only the chat."""
    assert parse_counsellor_message(
        json.dumps({"type": "consult_answer", "chat_id": "c", "accept": False})
    ) == ConsultAnswer("c", False)
    assert error_of(type="consult_answer", chat_id="c") == ErrorCode.MISSING_FIELD
    assert error_of(type="consult_answer", chat_id="c", accept="yes") == ErrorCode.INVALID_FIELD
    assert error_of(type="consult_answer", accept=True) == ErrorCode.MISSING_FIELD
    assert parse_counsellor_message(
        json.dumps({"type": "consult_cancel", "chat_id": "c"})
    ) == ChatRequest("consult_cancel", "c")
    assert error_of(type="consult_cancel") == ErrorCode.MISSING_FIELD
