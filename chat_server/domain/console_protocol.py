"""The console's frames: one parser for every ``type`` a counsellor's console may send.

Pure, like :mod:`.protocol`, whose field readers it shares. Every field is checked here, so
a handler gets a typed message whose strings are valid Unicode of bounded length, whose
``chat_id`` can only be a chat id and whose codes are on their lists. The frames of feature
modules (notes, the back-channel, raised hands, breaks, late outcomes) are parsed here too;
the feature only says what to do with the message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .models import Presence
from .outcomes import UnknownOutcomeError, validate_outcomes
from .protocol import (
    MAX_CHOICE_CHARS,
    MAX_TEXT_CHARS,
    EndChat,
    ErrorCode,
    ProtocolError,
    SendText,
    Typing,
    bool_field,
    chat_id_field,
    code_field,
    decode_object,
    send_text,
    string_field,
    text_field,
)
from .vocabulary import TRANSFER_REASONS

MAX_NOTE_CHARS: Final = 2000
MAX_BACKCHANNEL_CHARS: Final = 2000
MAX_CONSULT_NOTE_CHARS: Final = 500
MAX_USERNAME_CHARS: Final = 32
QUEUE_PAGE_SIZE: Final = 50
"""Waiting chats in one ``queue`` frame and in one ``queue_page`` answer."""
MAX_QUEUE_OFFSET: Final = 1_000_000
PRESENCES: Final = tuple(p.value for p in Presence)


@dataclass(frozen=True, slots=True)
class ConsoleHello:
    """The console's first frame; ``presence`` "" keeps the stored one (offline: available)."""

    presence: str = ""


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


@dataclass(frozen=True, slots=True)
class QueuePage:
    """Ask for the waiting chats from ``offset`` (0-based, in serving order)."""

    offset: int


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A frame about one chat: ``note_get``, ``backchannel_get``, ``chat_done`` (features),
    ``keep_open`` (keep a quiet chat from lapsing) and the live supervision frames
    (``monitor``, ``monitor_stop``, ``join``, ``leave``)."""

    kind: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class ChatText:
    """A feature frame with a text about one chat (``note``, ``backchannel``)."""

    kind: str
    chat_id: str
    text: str


@dataclass(frozen=True, slots=True)
class RaiseHand:
    chat_id: str = ""


@dataclass(frozen=True, slots=True)
class AnswerHand:
    user: str


@dataclass(frozen=True, slots=True)
class Consult:
    """Ask colleague ``to`` to take the chat (warm transfer); ``note`` is staff-only."""

    chat_id: str
    to: str
    reason: str
    note: str


@dataclass(frozen=True, slots=True)
class ConsultAnswer:
    """The consulted colleague's answer: take the chat over, or not."""

    chat_id: str
    accept: bool


@dataclass(frozen=True, slots=True)
class Bare:
    """A frame with nothing but its type (``wellbeing``, ``break_over``,
    ``outcomes_pending``, ``chats_active``)."""

    kind: str


CounsellorMessage = (
    ConsoleHello
    | SetPresence
    | TakeChat
    | SendText
    | Typing
    | EndChat
    | DeclineOffer
    | TransferChat
    | SetAutoAccept
    | SaveOutcome
    | QueuePage
    | ChatRequest
    | ChatText
    | RaiseHand
    | AnswerHand
    | Consult
    | ConsultAnswer
    | Bare
)


def _outcomes(data: dict[str, Any], *, required: bool) -> tuple[str, ...]:
    if required and "outcome" not in data:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'outcome' is required")
    outcome = data.get("outcome", [])
    if not isinstance(outcome, list) or not all(isinstance(o, str) for o in outcome):
        raise ProtocolError(ErrorCode.INVALID_FIELD, "'outcome' must be a list of codes")
    try:
        return validate_outcomes(o[:MAX_CHOICE_CHARS] for o in outcome)
    except UnknownOutcomeError as error:
        raise ProtocolError(ErrorCode.INVALID_FIELD, str(error)) from None


