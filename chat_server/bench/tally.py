"""Bookkeeping for the benchmark's messages: due times, arrivals, percentiles. Pure, no I/O.

Every benchmark message carries its own id and the time it was *due* (scheduled by the clock,
not when it was actually written), so a slow server cannot hide latency by slowing the
sender down (open loop, no coordinated omission).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

VISITOR_TO_COUNSELLOR: Final = 0
COUNSELLOR_TO_VISITOR: Final = 1
DIRECTION_NAMES: Final = ("visitor_to_counsellor", "counsellor_to_visitor")

# A realistic chat line after the id and due time (about 80 characters in all).
FILLER: Final = " Hej, jag behöver prata med någon om hur det är hemma."


def message_text(msg_id: int, due_ns: int) -> str:
    return f"{msg_id}:{due_ns}{FILLER}"


def parse_message_id(text: str) -> int | None:
    """The id in a benchmark message's text, or None if the text is not one of ours."""
    head, _, _ = text.partition(":")
    return int(head) if head.isdigit() else None


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(latencies_ns: Sequence[int], missing: int = 0) -> dict[str, float | int]:
    """p50/p95/p99/max in milliseconds. Messages that never arrived count as infinitely
    late, so a run that loses or strands messages cannot report a good p99."""
    values = sorted(ns / 1e6 for ns in latencies_ns) + [math.inf] * missing
    return {
        "count": len(values),
        "missing": missing,
        "p50_ms": round(percentile(values, 0.50), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(values[-1], 2) if values else math.nan,
    }


@dataclass
class Ledger:
    """Every message the benchmark sent: direction, due time, acks, arrivals at the far side."""

    direction: list[int] = field(default_factory=list)
    due_ns: list[int] = field(default_factory=list)
    arrived_ns: list[int] = field(default_factory=list)
    arrivals: list[int] = field(default_factory=list)
    acked: list[bool] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    foreign_frames: int = 0

    def new_message(self, direction: int, due_ns: int) -> int:
        self.direction.append(direction)
        self.due_ns.append(due_ns)
        self.arrived_ns.append(0)
        self.arrivals.append(0)
        self.acked.append(False)
        return len(self.due_ns) - 1

    @property
    def count(self) -> int:
        return len(self.due_ns)

    def arrived(self, msg_id: int, direction: int, now_ns: int) -> None:
        """The far side got message ``msg_id`` (a second arrival is a duplicate)."""
        if not 0 <= msg_id < self.count or self.direction[msg_id] != direction:
            self.foreign_frames += 1
            return
        self.arrivals[msg_id] += 1
        if self.arrivals[msg_id] == 1:
            self.arrived_ns[msg_id] = now_ns

    def ack(self, msg_id: int) -> None:
        if 0 <= msg_id < self.count:
            self.acked[msg_id] = True

    def refuse(self, code: str) -> None:
        self.refused[code] = self.refused.get(code, 0) + 1

    def outstanding(self, start: int, end: int) -> int:
        return sum(1 for i in range(start, end) if self.arrivals[i] == 0)

    def window(self, start: int, end: int) -> dict[str, dict[str, float | int]]:
        """Latency summaries of messages ``start``..``end``-1, per direction and overall."""
        per: list[list[int]] = [[], []]
        missing = [0, 0]
        for i in range(start, end):
            d = self.direction[i]
            if self.arrivals[i]:
                per[d].append(self.arrived_ns[i] - self.due_ns[i])
            else:
                missing[d] += 1
        out = {DIRECTION_NAMES[d]: latency_summary(per[d], missing[d]) for d in (0, 1)}
        out["both"] = latency_summary(per[0] + per[1], missing[0] + missing[1])
        return out

    def duplicated(self) -> int:
        return sum(n - 1 for n in self.arrivals if n > 1)

    def lost(self, *, require_ack: bool) -> int:
        """Messages never delivered to the far side; with ``require_ack`` only those the
        server confirmed storing (a refused message was not lost: the writer was told)."""
        return sum(
            1
            for i in range(self.count)
            if self.arrivals[i] == 0 and (self.acked[i] or not require_ack)
        )


@dataclass
class SeqCheck:
    """Per (connection, chat): every stored event must arrive once, in order, with no gap."""

    last: dict[tuple[int, str], int] = field(default_factory=dict)
    gaps: int = 0
    repeats: int = 0

    def see(self, conn: int, chat: str, seq: int) -> None:
        key = (conn, chat)
        last = self.last.get(key, 0)
        if seq <= last:
            self.repeats += 1
            return
        if seq > last + 1:
            self.gaps += seq - last - 1
        self.last[key] = seq
