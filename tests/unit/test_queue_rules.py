"""Unit tests of the queue order: urgent first, then first come, first served."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from chat_server.domain.models import QueuedChat
from chat_server.domain.queue import order_queue, positions, queue_score

NOW_MS = 1_750_000_000_000  # a realistic epoch time in ms (June 2025)


def ids(chats: list[QueuedChat]) -> list[str]:
    return [c.chat_id for c in chats]


def test_score_is_arrival_time_for_non_urgent() -> None:
    """A non-urgent chat's score is its arrival time, so earlier arrivals score lower."""
    assert queue_score(NOW_MS, urgent=False) == NOW_MS
    assert queue_score(NOW_MS, urgent=False) < queue_score(NOW_MS + 1, urgent=False)


def test_urgent_scores_below_every_non_urgent_arrival() -> None:
    """An urgent chat arriving now scores below a non-urgent chat that arrived at the epoch."""
    assert queue_score(NOW_MS, urgent=True) < queue_score(0, urgent=False)
    assert queue_score(NOW_MS, urgent=True) < queue_score(NOW_MS + 1, urgent=True)


def test_urgent_first_then_fifo() -> None:
    """Urgent chats are served first, each group in arrival order."""
    chats = [
        QueuedChat("late", NOW_MS + 30),
        QueuedChat("urgent-late", NOW_MS + 40, urgent=True),
        QueuedChat("early", NOW_MS + 10),
        QueuedChat("urgent-early", NOW_MS + 20, urgent=True),
    ]
    assert ids(order_queue(chats)) == ["urgent-early", "urgent-late", "early", "late"]


def test_ties_broken_by_chat_id() -> None:
    """Chats that arrived in the same millisecond are ordered by chat id, deterministically."""
    chats = [
        QueuedChat("c", NOW_MS),
        QueuedChat("a", NOW_MS),
        QueuedChat("b", NOW_MS),
        QueuedChat("z", NOW_MS, urgent=True),
        QueuedChat("y", NOW_MS, urgent=True),
    ]
    assert ids(order_queue(chats)) == ["y", "z", "a", "b", "c"]


def test_empty_queue() -> None:
    """An empty queue orders to an empty list and has no positions."""
    assert order_queue([]) == []
    assert positions([]) == {}


def test_order_queue_accepts_any_iterable_and_leaves_input_alone() -> None:
    """order_queue takes a generator and returns a new list."""
    chats = [QueuedChat("b", NOW_MS + 1), QueuedChat("a", NOW_MS)]
    assert ids(order_queue(c for c in chats)) == ["a", "b"]
    assert ids(chats) == ["b", "a"]


def test_positions_are_one_based() -> None:
    """The first chat served is at position 1."""
    assert positions(["x", "y", "z"]) == {"x": 1, "y": 2, "z": 3}


queued_chats = st.lists(
    st.builds(
        QueuedChat,
        chat_id=st.text(alphabet="abcdef0123456789", min_size=1, max_size=6),
        enqueued_ms=st.integers(min_value=0, max_value=4_000_000_000_000),
        urgent=st.booleans(),
    ),
    max_size=30,
    unique_by=lambda c: c.chat_id,
)


@given(queued_chats)
def test_order_properties(chats: list[QueuedChat]) -> None:
    """Every urgent chat precedes every other; within a group arrival order is kept."""
    ordered = order_queue(chats)
    assert sorted(ids(ordered)) == sorted(ids(chats))
    flags = [c.urgent for c in ordered]
    assert flags == sorted(flags, reverse=True)
    for first, second in pairwise(ordered):
        if first.urgent == second.urgent:
            assert (first.enqueued_ms, first.chat_id) < (second.enqueued_ms, second.chat_id)
    assert order_queue(reversed(chats)) == ordered


@given(queued_chats)
def test_positions_match_the_order(chats: list[QueuedChat]) -> None:
    """positions() numbers every chat 1..n in the served order."""
    ordered_ids = ids(order_queue(chats))
    numbered = positions(ordered_ids)
    assert sorted(numbered.values()) == list(range(1, len(chats) + 1))
    assert all(numbered[chat_id] == index + 1 for index, chat_id in enumerate(ordered_ids))