def _offset(data: dict[str, Any]) -> int:
    value = data.get("offset", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUEUE_OFFSET:
        raise ProtocolError(ErrorCode.INVALID_FIELD, "'offset' must be a whole number ≥ 0")
    return value


def _username(data: dict[str, Any], name: str, *, required: bool) -> str:
    return string_field(data, name, limit=MAX_USERNAME_CHARS, required=required).strip().lower()


def _consult(data: dict[str, Any]) -> Consult:
    note = string_field(data, "note", limit=MAX_CONSULT_NOTE_CHARS * 4).strip()
    if len(note) > MAX_CONSULT_NOTE_CHARS:
        raise ProtocolError(
            ErrorCode.TEXT_TOO_LONG, f"the note is longer than {MAX_CONSULT_NOTE_CHARS} characters"
        )
    chat_id = chat_id_field(data)
    to = _username(data, "to", required=True)
    if not to:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "field 'to' must name a colleague")
    return Consult(chat_id, to, code_field(data, "reason", TRANSFER_REASONS, required=True), note)


Parser = Callable[[dict[str, Any], int], CounsellorMessage]

_PARSERS: Final[Mapping[str, Parser]] = {
    "hello": lambda d, _: ConsoleHello(code_field(d, "presence", PRESENCES)),
    "presence": lambda d, _: SetPresence(code_field(d, "presence", PRESENCES, required=True)),
    "take": lambda d, _: TakeChat(chat_id_field(d, required=False)),
    "accept": lambda d, _: TakeChat(chat_id_field(d)),
    "decline": lambda d, _: DeclineOffer(chat_id_field(d)),
    "auto_accept": lambda d, _: SetAutoAccept(bool_field(d, "enabled")),
    "message": lambda d, limit: send_text(d, limit, chat_id=chat_id_field(d)),
    "typing": lambda d, _: Typing(bool_field(d, "active", default=True), chat_id_field(d)),
    "end": lambda d, _: EndChat(chat_id=chat_id_field(d), outcome=_outcomes(d, required=False)),
    "transfer": lambda d, _: TransferChat(
        chat_id_field(d),
        _username(d, "to", required=False),
        code_field(d, "reason", TRANSFER_REASONS, required=True),
    ),
    "outcome": lambda d, _: SaveOutcome(chat_id_field(d), _outcomes(d, required=True)),
    "outcomes_pending": lambda d, _: Bare("outcomes_pending"),
    "queue_page": lambda d, _: QueuePage(_offset(d)),
    "note": lambda d, _: ChatText(
        "note", chat_id_field(d), text_field(d, MAX_NOTE_CHARS, allow_empty=True, what="the note")
    ),
    "note_get": lambda d, _: ChatRequest("note_get", chat_id_field(d)),
    "backchannel": lambda d, _: ChatText(
        "backchannel", chat_id_field(d), text_field(d, MAX_BACKCHANNEL_CHARS, what="the message")
    ),
    "backchannel_get": lambda d, _: ChatRequest("backchannel_get", chat_id_field(d)),
    "raise_hand": lambda d, _: RaiseHand(chat_id_field(d, required=False)),
    "hand_answer": lambda d, _: AnswerHand(_username(d, "user", required=True)),
    "chat_done": lambda d, _: ChatRequest("chat_done", chat_id_field(d)),
    "keep_open": lambda d, _: ChatRequest("keep_open", chat_id_field(d)),
    "wellbeing": lambda d, _: Bare("wellbeing"),
    # live supervision (web/live_supervision.py)
    "chats_active": lambda d, _: Bare("chats_active"),
    "monitor": lambda d, _: ChatRequest("monitor", chat_id_field(d)),
    "monitor_stop": lambda d, _: ChatRequest("monitor_stop", chat_id_field(d)),
    "join": lambda d, _: ChatRequest("join", chat_id_field(d)),
    "leave": lambda d, _: ChatRequest("leave", chat_id_field(d)),
    "break_over": lambda d, _: Bare("break_over"),
    "consult": lambda d, _: _consult(d),
    "consult_answer": lambda d, _: ConsultAnswer(
        chat_id_field(d), bool_field(d, "accept", required=True)
    ),
    "consult_cancel": lambda d, _: ChatRequest("consult_cancel", chat_id_field(d)),
}

COUNSELLOR_FRAME_TYPES: Final = tuple(_PARSERS)
"""Every ``type`` a console may send (``hello`` first, then any of the others)."""


def parse_counsellor_message(
    frame: str | bytes | dict[str, Any], *, max_text_chars: int = MAX_TEXT_CHARS
) -> CounsellorMessage:
    """Parse one frame from a counsellor console (raw, or as ``decode_object`` returned it);
    raises :class:`ProtocolError` (``unknown_type`` before any field is looked at)."""
    data = frame if isinstance(frame, dict) else decode_object(frame)
    kind = data["type"]
    parse = _PARSERS.get(kind)
    if parse is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind[:32]!r}")
    return parse(data, max_text_chars)
