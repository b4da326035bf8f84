"""The supervisor's live view: one monitor per instance, pushed to every open view.

The monitor recomputes the picture after any nudge (queue, presence, controls, statistics,
raised hands), debounced by DEBOUNCE_S, and at least every REFRESH_S; a view gets a ``live``
frame whenever the picture changed, so a change reaches it well within a second. The same
pass sets the Prometheus gauges and samples the queue length for the chart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from redis.exceptions import RedisError

from ..domain import stats
from ..domain.models import Presence, visitor_alias
from ..domain.protocol import encode
from ..services import Services
from ..stats_archive import StatsArchive, read_range
from ..store.chats import QueueSnapshot
from ..store.controls import Controls
from ..store.stats import StatsStore
from ..supervisor_config import SupervisorConfig
from .metrics import ServiceMetrics
from .peer import Peer

log = logging.getLogger(__name__)

DEBOUNCE_S: Final = 0.1
REFRESH_S: Final = 5.0
# The queue watch's snapshot is used while it is this fresh; an older one (a quiet queue, or a
# watch that stopped on a Redis error) is not trusted and the view reads the queue itself.
QUEUE_SNAPSHOT_MAX_AGE_MS: Final = 2_000
RAISED_HAND_MAX_S: Final = 1800
HISTORY_MAX_POINTS: Final = 240
_CHAT_ID = re.compile(r"[0-9a-f]{1,64}")

CallbackCounts = Callable[[], Awaitable[Mapping[str, int]]]
"""Returns the callback work list's counts: ``{"pending": n, "due": n, "overdue": n}``."""
CALLBACK_COUNT_NAMES: Final = ("pending", "due", "overdue")


@dataclass(frozen=True, slots=True)
class RaisedHand:
    user: str
    since_ms: int
    chat_id: str = ""


