"""Queue ordering: urgent chats first, then first come, first served."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from .models import QueuedChat

# Urgent chats are scored as if they had arrived this long before the epoch, which puts every
# urgent chat ahead of every other while keeping first-come order among the urgent ones.
URGENT_HEAD_START_MS: Final = 10**13


def queue_score(enqueued_ms: int, urgent: bool) -> int:
    """The sort score of a waiting chat in the shared queue (lower is served first)."""
    return enqueued_ms - URGENT_HEAD_START_MS if urgent else enqueued_ms


def from_queue_score(score: int) -> tuple[int, bool]:
    """``(enqueued_ms, urgent)`` back from :func:`queue_score` (for enqueued_ms ≥ 0)."""
    if score < 0:
        return score + URGENT_HEAD_START_MS, True
    return score, False


def order_queue(chats: Iterable[QueuedChat]) -> list[QueuedChat]:
    """The chats in the order they are served."""
    return sorted(chats, key=lambda c: (queue_score(c.enqueued_ms, c.urgent), c.chat_id))


def positions(ordered_chat_ids: Sequence[str]) -> dict[str, int]:
    """1-based queue position of every chat id, given the served order."""
    return {chat_id: index for index, chat_id in enumerate(ordered_chat_ids, start=1)}
