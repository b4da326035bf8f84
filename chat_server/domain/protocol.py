"""The wire protocol: parsing client frames and encoding server frames.

Pure: bytes or text in, typed messages or a :class:`ProtocolError` out. Every field of every
client frame is checked here, once, before anything reaches the store. The handlers turn a
``ProtocolError`` into an ``error`` frame; nobody sees a traceback. The visitor's frames are
here, the console's in :mod:`.console_protocol`; the field readers are shared.
See docs/protocol.md for the full list of messages, error codes and close codes.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from .flood import MAX_CHALLENGE_CHARS, MAX_SOLUTION_CHARS
from .vocabulary import LANGUAGES, TOPICS

MAX_TEXT_CHARS: Final = 2000
MAX_CLIENT_ID_CHARS: Final = 64
MAX_TOKEN_CHARS: Final = 128
MAX_CHAT_ID_CHARS: Final = 64
MAX_CHOICE_CHARS: Final = 32
# Chat ids are random hex handles; anything outside this alphabet cannot name a chat.
CHAT_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
    INTERNAL_ERROR: Final = "internal_error"
    # Live supervision (web/live_supervision.py)
    SUPERVISORS_ONLY: Final = "supervisors_only"
    NOT_MONITORING: Final = "not_monitoring"
    # Flood control (domain/flood.py): each is followed by a fresh ``challenge`` frame
    POW_INVALID: Final = "pow_invalid"
    POW_EXPIRED: Final = "pow_expired"
    POW_REPLAYED: Final = "pow_replayed"


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


SERVICE_UNAVAILABLE: Final = ProtocolError(
    ErrorCode.UNAVAILABLE, "the service is temporarily unavailable"
)
"""The refusal of a frame whose handling Redis failed (the frame was not carried out)."""
INTERNAL_FAILURE: Final = ProtocolError(ErrorCode.INTERNAL_ERROR, "the server could not do that")
"""The refusal of a frame that met a bug; the server then closes with 1011."""


# --- visitor -> server -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartChat:
    topic: str = ""
    language: str = ""
    urgent: bool = False
    # The proof of work of a ``challenge`` frame (docs/protocol.md, flood control)
    challenge: str = ""
    solution: str = ""


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


@dataclass(frozen=True, slots=True)
class StillHere:
    """The visitor keeps a quiet chat from lapsing (the answer to ``idle_warning``)."""


@dataclass(frozen=True, slots=True)
class NotAlone:
    """The visitor covered the chat because someone came in (``on``), or came back."""

    on: bool


VisitorMessage = StartChat | ResumeChat | SendText | Typing | EndChat | StillHere | NotAlone

VISITOR_FRAME_TYPES: Final = (
    *("start", "resume", "message", "typing", "end", "still_here", "not_alone"),
)
"""Every ``type`` a visitor may send (``start``/``resume`` first, then the others)."""
SUPERVISOR_FRAME_TYPES: Final[tuple[str, ...]] = ()
"""The supervisor's live view only listens: every frame it is sent answers ``unknown_type``."""


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


