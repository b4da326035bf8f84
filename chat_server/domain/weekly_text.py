"""A weekly schedule as a few lines a person reads at a glance ("mån–fre 09:00–16:00").

Pure: the weekday periods of :mod:`.schedule` go in, groups of consecutive days with the same
hours come out, for the poster of the meeting points (docs/widget.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .schedule import Periods


@dataclass(frozen=True, slots=True)
class DayGroup:
    """Weekdays ``first``..``last`` (Monday=0) that share ``periods`` (empty: closed)."""

    first: int
    last: int
    periods: Periods


def day_groups(weekly: Mapping[int, Periods]) -> list[DayGroup]:
    """Monday to Sunday, consecutive days with equal hours joined into one group."""
    groups: list[DayGroup] = []
    for day in range(7):
        periods = tuple(weekly.get(day, ()))
        if groups and groups[-1].periods == periods:
            groups[-1] = DayGroup(groups[-1].first, day, periods)
        else:
            groups.append(DayGroup(day, day, periods))
    return groups


def group_text(group: DayGroup, day_names: Sequence[str]) -> tuple[str, str]:
    """One group in words: days and hours, ``("mån–fre", "09:00–12:00, 13:00–16:00")``; the
    hours are empty when the days are closed."""
    days = day_names[group.first]
    if group.last != group.first:
        days += f"–{day_names[group.last]}"
    hours = ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in group.periods)
    return days, hours
