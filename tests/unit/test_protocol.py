"""Unit tests of the wire protocol: parsing client frames, encoding server frames."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.domain.console_protocol import COUNSELLOR_FRAME_TYPES, parse_counsellor_message
from chat_server.domain.protocol import (
    MAX_CHOICE_CHARS,
    MAX_CLIENT_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_TOKEN_CHARS,
    VISITOR_FRAME_TYPES,
    EndChat,
    ErrorCode,
    NotAlone,
    ProtocolError,
    ResumeChat,
    SendText,
    StartChat,
    Typing,
    encode,
    error_frame,
    frame_refs,
    parse_visitor_message,
)


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def visitor_error(raw: str | bytes, **kwargs: Any) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_visitor_message(raw, **kwargs)
    return caught.value.code


# --- visitor messages: the happy paths ---------------------------------------------------


def test_start_with_all_fields() -> None:
    """A start frame carries topic, language and the urgent flag."""
    raw = frame(type="start", topic="honour", language="ar", urgent=True)
    assert parse_visitor_message(raw) == StartChat(topic="honour", language="ar", urgent=True)


def test_start_defaults() -> None:
    """A bare start frame means no topic, no language and not urgent."""
    assert parse_visitor_message(frame(type="start")) == StartChat("", "", False)


def test_resume_with_token_and_last_seq() -> None:
    """A resume frame carries the token and the last seq the visitor saw."""
    raw = frame(type="resume", token="t0k3n", last_seq=7)
    assert parse_visitor_message(raw) == ResumeChat(token="t0k3n", last_seq=7)


def test_resume_last_seq_defaults_to_zero() -> None:
    """A resume frame without last_seq asks for the whole history."""
    assert parse_visitor_message(frame(type="resume", token="abc")) == ResumeChat("abc", 0)


def test_message_text_is_stripped_and_client_id_kept() -> None:
    """A message frame's text is trimmed of surrounding whitespace; client_id is echoed."""
    raw = frame(type="message", text="  Hej, jag behöver prata  \n", client_id="c-1")
    assert parse_visitor_message(raw) == SendText(text="Hej, jag behöver prata", client_id="c-1")


def test_typing_defaults_to_active() -> None:
    """A typing frame without 'active' means the visitor is typing."""
    assert parse_visitor_message(frame(type="typing")) == Typing(active=True)
    assert parse_visitor_message(frame(type="typing", active=False)) == Typing(active=False)


def test_end_and_quick_exit() -> None:
    """An end frame is a normal end unless 'quick' (the quick-exit button) is set."""
    assert parse_visitor_message(frame(type="end")) == EndChat(quick=False)
    assert parse_visitor_message(frame(type="end", quick=True)) == EndChat(quick=True)


def test_not_alone_on_and_off() -> None:
    """A not_alone frame says whether someone is with the visitor ("Någon kommer")."""
    assert parse_visitor_message(frame(type="not_alone", on=True)) == NotAlone(on=True)
    assert parse_visitor_message(frame(type="not_alone", on=False)) == NotAlone(on=False)
    assert "not_alone" in VISITOR_FRAME_TYPES


def test_not_alone_needs_on() -> None:
    """Without 'on' the frame says nothing, so it is refused rather than guessed."""
    assert visitor_error(frame(type="not_alone")) == ErrorCode.MISSING_FIELD


@pytest.mark.parametrize("value", [None, 1, 0, "true", "on", [], {}])
def test_not_alone_on_must_be_a_bool(value: Any) -> None:
    """'on' is true or false, nothing that merely looks like one."""
    assert visitor_error(frame(type="not_alone", on=value)) == ErrorCode.INVALID_FIELD


def test_visitor_cannot_send_counsellor_types() -> None:
    """A visitor's 'take' or 'presence' frame is an unknown type."""
    assert visitor_error(frame(type="take", chat_id="x")) == ErrorCode.UNKNOWN_TYPE
    assert visitor_error(frame(type="presence", presence="available")) == ErrorCode.UNKNOWN_TYPE


# --- visitor messages: every error ------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "{", "{'type': 'start'}", "start", '{"type":"start"} x'])
def test_malformed_json(raw: str) -> None:
    """Anything that is not JSON is malformed_json."""
    assert visitor_error(raw) == ErrorCode.MALFORMED_JSON


def test_deeply_nested_json_is_malformed_not_a_crash() -> None:
    """JSON nested deep enough to exhaust the recursion limit is malformed_json."""
    assert visitor_error("[" * 100_000 + "]" * 100_000) == ErrorCode.MALFORMED_JSON