class LiveMonitor:
    def __init__(
        self,
        services: Services,
        store: StatsStore,
        archive: StatsArchive,
        config: SupervisorConfig,
        metrics: ServiceMetrics,
        callback_counts: CallbackCounts | None = None,
    ) -> None:
        self.services = services
        self.store = store
        self.archive = archive
        self.config = config
        self.metrics = metrics
        self.callback_counts = callback_counts
        self.views: set[Peer] = set()
        self.raised: dict[str, RaisedHand] = {}
        self.latest_live: str | None = None
        self.latest_history: str | None = None
        self._last_body = ""
        self._queue: tuple[QueueSnapshot, int] | None = None  # the queue watch's, and when
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._channels = (
            services.keys.queue_channel,
            services.controls.channel,
            store.keys.supervisor_channel,
        )

    async def start(self) -> None:
        for channel in self._channels:
            await self.services.hub.subscribe(channel, self._on_nudge)
        self.services.hub.add_resync_hook(self.poke)
        self.services.queue_listeners.append(self._on_queue)
        self._task = asyncio.create_task(self._loop(), name="supervisor-live")

    async def stop(self) -> None:
        self._stopping = True  # see NudgedLoop.stop: a cancel can be swallowed by redis-py
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.services.hub.remove_resync_hook(self.poke)
        if self._on_queue in self.services.queue_listeners:
            self.services.queue_listeners.remove(self._on_queue)
        for channel in self._channels:
            await self.services.hub.unsubscribe(channel, self._on_nudge)

    def poke(self) -> None:
        self._dirty.set()

    def _on_queue(self, snapshot: QueueSnapshot) -> None:
        """The queue watch took a snapshot: show it (one scan of the queue per change and
        instance, not one for the positions and another for this view)."""
        self._queue = (snapshot, self.services.clock_ms())
        self._dirty.set()

    async def _queue_snapshot(self, now_ms: int) -> QueueSnapshot:
        if self._queue is not None and now_ms - self._queue[1] <= QUEUE_SNAPSHOT_MAX_AGE_MS:
            return self._queue[0]
        return await self.services.chats.queue_snapshot()

    def attach(self, view: Peer) -> None:
        """A new view gets the latest picture at once, then every change."""
        self.views.add(view)
        self.metrics.supervisor_views.set(len(self.views))
        for frame in (self.latest_live, self.latest_history):
            if frame:
                view.send(frame)
        self.poke()

    def detach(self, view: Peer) -> None:
        self.views.discard(view)
        self.metrics.supervisor_views.set(len(self.views))

    def _on_nudge(self, channel: str, data: str) -> None:
        if channel == self.store.keys.supervisor_channel:
            self._note_hand(data)
        self._dirty.set()

    def _note_hand(self, data: str) -> None:
        """Raised hands published by the consoles (see docs/statistics.md for the format)."""
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or not isinstance(message.get("user"), str):
            return
        account = self.services.staff.get(message["user"][:64])
        if account is None or account.disabled:
            return
        if message.get("kind") == "raised_hand":
            chat_id = message.get("chat_id")
            if not (isinstance(chat_id, str) and _CHAT_ID.fullmatch(chat_id)):
                chat_id = ""
            self.raised[account.username] = RaisedHand(
                account.username, self.services.clock_ms(), chat_id
            )
        elif message.get("kind") == "hand_lowered":
            self.raised.pop(account.username, None)

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REFRESH_S):
                    await self._dirty.wait()
            await asyncio.sleep(DEBOUNCE_S)
            self._dirty.clear()
            try:
                await self.refresh()
            except RedisError:
                self.metrics.error("redis")
            except Exception:
                self.metrics.error("internal")
                log.exception("the supervisor live view failed to refresh")

    async def refresh(self) -> None:
        """Recompute the picture, sample the queue, set the gauges, push what changed."""
        now = self.services.clock_ms()
        body = await self.picture(now)
        c = self.config
        if (
            await self.store.sample_queue(
                now, body["waiting"], c.queue_sample_interval_s, c.queue_history_s
            )
            or self.latest_history is None
        ):
            points = await self.store.queue_samples(now - c.queue_history_s * 1000)
            self.latest_history = encode(
                "queue_history",
                interval_s=c.queue_sample_interval_s,
                points=stats.downsample(points, HISTORY_MAX_POINTS),
            )
            self._send_all(self.latest_history)
        text = json.dumps(body, sort_keys=True)
        if text != self._last_body:
            self._last_body = text
            self.latest_live = encode("live", now_ms=now, **body)
            self._send_all(self.latest_live)

    def _send_all(self, frame: str) -> None:
        for view in list(self.views):
            view.send(frame)

    async def picture(self, now_ms: int) -> dict[str, Any]:
        """Everything the live view shows, as JSON-ready data (no chat text, no token)."""
        s, vocabulary = self.services, self.store.vocabulary
        snapshot = await self._queue_snapshot(now_ms)
        accounts = [a for a in s.staff.all() if not a.disabled]
        loads = await self.store.staff_loads([a.username for a in accounts])
        counsellors = [
            {
                "user": a.username,
                "name": a.shown_name,
                "presence": loads[a.username].presence.value,
                "chats": loads[a.username].chats,
                "capacity": a.capacity,
            }
            for a in accounts
            if loads[a.username].presence is not Presence.OFFLINE or loads[a.username].chats
        ]
        available = sum(1 for c in counsellors if c["presence"] == Presence.AVAILABLE.value)
        active = sum(load.chats for load in loads.values())
        oldest = min((c.enqueued_ms for c in snapshot.chats), default=None)
        controls = await s.controls.get()
        today = self.store.today(now_ms)
        counters = (await read_range(self.store, self.archive, [today]))[today]
        summary = stats.live_summary(counters, self.config.service_targets_s)
        self._prune_hands(now_ms)
        self._set_gauges(snapshot.waiting, oldest, now_ms, active, counsellors, controls)
        return {
            "waiting": snapshot.waiting,
            "waiting_urgent": sum(1 for c in snapshot.chats if c.urgent),
            "oldest_enqueued_ms": oldest,
            "waiting_by_topic": dict(
                Counter(stats.allowed_label(c.topic, vocabulary.topics) for c in snapshot.chats)
            ),
            "waiting_by_language": dict(
                Counter(
                    stats.allowed_label(c.language, vocabulary.languages) for c in snapshot.chats
                )
            ),
            "active": active,
            "available": available,
            "counsellors": counsellors,
            "raised_hands": [
                {
                    "user": h.user,
                    "name": _name(s, h.user),
                    "since_ms": h.since_ms,
                    "chat_id": h.chat_id,
                    "alias": visitor_alias(h.chat_id) if h.chat_id else "",
                }
                for h in sorted(self.raised.values(), key=lambda h: h.since_ms)
            ],
            "callbacks": await self._callbacks(),
            "today": {
                "date": today.isoformat(),
                "offered": summary.offered,
                "answered": summary.answered,
                "abandoned": summary.abandoned,
                "median_wait": _bound(summary.median_wait_s),
                "service_levels": {str(t): v for t, v in summary.service_levels.items()},
            },
            "controls": {
                "intake_paused": controls.intake_paused,
                "pause_message_sv": controls.pause_message_sv,
                "pause_message_en": controls.pause_message_en,
                "notice_sv": controls.notice_sv,
                "notice_en": controls.notice_en,
                "day_override": (
                    controls.day_override if controls.day_override_date == today.isoformat() else ""
                ),
            },
        }

    def _prune_hands(self, now_ms: int) -> None:
        for user, hand in list(self.raised.items()):
            if now_ms - hand.since_ms > RAISED_HAND_MAX_S * 1000:
                del self.raised[user]

    async def _callbacks(self) -> dict[str, int] | None:
        if self.callback_counts is None:
            return None
        try:
            counts = await self.callback_counts()
        except RedisError:
            raise  # an outage, not a bug: the refresh loop counts it, with no traceback
        except Exception:
            self.metrics.error("internal")
            log.exception("the callback counts could not be read")
            return None
        return {name: int(counts.get(name, 0)) for name in CALLBACK_COUNT_NAMES}

    def _set_gauges(
        self,
        waiting: int,
        oldest_ms: int | None,
        now_ms: int,
        active: int,
        counsellors: list[dict[str, Any]],
        controls: Controls,
    ) -> None:
        m = self.metrics
        m.queue_waiting.set(waiting)
        m.queue_longest_wait.set(max(0, now_ms - oldest_ms) / 1000 if oldest_ms else 0)
        m.chats_active.set(active)
        m.counsellors_available.set(
            sum(1 for c in counsellors if c["presence"] == Presence.AVAILABLE.value)
        )
        m.counsellors_on_duty.set(
            sum(1 for c in counsellors if c["presence"] != Presence.OFFLINE.value)
        )
        m.intake_paused.set(1 if controls.intake_paused else 0)


def _name(services: Services, username: str) -> str:
    account = services.staff.get(username)
    return account.shown_name if account else username


def _bound(value_s: float | None) -> str | None:
    """A histogram bound as its bucket label ("le_60", "inf"): JSON has no infinity."""
    return None if value_s is None else stats.bucket_label(value_s)
