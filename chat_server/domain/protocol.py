"""The wire protocol: parsing client frames and encoding server frames.

Pure: bytes or text in, typed messages or a :class:`ProtocolError` out. The handlers turn a
``ProtocolError`` into an ``error`` frame; the visitor never sees a traceback.
See docs/protocol.md for the full list of messages, error codes and close codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from .vocabulary import LANGUAGES, TOPICS, TRANSFER_REASONS

MAX_TEXT_CHARS: Final = 2000
MAX_CLIENT_ID_CHARS: Final = 64
MAX_TOKEN_CHARS: Final = 128
MAX_CHAT_ID_CHARS: Final = 64
MAX_CHOICE_CHARS: Final = 32


class CloseCode:
    """WebSocket close codes the server uses (4000-4999 are ours)."""

    NORMAL: Final = 1000
    GOING_AWAY: Final = 1001
    MESSAGE_TOO_BIG: Final = 1009
    INTERNAL_ERROR: Final = 1011
    HANDSHAKE_EXPECTED: Final = 4400
    UNAUTHORIZED: Final = 4401
    UNKNOWN_TOKEN: Final = 4404
    CLOSED: Final = 4403
    HELLO_TIMEOUT: Final = 4408
    REPLACED: Final = 4409
    CHAT_ENDED: Final = 4410
    TOO_MANY_ERRORS: Final = 4429
    SERVICE_UNAVAILABLE: Final = 4503


class ErrorCode:
    """Codes carried by ``error`` frames; the connection stays open after each of them."""

    MALFORMED_JSON: Final = "malformed_json"
    NOT_AN_OBJECT: Final = "not_an_object"
    UNKNOWN_TYPE: Final = "unknown_type"
    MISSING_FIELD: Final = "missing_field"
    INVALID_FIELD: Final = "invalid_field"
    TEXT_TOO_LONG: Final = "text_too_long"
    BINARY_NOT_SUPPORTED: Final = "binary_not_supported"
    RATE_LIMITED: Final = "rate_limited"
    NOT_ALLOWED_NOW: Final = "not_allowed_now"
    NOT_YOUR_CHAT: Final = "not_your_chat"
    CHAT_NOT_FOUND: Final = "chat_not_found"
    AT_CAPACITY: Final = "at_capacity"
    QUEUE_EMPTY: Final = "queue_empty"
    UNAVAILABLE: Final = "unavailable"
    CLOSED: Final = "closed"
    OFFERED_ELSEWHERE: Final = "offered_elsewhere"
    TARGET_UNAVAILABLE: Final = "target_unavailable"
    TARGET_AT_CAPACITY: Final = "target_at_capacity"


class ProtocolError(Exception):
    """A client frame that cannot be accepted; ``code`` is one of :class:`ErrorCode`."""

    def __init__(self, code: str, detail: str, client_id: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.client_id = client_id

    def for_client_message(self, client_id: str) -> ProtocolError:
        """The same error, naming the client's message it refuses (so the text is kept)."""
        return ProtocolError(self.code, self.detail, client_id)


# --- visitor -> server -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartChat:
    topic: str = ""
    language: str = ""
    urgent: bool = False


@dataclass(frozen=True, slots=True)
class ResumeChat:
    token: str
    last_seq: int = 0


@dataclass(frozen=True, slots=True)
class SendText:
    text: str
    client_id: str = ""
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class Typing:
    active: bool
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class EndChat:
    quick: bool = False
    chat_id: str = ""
    outcome: tuple[str, ...] = ()


# --- counsellor -> server ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetPresence:
    presence: str


@dataclass(frozen=True, slots=True)
class TakeChat:
    """Take a chat: a named one from the queue, the next one, or accept an offer."""

    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class DeclineOffer:
    chat_id: str


@dataclass(frozen=True, slots=True)
class TransferChat:
    """Hand a chat to a named counsellor, or back to the queue when ``to`` is empty."""

    chat_id: str
    to: str
    reason: str


@dataclass(frozen=True, slots=True)
class SetAutoAccept:
    enabled: bool


@dataclass(frozen=True, slots=True)
class SaveOutcome:
    """The outcome codes of a chat that ended without its counsellor's ``end`` (the visitor
    ended it, a quick exit, expiry); an empty tuple means "not specified"."""

    chat_id: str
    outcome: tuple[str, ...]


VisitorMessage = StartChat | ResumeChat | SendText | Typing | EndChat
CounsellorMessage = (
    SetPresence
    | TakeChat
    | SendText
    | Typing
    | EndChat
    | DeclineOffer
    | TransferChat
    | SetAutoAccept
    | SaveOutcome
)


