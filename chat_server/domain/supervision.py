"""Live supervision's rules: who may monitor, join and whisper, and what a counsellor is told.

Pure: no I/O. A supervisor (role supervisor or admin) may monitor any active chat but their
own, read-only; while monitoring they may whisper in the chat's back-channel and join the
conversation visibly, and only once joined write to the visitor (as ``supervisor``). The
counsellor is always told who is monitoring (:func:`monitors_frame_fields`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .models import ChatEvent, Role
from .protocol import ErrorCode, ProtocolError, encode

SUPERVISING_ROLES: Final = frozenset({Role.SUPERVISOR, Role.ADMIN})
JOINED_EVENT: Final = "supervisor_joined"
LEFT_EVENT: Final = "supervisor_left"
"""The stored chat events (kind) of a supervisor joining and leaving the conversation."""


@dataclass(frozen=True, slots=True)
class Monitor:
    """One supervisor monitoring a chat: ``joined`` once they joined the conversation."""

    user: str
    name: str
    joined: bool = False
    since_ms: int = 0

    def stored(self) -> str:
        """The value kept in the chat's monitors hash (field: the username)."""
        return json.dumps({"name": self.name, "joined": self.joined, "since": self.since_ms})

    def as_frame_fields(self) -> dict[str, object]:
        return {"user": self.user, "name": self.name, "joined": self.joined}


def monitor_from_stored(user: str, value: str) -> Monitor:
    """The monitor kept under ``user``; a damaged value still names the user."""
    try:
        data = json.loads(value)
        return Monitor(user, str(data["name"]), bool(data["joined"]), int(data["since"]))
    except (ValueError, KeyError, TypeError):
        return Monitor(user, user)


def monitors_in_order(stored: Mapping[str, str]) -> list[Monitor]:
    """The monitors of a chat (username → stored value), the earliest first."""
    monitors = [monitor_from_stored(user, value) for user, value in stored.items()]
    return sorted(monitors, key=lambda m: (m.since_ms, m.user))


def monitors_frame_fields(chat_id: str, monitors: list[Monitor]) -> dict[str, object]:
    """The ``monitors`` frame's fields (everyone monitoring, for the counsellor's console)."""
    return {"chat_id": chat_id, "monitors": [m.as_frame_fields() for m in monitors]}


def check_may_supervise(role: Role) -> None:
    """Raises ProtocolError ``supervisors_only`` unless the role supervises."""
    if role not in SUPERVISING_ROLES:
        raise ProtocolError(ErrorCode.SUPERVISORS_ONLY, "only supervisors monitor or join chats")


def supervisor_frame(event: ChatEvent, **chat: str) -> str | None:
    """The ``supervisor`` frame (``joined`` true or false) for a stored join or leave event,
    None for any other event; ``chat`` adds ``chat_id`` for a console (a visitor has one)."""
    if event.kind not in (JOINED_EVENT, LEFT_EVENT):
        return None
    return encode("supervisor", **chat, seq=event.seq, joined=event.kind == JOINED_EVENT,
                  ts=event.ts_ms)  # fmt: skip


def refusal(status: str) -> ProtocolError:
    """The error for a monitors script's status (anything but ``ok``)."""
    details = {
        ErrorCode.CHAT_NOT_FOUND: "the chat has ended or does not exist",
        ErrorCode.NOT_MONITORING: "monitor the chat first",
        ErrorCode.NOT_ALLOWED_NOW: "only an answered chat can be monitored, not one's own",
    }
    code = status if status in details else ErrorCode.NOT_ALLOWED_NOW
    return ProtocolError(code, details[code])
