"""When a waiting visitor gets a new ``queue`` frame.

Every join at the back changes the total waiting, and a frame to every visitor ahead of it on
every join makes joining cost O(waiting) frames: at 5,000 waiting that is what slowed joins to
a few dozen a second. What a visitor acts on is their own place and whether a callback is
offered instead; those go out at once. A changed total or estimate alone waits until
``QUEUE_REFRESH_MS`` have passed since the visitor's last frame (the queue watch runs at least
every few seconds, so such a change is never held back for long).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

QUEUE_REFRESH_MS: Final = 5_000


@dataclass(frozen=True)
class QueueView:
    """What one waiting visitor is shown."""

    position: int
    waiting: int
    estimate_s: int | None
    overflow: bool


def queue_update_due(last: QueueView | None, new: QueueView, since_last_ms: int) -> bool:
    """True when ``new`` should be sent to a visitor last shown ``last`` ``since_last_ms``
    milliseconds ago (``last`` None: nothing shown yet)."""
    if last is None:
        return True
    if new == last:
        return False
    if new.position != last.position or new.overflow != last.overflow:
        return True
    return since_last_ms >= QUEUE_REFRESH_MS