def decode_object(frame: str | bytes) -> dict[str, Any]:
    """Decode one text frame into a JSON object with a string ``type``."""
    if isinstance(frame, bytes):
        raise ProtocolError(ErrorCode.BINARY_NOT_SUPPORTED, "send JSON text frames")
    try:
        data = json.loads(frame)
    except (ValueError, RecursionError):
        raise ProtocolError(ErrorCode.MALFORMED_JSON, "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.NOT_AN_OBJECT, "the frame must be a JSON object")
    if not isinstance(data.get("type"), str):
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'type' (string) is required")
    return data


def _encodable(value: str, name: str) -> str:
    """Refuse lone surrogates: JSON allows them, UTF-8 (and so Redis) cannot hold them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(
            ErrorCode.INVALID_FIELD, f"field '{name}' is not valid Unicode"
        ) from None
    return value


def _string(data: dict[str, Any], name: str, *, limit: int, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise ProtocolError(ErrorCode.MISSING_FIELD, f"field '{name}' is required")
        return ""
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"field '{name}' must be a string")
    if len(value) > limit:
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"field '{name}' is longer than {limit}")
    return _encodable(value, name)


def _code(
    data: dict[str, Any], name: str, allowed: tuple[str, ...], *, required: bool = False
) -> str:
    """An optional code from a fixed list ("" when absent)."""
    value = _string(data, name, limit=MAX_CHOICE_CHARS, required=required)
    if value and value not in allowed:
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"unknown {name} {value[:32]!r}")
    return value


def _bool(data: dict[str, Any], name: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"field '{name}' must be true or false")
    return value


def _text(data: dict[str, Any], max_text_chars: int) -> str:
    value = data.get("text")
    if value is None:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'text' is required")
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'text' must be a string")
    text = _encodable(value, "text").strip()
    if not text:
        raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'text' is empty")
    if len(text) > max_text_chars:
        raise ProtocolError(
            ErrorCode.TEXT_TOO_LONG, f"text is longer than {max_text_chars} characters"
        )
    return text


def _send_text(data: dict[str, Any], max_text_chars: int, *, chat_id: str = "") -> SendText:
    client_id = _string(data, "client_id", limit=MAX_CLIENT_ID_CHARS)
    try:
        text = _text(data, max_text_chars)
    except ProtocolError as error:
        raise error.for_client_message(client_id) from None
    return SendText(text=text, client_id=client_id, chat_id=chat_id)


def parse_visitor_message(
    frame: str | bytes, *, max_text_chars: int = MAX_TEXT_CHARS
) -> VisitorMessage:
    """Parse one frame from a visitor; raises :class:`ProtocolError`."""
    data = decode_object(frame)
    kind = data["type"]
    if kind == "start":
        return StartChat(
            topic=_code(data, "topic", TOPICS),
            language=_code(data, "language", LANGUAGES),
            urgent=_bool(data, "urgent"),
        )
    if kind == "resume":
        last_seq = data.get("last_seq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            raise ProtocolError(ErrorCode.INVALID_FIELD, "'last_seq' must be an integer ≥ 0")
        token = _string(data, "token", limit=MAX_TOKEN_CHARS, required=True)
        return ResumeChat(token=token, last_seq=last_seq)
    if kind == "message":
        return _send_text(data, max_text_chars)
    if kind == "typing":
        return Typing(active=_bool(data, "active", default=True))
    if kind == "end":
        return EndChat(quick=_bool(data, "quick"))
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:32]!r}")


def _outcome_codes(data: dict[str, Any]) -> tuple[str, ...]:
    """The optional ``outcome`` list of codes, each cut to MAX_CHOICE_CHARS (the handler checks
    them against the fixed list)."""
    outcome = data.get("outcome", [])
    if not isinstance(outcome, list) or not all(isinstance(o, str) for o in outcome):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "'outcome' must be a list of codes")
    return tuple(o[:MAX_CHOICE_CHARS] for o in outcome)


def parse_save_outcome(data: dict[str, Any]) -> SaveOutcome:
    """An ``outcome`` frame, already decoded by :func:`decode_object`: ``chat_id`` and the
    ``outcome`` list (required, may be empty); raises :class:`ProtocolError`."""
    chat_id = _string(data, "chat_id", limit=MAX_CHAT_ID_CHARS, required=True)
    if "outcome" not in data:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'outcome' is required")
    return SaveOutcome(chat_id=chat_id, outcome=_outcome_codes(data))


def parse_counsellor_message(
    frame: str | bytes | dict[str, Any], *, max_text_chars: int = MAX_TEXT_CHARS
) -> CounsellorMessage:
    """Parse one frame from a counsellor console (raw, or as ``decode_object`` returned it);
    raises :class:`ProtocolError`."""
    data = frame if isinstance(frame, dict) else decode_object(frame)
    kind = data["type"]
    if kind == "presence":
        return SetPresence(presence=_string(data, "presence", limit=16, required=True))
    if kind in ("take", "accept"):
        return TakeChat(
            chat_id=_string(data, "chat_id", limit=MAX_CHAT_ID_CHARS, required=kind == "accept")
        )
    if kind == "auto_accept":
        return SetAutoAccept(enabled=_bool(data, "enabled"))
    if kind not in ("message", "typing", "end", "decline", "transfer", "outcome"):
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:32]!r}")
    chat_id = _string(data, "chat_id", limit=MAX_CHAT_ID_CHARS, required=True)
    if kind == "message":
        return _send_text(data, max_text_chars, chat_id=chat_id)
    if kind == "typing":
        return Typing(active=_bool(data, "active", default=True), chat_id=chat_id)
    if kind == "decline":
        return DeclineOffer(chat_id=chat_id)
    if kind == "transfer":
        return TransferChat(
            chat_id=chat_id,
            to=_string(data, "to", limit=MAX_CHOICE_CHARS).strip().lower(),
            reason=_code(data, "reason", TRANSFER_REASONS, required=True),
        )
    if kind == "end":
        return EndChat(chat_id=chat_id, outcome=_outcome_codes(data))
    if kind == "outcome":
        return parse_save_outcome(data)
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:32]!r}")


def encode(kind: str, **fields: Any) -> str:
    """Encode one server frame; ``kind`` becomes the ``type`` field."""
    return json.dumps({"type": kind, **fields}, ensure_ascii=False, separators=(",", ":"))


def error_frame(error: ProtocolError) -> str:
    if error.client_id:
        return encode("error", code=error.code, message=error.detail, client_id=error.client_id)
    return encode("error", code=error.code, message=error.detail)
