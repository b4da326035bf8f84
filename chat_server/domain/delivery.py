"""Exactly-once, in-order delivery of a chat's events to one connection.

Events carry the chat's dense sequence number. A connection remembers the last seq it
delivered; an incoming nudge is either a duplicate (drop), the next one (deliver), or shows a
gap (some nudge was missed), which the caller fills from the stored history.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from .models import ChatEvent


class Arrival(enum.Enum):
    DUPLICATE = "duplicate"
    NEXT = "next"
    GAP = "gap"


def classify(last_seq: int, seq: int) -> Arrival:
    if seq <= last_seq:
        return Arrival.DUPLICATE
    return Arrival.NEXT if seq == last_seq + 1 else Arrival.GAP


def fill_gap(
    last_seq: int, fetched: Iterable[ChatEvent], incoming: ChatEvent | None = None
) -> tuple[list[ChatEvent], int]:
    """Events to deliver after ``last_seq``: the fetched history, then ``incoming`` if the
    history did not hold it (an ``ended`` event is never stored). Returns (events, new last)."""
    out: list[ChatEvent] = []
    last = last_seq
    for event in sorted(fetched, key=lambda e: e.seq):
        if event.seq > last:
            out.append(event)
            last = event.seq
    if incoming is not None and incoming.seq > last:
        out.append(incoming)
        last = incoming.seq
    return out, last
