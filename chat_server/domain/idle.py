"""When to warn that a quiet chat is about to lapse, and when the warning is over.

A chat's keys expire ``NEXUS_CHAT_TTL_S`` after its last stored event (docs/protocol.md §4),
so a chat nobody writes in simply vanishes: a waiting visitor loses their place, an answered
chat its conversation. Both sides are warned ``warn_before_s`` before that moment and can keep
the chat open (``still_here`` / ``keep_open``), which renews the TTL. Pure: the caller passes
the chat's remaining lifetime (Redis PTTL) and whether this connection was warned already.
"""

from __future__ import annotations

import enum


class IdleNotice(enum.Enum):
    WARN = "warn"
    CLEAR = "clear"


def idle_notice(remaining_ms: int, warn_before_s: int, *, warned: bool) -> IdleNotice | None:
    """What to tell one connection about its chat: warn when the chat lapses within
    ``warn_before_s`` (and it was not warned yet), clear when a warned chat was renewed,
    else nothing. ``remaining_ms`` ≤ 0 (gone, or no expiry) and ``warn_before_s`` 0 (warnings
    off) never warn."""
    due = warn_before_s > 0 and 0 < remaining_ms <= warn_before_s * 1000
    if due and not warned:
        return IdleNotice.WARN
    if warned and not due:
        return IdleNotice.CLEAR
    return None


def lapses_in_s(remaining_ms: int) -> int:
    """The whole seconds left, as the warning shows them (never below 0)."""
    return max(0, remaining_ms // 1000)
