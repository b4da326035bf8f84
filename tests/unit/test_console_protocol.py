"""Unit tests of the console's frames: every field checked once, in the parser."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat_server.domain.console_protocol import (
    COUNSELLOR_FRAME_TYPES,
    MAX_BACKCHANNEL_CHARS,
    MAX_NOTE_CHARS,
    AnswerHand,
    Bare,
    ChatRequest,
    ChatText,
    ConsoleHello,
    QueuePage,
    RaiseHand,
    SaveOutcome,
    SetPresence,
    TakeChat,
    TransferChat,
    parse_counsellor_message,
)
from chat_server.domain.protocol import (
    MAX_CHAT_ID_CHARS,
    MAX_CHOICE_CHARS,
    EndChat,
    ErrorCode,
    ProtocolError,
    SendText,
    Typing,
)


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def counsellor_error(raw: str | bytes, **kwargs: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_counsellor_message(raw, **kwargs)
    return caught.value.code


def test_hello_may_carry_the_presence_the_console_wants() -> None:
    """hello without presence keeps the stored one; with it, only a known presence."""
    assert parse_counsellor_message(frame(type="hello")) == ConsoleHello("")
    assert parse_counsellor_message(frame(type="hello", presence="paused")) == (
        ConsoleHello("paused")
    )
    assert counsellor_error(frame(type="hello", presence="busy")) == ErrorCode.INVALID_FIELD


def test_counsellor_presence_and_take() -> None:
    """Presence needs a known value; take may name a chat or leave it to the queue."""
    assert parse_counsellor_message(frame(type="presence", presence="paused")) == (
        SetPresence("paused")
    )
    assert parse_counsellor_message(frame(type="take")) == TakeChat("")
    assert parse_counsellor_message(frame(type="take", chat_id="c1")) == TakeChat("c1")
    assert parse_counsellor_message(frame(type="accept", chat_id="c1")) == TakeChat("c1")
    assert counsellor_error(frame(type="presence")) == ErrorCode.MISSING_FIELD
    assert counsellor_error(frame(type="presence", presence="")) == ErrorCode.MISSING_FIELD
    assert counsellor_error(frame(type="presence", presence="busy")) == ErrorCode.INVALID_FIELD
    assert counsellor_error(frame(type="presence", presence="x" * 40)) == ErrorCode.INVALID_FIELD
    assert counsellor_error(frame(type="accept")) == ErrorCode.MISSING_FIELD
    too_long_id = "c" * (MAX_CHAT_ID_CHARS + 1)
    assert counsellor_error(frame(type="take", chat_id=too_long_id)) == ErrorCode.INVALID_FIELD


def test_counsellor_message_typing_end_carry_chat_id() -> None:
    """A counsellor's message, typing and end frames name the chat they belong to."""
    assert parse_counsellor_message(frame(type="message", chat_id="c1", text=" Hej ")) == (
        SendText(text="Hej", chat_id="c1")
    )
    assert parse_counsellor_message(frame(type="typing", chat_id="c1", active=False)) == (
        Typing(active=False, chat_id="c1")
    )
    assert parse_counsellor_message(frame(type="end", chat_id="c1")) == EndChat(chat_id="c1")


@pytest.mark.parametrize(
    "kind",
    ["message", "typing", "end", "decline", "transfer", "outcome", "note", "note_get",
     "backchannel", "backchannel_get", "chat_done"],
)  # fmt: skip
def test_chat_frames_need_chat_id(kind: str) -> None:
    """Without chat_id, every frame about one chat is missing_field."""
    raw = frame(type=kind, text="hej", reason="other", outcome=[])
    assert counsellor_error(raw) == ErrorCode.MISSING_FIELD


@pytest.mark.parametrize("kind", ["take", "raise_hand", *COUNSELLOR_FRAME_TYPES])
@pytest.mark.parametrize("chat_id", ["\ud800", "a b", "<script>", "x" * 65, 7, ["c1"], True])
def test_a_chat_id_that_cannot_name_a_chat_is_invalid_in_every_frame(
    kind: str, chat_id: object
) -> None:
    """A lone surrogate, a space or markup in chat_id never reaches the store."""
    raw = json.dumps({"type": kind, "chat_id": chat_id, "text": "hej", "outcome": [],
                      "reason": "other", "user": "bo", "presence": "paused"})  # fmt: skip
    try:
        message = parse_counsellor_message(raw)
    except ProtocolError as error:
        assert error.code == ErrorCode.INVALID_FIELD
    else:  # frames without a chat_id field ignore it, as every unknown field
        assert not hasattr(message, "chat_id"), (kind, message)


def test_counsellor_end_and_outcome_codes_are_checked_against_the_list() -> None:
    """Outcome codes are de-duplicated and must be known; [] means not specified."""
    message = parse_counsellor_message(
        frame(type="end", chat_id="c", outcome=["support_talk", "support_talk"])
    )
    assert message == EndChat(chat_id="c", outcome=("support_talk",))
    assert parse_counsellor_message(frame(type="outcome", chat_id="c1", outcome=[])) == (
        SaveOutcome("c1", ())
    )
    raw = frame(type="end", chat_id="c", outcome=["r" * 100])
    assert counsellor_error(raw) == ErrorCode.INVALID_FIELD
    assert MAX_CHOICE_CHARS < 100