def encodable(value: str, name: str) -> str:
    """Refuse lone surrogates: JSON allows them, UTF-8 (and so Redis) cannot hold them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(
            ErrorCode.INVALID_FIELD, f"field '{name}' is not valid Unicode"
        ) from None
    return value


def string_field(data: dict[str, Any], name: str, *, limit: int, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise ProtocolError(ErrorCode.MISSING_FIELD, f"field '{name}' is required")
        return ""
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"field '{name}' must be a string")
    if len(value) > limit:
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"field '{name}' is longer than {limit}")
    return encodable(value, name)


def code_field(
    data: dict[str, Any], name: str, allowed: tuple[str, ...], *, required: bool = False
) -> str:
    """A code from a fixed list ("" when absent or empty, which a required one may not be)."""
    value = string_field(data, name, limit=MAX_CHOICE_CHARS, required=required)
    if required and not value:
        raise ProtocolError(ErrorCode.MISSING_FIELD, f"field '{name}' is required")
    if value and value not in allowed:
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"unknown {name} {value[:32]!r}")
    return value


def chat_id_field(data: dict[str, Any], *, required: bool = True) -> str:
    """A ``chat_id``: a string of letters, digits, ``-`` and ``_`` (at most 64); "" when
    absent and not required."""
    value = data.get("chat_id")
    if value is None or value == "":
        if required:
            raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'chat_id' is required")
        return ""
    if not isinstance(value, str) or not CHAT_ID_PATTERN.fullmatch(value):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'chat_id' is not a chat id")
    return value


def frame_refs(data: dict[str, Any] | None) -> dict[str, str]:
    """The ``chat_id`` and ``client_id`` of a refused frame that are fit to echo in its
    ``error`` (valid ones only), so a client with several frames in flight knows which one
    failed."""
    if data is None:
        return {}
    refs = {}
    chat_id = data.get("chat_id")
    if isinstance(chat_id, str) and CHAT_ID_PATTERN.fullmatch(chat_id):
        refs["chat_id"] = chat_id
    client_id = data.get("client_id")
    if isinstance(client_id, str) and 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
        with contextlib.suppress(ProtocolError):  # a lone surrogate is not echoed
            refs["client_id"] = encodable(client_id, "client_id")
    return refs


def bool_field(
    data: dict[str, Any], name: str, default: bool = False, *, required: bool = False
) -> bool:
    if required and name not in data:
        raise ProtocolError(ErrorCode.MISSING_FIELD, f"field '{name}' is required")
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.INVALID_FIELD, f"field '{name}' must be true or false")
    return value


def text_field(
    data: dict[str, Any], limit: int, *, allow_empty: bool = False, what: str = "text"
) -> str:
    value = data.get("text")
    if value is None:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'text' is required")
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'text' must be a string")
    text = encodable(value, "text").strip()
    if not text and not allow_empty:
        raise ProtocolError(ErrorCode.INVALID_FIELD, "field 'text' is empty")
    if len(text) > limit:
        raise ProtocolError(ErrorCode.TEXT_TOO_LONG, f"{what} is longer than {limit} characters")
    return text


def send_text(data: dict[str, Any], max_text_chars: int, *, chat_id: str = "") -> SendText:
    """A ``message`` frame's text and client id; a refusal names the client id."""
    client_id = string_field(data, "client_id", limit=MAX_CLIENT_ID_CHARS)
    try:
        text = text_field(data, max_text_chars)
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
            topic=code_field(data, "topic", TOPICS),
            language=code_field(data, "language", LANGUAGES),
            urgent=bool_field(data, "urgent"),
            challenge=string_field(data, "challenge", limit=MAX_CHALLENGE_CHARS),
            solution=string_field(data, "solution", limit=MAX_SOLUTION_CHARS),
        )
    if kind == "resume":
        last_seq = data.get("last_seq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            raise ProtocolError(ErrorCode.INVALID_FIELD, "'last_seq' must be an integer ≥ 0")
        token = string_field(data, "token", limit=MAX_TOKEN_CHARS, required=True)
        return ResumeChat(token=token, last_seq=last_seq)
    if kind == "message":
        return send_text(data, max_text_chars)
    if kind == "typing":
        return Typing(active=bool_field(data, "active", default=True))
    if kind == "end":
        return EndChat(quick=bool_field(data, "quick"))
    if kind == "still_here":
        return StillHere()
    if kind == "not_alone":
        return NotAlone(on=bool_field(data, "on", required=True))
    raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:32]!r}")


def encode(kind: str, **fields: Any) -> str:
    """Encode one server frame; ``kind`` becomes the ``type`` field."""
    return json.dumps({"type": kind, **fields}, ensure_ascii=False, separators=(",", ":"))


def error_frame(error: ProtocolError, refused: dict[str, Any] | None = None) -> str:
    """The ``error`` frame for ``error``; with the ``refused`` frame (decoded), it carries
    that frame's valid ``chat_id`` and ``client_id`` too (see :func:`frame_refs`)."""
    refs = frame_refs(refused)
    if error.client_id:
        refs["client_id"] = error.client_id
    return encode("error", code=error.code, message=error.detail, **refs)
