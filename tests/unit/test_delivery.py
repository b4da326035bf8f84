"""Unit tests of exactly-once, in-order delivery: classifying nudges and filling gaps."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from chat_server.domain.delivery import Arrival, classify, fill_gap
from chat_server.domain.models import ChatEvent, Sender


def event(seq: int, kind: str = "message") -> ChatEvent:
    return ChatEvent(kind=kind, sender=Sender.VISITOR, ts_ms=1000 + seq, seq=seq, text=f"m{seq}")


def seqs(events: list[ChatEvent]) -> list[int]:
    return [e.seq for e in events]


def test_classify_duplicate_next_gap() -> None:
    """Seq at or below the last delivered is a duplicate; last+1 is next; beyond is a gap."""
    assert classify(5, 4) is Arrival.DUPLICATE
    assert classify(5, 5) is Arrival.DUPLICATE
    assert classify(5, 6) is Arrival.NEXT
    assert classify(5, 7) is Arrival.GAP
    assert classify(0, 1) is Arrival.NEXT
    assert classify(0, 3) is Arrival.GAP


def test_fill_gap_delivers_missing_events_in_order() -> None:
    """After a gap the fetched history after last_seq is delivered in seq order."""
    out, last = fill_gap(2, [event(3), event(4), event(5)], incoming=event(5))
    assert seqs(out) == [3, 4, 5]
    assert last == 5


def test_fill_gap_drops_events_already_delivered() -> None:
    """History at or below last_seq is not delivered again."""
    out, last = fill_gap(3, [event(1), event(2), event(3), event(4)])
    assert seqs(out) == [4]
    assert last == 4


def test_fill_gap_drops_duplicates_in_fetched() -> None:
    """The same seq fetched twice is delivered once."""
    out, last = fill_gap(0, [event(1), event(2), event(2), event(1), event(3)])
    assert seqs(out) == [1, 2, 3]
    assert last == 3


def test_fill_gap_sorts_unsorted_history() -> None:
    """Fetched history in any order is delivered in seq order."""
    out, last = fill_gap(1, [event(4), event(2), event(3)])
    assert seqs(out) == [2, 3, 4]
    assert last == 4


def test_incoming_not_in_history_is_appended() -> None:
    """An incoming event the history lacks (an 'ended' event is never stored) comes last."""
    ended = event(6, kind="ended")
    out, last = fill_gap(3, [event(4), event(5)], incoming=ended)
    assert seqs(out) == [4, 5, 6]
    assert out[-1] is ended
    assert last == 6


def test_incoming_already_in_history_is_not_repeated() -> None:
    """An incoming event whose seq the history covered is not delivered twice."""
    out, last = fill_gap(3, [event(4), event(5)], incoming=event(5))
    assert seqs(out) == [4, 5]
    assert last == 5


def test_stale_incoming_is_dropped() -> None:
    """An incoming event at or below last_seq is not delivered."""
    out, last = fill_gap(7, [], incoming=event(7))
    assert out == []
    assert last == 7


def test_nothing_fetched_nothing_incoming() -> None:
    """With nothing new, nothing is delivered and last_seq is unchanged."""
    assert fill_gap(4, []) == ([], 4)


def test_fill_gap_takes_a_generator() -> None:
    """The fetched history may be any iterable, consumed once."""
    out, last = fill_gap(0, (event(n) for n in (2, 1)))
    assert (seqs(out), last) == ([1, 2], 2)


@given(
    last_seq=st.integers(min_value=0, max_value=20),
    fetched=st.lists(st.integers(min_value=1, max_value=30), max_size=25),
    incoming=st.none() | st.integers(min_value=1, max_value=35),
    shuffle_seed=st.integers(),
)
def test_fill_gap_properties(
    last_seq: int, fetched: list[int], incoming: int | None, shuffle_seed: int
) -> None:
    """Output is strictly increasing, all above last_seq, each seq once, and the new last is
    the highest seq seen."""
    events = [event(n) for n in fetched]
    random.Random(shuffle_seed).shuffle(events)
    out, last = fill_gap(last_seq, events, event(incoming) if incoming is not None else None)
    delivered = seqs(out)
    assert delivered == sorted(set(delivered))
    assert all(n > last_seq for n in delivered)
    expected = {n for n in fetched if n > last_seq}
    if incoming is not None and incoming > max(expected, default=last_seq):
        expected.add(incoming)
    assert set(delivered) == expected
    assert last == max(delivered, default=last_seq)