@pytest.mark.parametrize("outcome", ["referral", {"a": 1}, [1], ["a", None], None])
def test_counsellor_end_outcome_must_be_a_list_of_strings(outcome: object) -> None:
    """An outcome that is not a list of strings is invalid_field."""
    raw = frame(type="end", chat_id="c", outcome=outcome)
    assert counsellor_error(raw) == ErrorCode.INVALID_FIELD


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"outcome": []}, ErrorCode.MISSING_FIELD),
        ({"chat_id": "c"}, ErrorCode.MISSING_FIELD),
        ({"chat_id": "c", "outcome": "support_talk"}, ErrorCode.INVALID_FIELD),
        ({"chat_id": "c", "outcome": [1]}, ErrorCode.INVALID_FIELD),
        ({"chat_id": "c", "outcome": None}, ErrorCode.INVALID_FIELD),
        ({"chat_id": 7, "outcome": []}, ErrorCode.INVALID_FIELD),
    ],
)
def test_counsellor_late_outcome_needs_chat_and_a_list(fields: dict[str, Any], code: str) -> None:
    """Without chat_id or outcome the frame is missing_field; a non-list is invalid_field."""
    assert counsellor_error(frame(type="outcome", **fields)) == code


def test_counsellor_text_limits() -> None:
    """Counsellor text obeys the same emptiness and length rules as the visitor's."""
    assert counsellor_error(frame(type="message", chat_id="c", text="  ")) == (
        ErrorCode.INVALID_FIELD
    )
    assert counsellor_error(frame(type="message", chat_id="c", text="abc"), max_text_chars=2) == (
        ErrorCode.TEXT_TOO_LONG
    )
    assert counsellor_error(frame(type="message", chat_id="c", text="\ud800")) == (
        ErrorCode.INVALID_FIELD
    )


def test_transfer_needs_a_reason_from_the_list() -> None:
    """to is a username (lower-cased) or "" for the queue; the reason is a fixed code."""
    raw = frame(type="transfer", chat_id="c", to=" Bo ", reason="language")
    assert parse_counsellor_message(raw) == TransferChat("c", "bo", "language")
    assert counsellor_error(frame(type="transfer", chat_id="c", reason="")) == (
        ErrorCode.MISSING_FIELD
    )
    assert counsellor_error(frame(type="transfer", chat_id="c", reason="bored")) == (
        ErrorCode.INVALID_FIELD
    )


def test_feature_frames_parse_to_typed_messages() -> None:
    """Notes, back-channel, hands and breaks are parsed here, not in their handlers."""
    assert parse_counsellor_message(frame(type="note", chat_id="c", text=" ")) == (
        ChatText("note", "c", "")
    )
    assert parse_counsellor_message(frame(type="backchannel", chat_id="c", text="Hjälp")) == (
        ChatText("backchannel", "c", "Hjälp")
    )
    assert parse_counsellor_message(frame(type="note_get", chat_id="c")) == (
        ChatRequest("note_get", "c")
    )
    assert parse_counsellor_message(frame(type="raise_hand")) == RaiseHand("")
    assert parse_counsellor_message(frame(type="hand_answer", user="Anna")) == AnswerHand("anna")
    assert parse_counsellor_message(frame(type="wellbeing")) == Bare("wellbeing")
    assert counsellor_error(frame(type="backchannel", chat_id="c", text=" ")) == (
        ErrorCode.INVALID_FIELD
    )
    long_note = frame(type="note", chat_id="c", text="n" * (MAX_NOTE_CHARS + 1))
    assert counsellor_error(long_note) == ErrorCode.TEXT_TOO_LONG
    long_question = frame(type="backchannel", chat_id="c", text="n" * (MAX_BACKCHANNEL_CHARS + 1))
    assert counsellor_error(long_question) == ErrorCode.TEXT_TOO_LONG
    assert counsellor_error(frame(type="hand_answer")) == ErrorCode.MISSING_FIELD
    assert counsellor_error(frame(type="hand_answer", user="\ud800")) == ErrorCode.INVALID_FIELD


@pytest.mark.parametrize("offset", [-1, 1.5, "3", True, None, 10**12])
def test_queue_page_offset_is_a_bounded_whole_number(offset: object) -> None:
    """queue_page asks for the waiting chats from a 0-based offset."""
    assert parse_counsellor_message(frame(type="queue_page", offset=120)) == QueuePage(120)
    assert parse_counsellor_message(frame(type="queue_page")) == QueuePage(0)
    assert counsellor_error(frame(type="queue_page", offset=offset)) == ErrorCode.INVALID_FIELD


def test_unknown_type_is_named_before_any_field() -> None:
    """An unknown type is unknown_type with or without a chat_id; visitor types are unknown."""
    assert counsellor_error(frame(type="bogus")) == ErrorCode.UNKNOWN_TYPE
    assert counsellor_error(frame(type="bogus", chat_id="c")) == ErrorCode.UNKNOWN_TYPE
    assert counsellor_error(frame(type="start", chat_id="c")) == ErrorCode.UNKNOWN_TYPE
    assert counsellor_error(frame(type="resume", chat_id="c", token="t")) == ErrorCode.UNKNOWN_TYPE
