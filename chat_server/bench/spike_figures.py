"""Figures of the media-spike phase, computed after the run from what the clients recorded.

Pure: plain lists of timestamps in, numbers out, so the matching can be tested on its own.

**How stale a visitor's place is.** Visitors wait in one FIFO queue (same topic, language, no
urgency), and every take removes the head. A visitor first shown place ``P0`` at ``F0`` must,
after the j-th take sent later than ``F0`` that took somebody else, be shown a place of at
most ``P0 - j``. Its staleness for that take is the time from the take's ``chat_opened``
(the change is committed before it is sent) to the first ``queue`` frame showing such a
place, or 0 when that frame came first. A take sent before ``F0`` but committed after the
snapshot behind ``P0`` is not counted, which can only make the figure look fresher for that
visitor's first take; at a few takes a second such overlaps are rare.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class VisitorTrace:
    """What one waiting visitor was shown: ``queue`` frames as (arrival ns, position)."""

    alias: str = ""
    shown: list[tuple[int, int]] = field(default_factory=list)
    taken_ns: int | None = None  # its own ``state`` frame (a counsellor joined)


@dataclass(frozen=True)
class Take:
    sent_ns: int
    opened_ns: int
    alias: str


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def staleness_ms(visitors: Sequence[VisitorTrace], takes: Sequence[Take]) -> dict[str, float]:
    """Position staleness over every (take, visitor waiting behind it) pair: p50, p99, max in
    ms, the number of pairs, and ``never``: pairs whose new place was never shown."""
    ordered = sorted(takes, key=lambda t: t.sent_ns)
    sent = [t.sent_ns for t in ordered]
    delays: list[float] = []
    never = 0
    for visitor in visitors:
        if not visitor.shown:
            continue
        first_ns, first_place = visitor.shown[0]
        arrivals = [ns for ns, _ in visitor.shown]
        # Running minimum: a place once shown stays the best the visitor has seen.
        best: list[int] = []
        for _, place in visitor.shown:
            best.append(min(place, best[-1]) if best else place)
        ahead_taken = 0
        for take in ordered[bisect.bisect_right(sent, first_ns) :]:
            if take.alias == visitor.alias:
                break  # its own turn: nothing behind it concerns this visitor
            ahead_taken += 1
            expected = first_place - ahead_taken
            if expected < 1:
                break
            index = _first_at_most(best, expected)
            if index is None:
                never += 1
                continue
            delays.append(max(0, arrivals[index] - take.opened_ns) / 1e6)
    return {
        "p50_ms": round(percentile(delays, 0.50), 1),
        "p99_ms": round(percentile(delays, 0.99), 1),
        "max_ms": round(max(delays), 1) if delays else math.nan,
        "pairs": len(delays) + never,
        "never": never,
    }


def _first_at_most(best: list[int], expected: int) -> int | None:
    """Index of the first running minimum ≤ ``expected`` (``best`` never increases)."""
    lo, hi = 0, len(best)
    while lo < hi:
        mid = (lo + hi) // 2
        if best[mid] <= expected:
            hi = mid
        else:
            lo = mid + 1
    return lo if lo < len(best) else None


def view_freshness_ms(
    shown: Sequence[tuple[int, int]], changes: Sequence[tuple[int, int]]
) -> list[float]:
    """For each change (ns, the waiting total it left), the ms until a view first showed a
    total of at most that — (ns, waiting) pairs of one console or supervisor view. Totals only
    fall while arrivals are paused, which is when this is measured."""
    arrivals = [ns for ns, _ in shown]
    best: list[int] = []
    for _, waiting in shown:
        best.append(min(waiting, best[-1]) if best else waiting)
    out: list[float] = []
    for change_ns, waiting in changes:
        start = bisect.bisect_left(arrivals, change_ns)
        tail = best[start:]
        # The first frame after the change that shows it (an earlier one may have already).
        index = next((i for i, value in enumerate(tail) if value <= waiting), None)
        if start > 0 and best[start - 1] <= waiting:
            out.append(0.0)
        elif index is None:
            out.append(math.inf)
        else:
            out.append((arrivals[start + index] - change_ns) / 1e6)
    return out


def per_change(delta: float, changes: int) -> float:
    return delta / changes if changes else math.nan