@pytest.mark.parametrize("raw", ["[]", '["start"]', "1", '"start"', "null", "true"])
def test_non_object(raw: str) -> None:
    """JSON that is not an object is not_an_object."""
    assert visitor_error(raw) == ErrorCode.NOT_AN_OBJECT


@pytest.mark.parametrize("raw", ["{}", '{"text":"hej"}', '{"type":1}', '{"type":null}'])
def test_missing_or_invalid_type(raw: str) -> None:
    """An object without a string 'type' is missing_field."""
    assert visitor_error(raw) == ErrorCode.MISSING_FIELD


def test_unknown_type() -> None:
    """A type the server does not know is unknown_type, and the detail is bounded."""
    with pytest.raises(ProtocolError) as caught:
        parse_visitor_message(frame(type="x" * 10_000))
    assert caught.value.code == ErrorCode.UNKNOWN_TYPE
    assert len(caught.value.detail) < 100


def test_binary_frames_refused() -> None:
    """A binary frame is binary_not_supported, even if it holds valid JSON."""
    raw = frame(type="start").encode()
    assert visitor_error(raw) == ErrorCode.BINARY_NOT_SUPPORTED


def test_message_without_text() -> None:
    """A message frame without text is missing_field."""
    assert visitor_error(frame(type="message")) == ErrorCode.MISSING_FIELD
    assert visitor_error(frame(type="message", text=None)) == ErrorCode.MISSING_FIELD


@pytest.mark.parametrize("text", [1, 1.5, True, ["hej"], {"t": "hej"}])
def test_message_text_not_a_string(text: object) -> None:
    """A message whose text is not a string is invalid_field."""
    assert visitor_error(frame(type="message", text=text)) == ErrorCode.INVALID_FIELD


@pytest.mark.parametrize("text", ["", " ", "\n\t  \r\n", "\u3000\u00a0"])
def test_message_text_whitespace_only(text: str) -> None:
    """A message of nothing but whitespace is invalid_field."""
    assert visitor_error(frame(type="message", text=text)) == ErrorCode.INVALID_FIELD


def test_message_text_at_the_limit_is_accepted() -> None:
    """Text of exactly max_text_chars characters is accepted."""
    text = "å" * MAX_TEXT_CHARS
    assert parse_visitor_message(frame(type="message", text=text)) == SendText(text=text)


def test_message_text_over_the_limit() -> None:
    """Text one character over max_text_chars is text_too_long."""
    text = "å" * (MAX_TEXT_CHARS + 1)
    assert visitor_error(frame(type="message", text=text)) == ErrorCode.TEXT_TOO_LONG


def test_message_text_limit_is_configurable_and_counts_after_stripping() -> None:
    """The limit comes from the caller and applies to the trimmed text."""
    assert parse_visitor_message(frame(type="message", text=" abcde "), max_text_chars=5)
    assert visitor_error(frame(type="message", text="abcdef"), max_text_chars=5) == (
        ErrorCode.TEXT_TOO_LONG
    )


def test_client_id_too_long_or_not_a_string() -> None:
    """A client_id over its limit or not a string is invalid_field."""
    long_id = "c" * (MAX_CLIENT_ID_CHARS + 1)
    assert visitor_error(frame(type="message", text="hej", client_id=long_id)) == (
        ErrorCode.INVALID_FIELD
    )
    assert visitor_error(frame(type="message", text="hej", client_id=5)) == ErrorCode.INVALID_FIELD


@pytest.mark.parametrize("last_seq", [-1, True, False, "3", 1.0, None, [1]])
def test_resume_bad_last_seq(last_seq: object) -> None:
    """last_seq must be a non-negative integer (not a bool, string or float)."""
    assert visitor_error(frame(type="resume", token="t", last_seq=last_seq)) == (
        ErrorCode.INVALID_FIELD
    )


def test_resume_token_missing_too_long_or_not_a_string() -> None:
    """The token is required, a string, and at most MAX_TOKEN_CHARS long."""
    assert visitor_error(frame(type="resume")) == ErrorCode.MISSING_FIELD
    assert visitor_error(frame(type="resume", token=123)) == ErrorCode.INVALID_FIELD
    long_token = "t" * (MAX_TOKEN_CHARS + 1)
    assert visitor_error(frame(type="resume", token=long_token)) == ErrorCode.INVALID_FIELD
    exact = "t" * MAX_TOKEN_CHARS
    assert parse_visitor_message(frame(type="resume", token=exact)) == ResumeChat(exact)


