"""The media spike's bookkeeping: how stale a visitor's place and a view's total got."""

from __future__ import annotations

import math

from chat_server.bench.spike_figures import (
    Take,
    VisitorTrace,
    percentile,
    staleness_ms,
    view_freshness_ms,
)

MS = 1_000_000


def test_staleness_is_the_wait_from_a_take_to_the_new_place() -> None:
    """A visitor at place 3 shown 2 ten ms after the first take and 1 at once after the
    second: delays of 10 and 0 ms; its own take ends what concerns it."""
    visitor = VisitorTrace(alias="c", shown=[(0, 3), (110 * MS, 2), (190 * MS, 1)])
    takes = [
        Take(sent_ns=90 * MS, opened_ns=100 * MS, alias="a"),
        Take(sent_ns=180 * MS, opened_ns=200 * MS, alias="b"),
        Take(sent_ns=280 * MS, opened_ns=300 * MS, alias="c"),
    ]
    figures = staleness_ms([visitor], takes)
    assert (figures["pairs"], figures["never"]) == (2, 0)
    assert (figures["p50_ms"], figures["max_ms"]) == (0.0, 10.0)


def test_a_place_never_shown_is_counted_and_earlier_takes_are_ignored() -> None:
    """A take before the visitor's first place is already in it; a take after which the new
    place never arrives counts as never shown."""
    visitor = VisitorTrace(alias="z", shown=[(50 * MS, 5)])
    takes = [Take(10 * MS, 20 * MS, "a"), Take(60 * MS, 70 * MS, "b")]
    figures = staleness_ms([visitor], takes)
    assert (figures["pairs"], figures["never"]) == (1, 1)
    assert math.isnan(figures["p99_ms"])


def test_view_freshness_counts_from_the_change_to_the_first_view_showing_it() -> None:
    """A console shows 9 then 8: the change to 9 is seen after 5 ms, the one to 8 after
    20 ms, and one to 7 never."""
    shown = [(105 * MS, 9), (220 * MS, 8)]
    changes = [(100 * MS, 9), (200 * MS, 8), (300 * MS, 7)]
    assert view_freshness_ms(shown, changes) == [5.0, 20.0, math.inf]


def test_percentile_by_nearest_rank() -> None:
    """p50 of 1..4 is 2, p99 is 4, and no values give NaN."""
    assert (percentile([4, 1, 3, 2], 0.5), percentile([4, 1, 3, 2], 0.99)) == (2, 4)
    assert math.isnan(percentile([], 0.5))
