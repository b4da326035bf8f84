"""Plain data for chats and counsellors, and the rules of their life cycles."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ChatState(enum.StrEnum):
    """Where a chat is in its life; an ended chat has no state at all (its keys are gone)."""

    WAITING = "waiting"
    ACTIVE = "active"


class Presence(enum.StrEnum):
    """A counsellor's duty presence, set in the console."""

    AVAILABLE = "available"
    PAUSED = "paused"
    OFFLINE = "offline"


class Role(enum.StrEnum):
    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Sender(enum.StrEnum):
    """Who wrote a chat event."""

    VISITOR = "visitor"
    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"  # a supervisor who joined the chat (live supervision)
    SYSTEM = "system"


class EndReason(enum.StrEnum):
    """Why a chat ended; shown to the other side and counted, never free text."""

    VISITOR_ENDED = "visitor_ended"
    QUICK_EXIT = "quick_exit"
    COUNSELLOR_ENDED = "counsellor_ended"
    EXPIRED = "expired"


DEFAULT_CAPACITY = 2


@dataclass(frozen=True, slots=True)
class StaffAccount:
    """A durable staff identity, as kept in the staff file (never in Redis)."""

    username: str
    password_hash: str
    role: Role = Role.COUNSELLOR
    display_name: str = ""
    languages: tuple[str, ...] = ("sv",)
    topics: tuple[str, ...] = ()
    capacity: int = DEFAULT_CAPACITY
    backup: bool = False
    disabled: bool = False
    totp_secret: str = ""

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True, slots=True)
class QueuedChat:
    """A waiting chat as the queue rules see it."""

    chat_id: str
    enqueued_ms: int
    urgent: bool = False
    topic: str = ""
    language: str = ""


@dataclass(frozen=True, slots=True)
class CounsellorLoad:
    """What the rules need to know about one counsellor at one moment."""

    username: str
    presence: Presence
    active_chats: int
    capacity: int = DEFAULT_CAPACITY
    languages: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    backup: bool = False
    idle_since_ms: int = 0

    @property
    def has_room(self) -> bool:
        return self.presence is Presence.AVAILABLE and self.active_chats < self.capacity


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """One entry of a chat's history, or a transient nudge (typing) that has no seq."""

    kind: str
    sender: Sender
    ts_ms: int
    seq: int = 0
    text: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def can_post(state: ChatState, sender: Sender) -> bool:
    """A visitor may write while waiting (the counsellor reads it on taking the chat);
    a counsellor only once the chat is theirs and active."""
    if sender is Sender.VISITOR:
        return state in (ChatState.WAITING, ChatState.ACTIVE)
    if sender is Sender.COUNSELLOR:
        return state is ChatState.ACTIVE
    return True


def visitor_alias(chat_id: str) -> str:
    """A short, per-chat alias such as "Besökare 4F", derived from the random chat id.

    It says nothing about the visitor and dies with the chat.
    """
    suffix = "".join(ch for ch in chat_id.upper() if ch.isalnum())[:2] or "00"
    return f"Besökare {suffix}"