@pytest.mark.parametrize(
    ("kind", "name"), [("start", "urgent"), ("typing", "active"), ("end", "quick")]
)
@pytest.mark.parametrize("value", [1, 0, "true", None, []])
def test_bool_fields_must_be_bool(kind: str, name: str, value: object) -> None:
    """Flags are JSON true/false only; 1, "true" or null are invalid_field."""
    assert visitor_error(frame(type=kind, **{name: value})) == ErrorCode.INVALID_FIELD


def test_start_choice_too_long() -> None:
    """A topic or language longer than MAX_CHOICE_CHARS is invalid_field."""
    long_choice = "x" * (MAX_CHOICE_CHARS + 1)
    assert visitor_error(frame(type="start", topic=long_choice)) == ErrorCode.INVALID_FIELD
    assert visitor_error(frame(type="start", language=long_choice)) == ErrorCode.INVALID_FIELD


def test_text_that_is_not_valid_unicode_is_refused() -> None:
    """Text holding a lone surrogate (valid JSON, not valid UTF-8) is refused as a field error."""
    assert visitor_error('{"type":"message","text":"hej \\ud800"}') == ErrorCode.INVALID_FIELD


# --- encoding ----------------------------------------------------------------------------


def test_encode_is_compact_and_keeps_swedish_letters() -> None:
    """Server frames are compact JSON with the type first and non-ASCII kept as is."""
    assert encode("message", text="Hej! Här är vår chatt, åäö ÅÄÖ", seq=3) == (
        '{"type":"message","text":"Hej! Här är vår chatt, åäö ÅÄÖ","seq":3}'
    )


def test_error_frame() -> None:
    """An error frame carries the code and the human-readable detail."""
    raw = error_frame(ProtocolError(ErrorCode.RATE_LIMITED, "för snabbt – slow down"))
    assert raw == '{"type":"error","code":"rate_limited","message":"för snabbt – slow down"}'
    assert json.loads(raw)["code"] == "rate_limited"


def test_error_frame_names_the_refused_frame_by_its_valid_ids_only() -> None:
    """chat_id and client_id of the refused frame come back when they are fit to echo."""
    error = ProtocolError(ErrorCode.NOT_YOUR_CHAT, "no")
    sent = {"type": "note_get", "chat_id": "4f0c", "client_id": "k1"}
    assert json.loads(error_frame(error, sent)) == {
        "type": "error", "code": "not_your_chat", "message": "no", "chat_id": "4f0c",
        "client_id": "k1",
    }  # fmt: skip
    for bad in ("\ud800", "x" * 65, 7, None, ""):
        assert frame_refs({"chat_id": bad, "client_id": bad}) == {}
    assert frame_refs({"chat_id": "a b", "client_id": "a b"}) == {"client_id": "a b"}
    assert frame_refs(None) == {}


def test_protocol_error_carries_code_and_detail() -> None:
    """ProtocolError keeps its code and detail apart and shows both in str()."""
    error = ProtocolError(ErrorCode.MISSING_FIELD, "field 'x' is required")
    assert (error.code, error.detail) == ("missing_field", "field 'x' is required")
    assert str(error) == "missing_field: field 'x' is required"


# --- properties --------------------------------------------------------------------------

ALL_ERROR_CODES = {value for name, value in vars(ErrorCode).items() if not name.startswith("_")}
KNOWN_TYPES = [*VISITOR_FRAME_TYPES, *COUNSELLOR_FRAME_TYPES, "bogus"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
    | st.sampled_from(["\ud800", "c1", "support_talk", "available", "x" * 70]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "text",
        "token",
        "last_seq",
        "client_id",
        "chat_id",
        "urgent",
        "active",
        "quick",
        "outcome",
        "presence",
        "topic",
        "language",
        "offset",
        "user",
        "to",
        "reason",
        "enabled",
        "on",
    ]
)
frames = st.builds(
    lambda kind, fields: json.dumps({"type": kind, **fields}),
    st.sampled_from(KNOWN_TYPES),
    st.dictionaries(field_names, json_values, max_size=5),
)
any_frame = st.text() | st.binary() | frames


@given(any_frame)
def test_random_frames_raise_only_protocol_errors(raw: str | bytes) -> None:
    """Whatever arrives, both parsers return a message or raise ProtocolError with a known code."""
    for parse in (parse_visitor_message, parse_counsellor_message):
        try:
            parse(raw)
        except ProtocolError as error:
            assert error.code in ALL_ERROR_CODES


@given(st.text(min_size=1, max_size=300).filter(lambda t: t.strip() != ""))
def test_any_text_round_trips_through_a_message_frame(text: str) -> None:
    """Any non-blank text within the limit comes back trimmed and otherwise unchanged."""
    raw = json.dumps({"type": "message", "text": text}, ensure_ascii=False)
    assert parse_visitor_message(raw) == SendText(text=text.strip())
