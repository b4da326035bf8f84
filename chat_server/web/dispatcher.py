"""Routing rounds on this instance: expire offers, offer or assign waiting chats, alert backups.

A round runs on every queue nudge and at least every ``routing_tick_s``. Every instance runs
rounds; the store's scripts re-check each change, so concurrent rounds stay correct.

A round's own changes (an assignment's claim, a withdrawn offer, the pause that follows it)
nudge the queue channel too; the round has already routed with them in mind, so their echoes
do not set off another round here (other instances' rounds still hear them).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from ..domain.models import CounsellorLoad, Presence, StaffAccount
from ..domain.protocol import ProtocolError
from ..domain.routing import (
    Assign,
    BackupAlert,
    Decision,
    Offer,
    PendingOffer,
    RoutingCounsellor,
    RoutingSettings,
    backup_tier_open,
    exclude_timed_out,
    expire_offers,
    fits_someone_with_room,
    room_left,
    route,
)
from ..services import Services
from ..store.chats import QueueSnapshot
from ..store.routing import ROUTING_WINDOW_MAX, ROUTING_WINDOW_MIN, RoutingSnapshot
from .nudged_loop import NudgedLoop

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.02


@dataclass(frozen=True, slots=True)
class _Unfitted:
    """What a round that stopped at its window knew: the chats it judged (in the window or,
    from the queue watch's snapshot, beyond it) and who still had room."""

    seen: set[str]
    counsellors: list[RoutingCounsellor]
    pending: list[PendingOffer]
    decisions: list[Decision]
    tier_open: bool


class Dispatcher(NudgedLoop):
    name = "dispatcher"

    def __init__(self, services: Services) -> None:
        super().__init__(services, interval_s=services.settings.routing_tick_s,
                         debounce_s=DEBOUNCE_S)  # fmt: skip
        settings = services.settings
        self.settings = RoutingSettings(
            relax_after_s=settings.relax_after_s,
            offer_timeout_s=settings.offer_timeout_s,
            backup_after_s=settings.backup_after_s,
        )
        self.on_duty_capacity = 0
        self.languages_on_duty: frozenset[str] = frozenset()  # of available counsellors
        self.recent_handle_s: tuple[float, ...] = ()
        self.rounds = 0  # rounds run since start (tests and the bench read it)
        # Chats the last round gave out: about how many this one may give out too (a shift
        # starting, a burst of arrivals), so how far beyond the minimum it first reads.
        self._given = 0
        self._unfitted: _Unfitted | None = None  # the last round stopped at its window
        self._own_nudges: Counter[str] = Counter()  # echoes of our publishes still to come

    async def start(self) -> None:
        self._services.queue_listeners.append(self._on_queue)
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self._on_queue in self._services.queue_listeners:
            self._services.queue_listeners.remove(self._on_queue)

    async def step(self) -> None:
        await self.run_round()

    def _on_nudge(self, channel: str, data: str) -> None:
        if self._own_nudges[data] > 0:
            self._own_nudges[data] -= 1  # our own change: this round routed it already
            return
        super()._on_nudge(channel, data)

    def poke(self) -> None:
        self._own_nudges.clear()  # a resync may have lost echoes: count none any more
        super().poke()

    @contextlib.contextmanager
    def _own_nudge(self, kind: str) -> Iterator[None]:
        """Expect the echo of a ``kind`` nudge about to be published (counted before the
        call: the echo may arrive before it returns). The caller takes it back with
        :meth:`_forget_nudge` when nothing was published; an exception takes it back too.
        Should a foreign nudge of that kind be taken for ours meanwhile, the next tick
        (``routing_tick_s``) routes it."""
        self._own_nudges[kind] += 1
        try:
            yield
        except BaseException:
            self._forget_nudge(kind)
            raise

    def _forget_nudge(self, kind: str) -> None:
        self._own_nudges[kind] = max(0, self._own_nudges[kind] - 1)

    async def run_round(self) -> list[Decision]:
        """One round over the queue's head: the first ROUTING_WINDOW_MIN chats without an
        offer, plus as many as the last round gave out; the window widens (×4, up to
        ROUTING_WINDOW_MAX) only while a counsellor with room got nothing from it and this
        instance's queue snapshot shows a chat further down that fits them."""
        s = self._services
        self.rounds += 1
        self._unfitted = None
        now = s.clock_ms()
        window = min(ROUTING_WINDOW_MAX, ROUTING_WINDOW_MIN + self._given)
        snap = await s.routing.snapshot(window)
        still, expired = expire_offers(snap.pending, now, self.settings.offer_timeout_s)
        paused_now = set()
        for offer in expired:
            with self._own_nudge("withdrawn"):
                withdrawn = await s.routing.withdraw(offer.chat_id, offer.username,
                                                     offer.offered_ms)  # fmt: skip
            if not withdrawn:
                self._forget_nudge("withdrawn")
            else:
                paused_now.add(offer.username)
                with self._own_nudge("presence"):
                    await s.presence.set(offer.username, Presence.PAUSED, now)
                await s.routing.publish_to_staff(
                    offer.username, {"kind": "offer_expired", "chat_id": offer.chat_id}
                )
        excluded = exclude_timed_out(snap.excluded, expired)
        while True:
            decisions, accounts, counsellors, tier_open = await self._decide(
                snap, still, excluded, paused_now, now
            )
            if not snap.more or window >= ROUTING_WINDOW_MAX:
                break
            if not room_left(counsellors, still, decisions, tier_open=tier_open):
                break
            if not self._deeper_may_fit(snap, counsellors, still, decisions, now, tier_open):
                break
            # Someone with room fits none of the head: look further down (the withdrawals
            # above are in Redis now, so the wider snapshot sees them).
            window = min(ROUTING_WINDOW_MAX, window * 4)
            snap = await s.routing.snapshot(window)
            still, _ = expire_offers(snap.pending, now, self.settings.offer_timeout_s)
            excluded = exclude_timed_out(snap.excluded, expired)
        self.on_duty_capacity = sum(
            c.load.capacity
            for c in counsellors
            if c.load.presence is Presence.AVAILABLE and (tier_open or not c.load.backup)
        )
        self.languages_on_duty = frozenset(
            code
            for c in counsellors
            if c.load.presence is Presence.AVAILABLE
            for code in c.load.languages
        )
        self.recent_handle_s = snap.recent_handle_s
        self._given = sum(1 for d in decisions if isinstance(d, Offer | Assign))
        for decision in decisions:
            await self._apply(decision, snap, accounts, now)
        return decisions

    def _deeper_may_fit(
        self, snap: RoutingSnapshot, counsellors: list[RoutingCounsellor],
        still: list[PendingOffer], decisions: list[Decision], now: int, tier_open: bool,
    ) -> bool:  # fmt: skip
        """Whether a chat beyond the window could fit someone with room, judged by this
        instance's queue snapshot (every waiting chat's topic and language, no Redis read).
        If not, the round stops at its window, and chats that join later are checked as the
        queue watch sees them (:meth:`_on_queue`): one that fits sets off a round at once."""
        latest = self._services.queue_watch.latest if self._services.queue_watch else None
        if latest is None:
            return True  # nothing known: read wider
        seen = {chat.chat_id for chat in snap.waiting} | {offer.chat_id for offer in still}
        deeper = [chat for chat in latest.chats if chat.chat_id not in seen]
        if fits_someone_with_room(deeper, counsellors, still, decisions, now, self.settings,
                                  tier_open=tier_open):  # fmt: skip
            return True
        seen.update(chat.chat_id for chat in deeper)
        self._unfitted = _Unfitted(seen, counsellors, still, decisions, tier_open)
        return False

    def _on_queue(self, snapshot: QueueSnapshot) -> None:
        """The queue watch took a snapshot: a round that stopped at its window runs again at
        once if a chat it has not seen fits someone who had room."""
        unfitted = self._unfitted
        if unfitted is None:
            return
        new = [chat for chat in snapshot.chats if chat.chat_id not in unfitted.seen]
        if not new:
            return
        unfitted.seen.update(chat.chat_id for chat in new)
        if fits_someone_with_room(new, unfitted.counsellors, unfitted.pending,
                                  unfitted.decisions, self._services.clock_ms(), self.settings,
                                  tier_open=unfitted.tier_open):  # fmt: skip
            self._unfitted = None
            self._wake.set()

    async def _decide(
        self, snap: RoutingSnapshot, still: list[PendingOffer],
        excluded: dict[str, frozenset[str]], paused_now: set[str], now: int,
    ) -> tuple[list[Decision], dict[str, StaffAccount], list[RoutingCounsellor], bool]:  # fmt: skip
        """The round's decisions over ``snap`` (pure but for the backup alert flag)."""
        s = self._services
        accounts: dict[str, StaffAccount] = {}
        counsellors = []
        for duty in snap.on_duty:
            account = s.staff.get(duty.username)
            if account is None or account.disabled or account.capacity <= 0:
                continue
            accounts[duty.username] = account
            presence = Presence.PAUSED if duty.username in paused_now else duty.presence
            load = CounsellorLoad(
                username=duty.username, presence=presence, active_chats=duty.held,
                capacity=account.capacity, languages=account.languages, topics=account.topics,
                backup=account.backup, idle_since_ms=duty.idle_since_ms,
            )  # fmt: skip
            counsellors.append(RoutingCounsellor(load, duty.auto_accept))
        tier_open = backup_tier_open(snap.waiting, now, self.settings)
        alerted = await s.routing.backup_alert_active()
        if alerted and not tier_open:
            await s.routing.clear_backup_alert()
            alerted = False
        decisions = route(snap.waiting, counsellors, still, now, self.settings,
                          excluded=excluded, backup_alerted=alerted)  # fmt: skip
        return decisions, accounts, counsellors, tier_open

    async def _apply(
        self, decision: Decision, snap: RoutingSnapshot, accounts: dict[str, StaffAccount],
        now: int,
    ) -> None:  # fmt: skip
        s = self._services
        if isinstance(decision, Offer):
            chat = next(c for c in snap.waiting if c.chat_id == decision.chat_id)
            await s.routing.offer(
                decision.chat_id, decision.username,
                capacity=accounts[decision.username].capacity, now_ms=now,
                offer={"kind": "offer", "chat_id": chat.chat_id,
                       "alias": snap.aliases.get(chat.chat_id, ""), "topic": chat.topic,
                       "language": chat.language, "urgent": chat.urgent,
                       "match": decision.match,
                       "expires_in_s": self.settings.offer_timeout_s},
            )  # fmt: skip
        elif isinstance(decision, Assign):
            try:
                with self._own_nudge("claimed"):
                    await s.chats.claim(decision.username, now_ms=now, chat_id=decision.chat_id,
                                        capacity=accounts[decision.username].capacity)  # fmt: skip
            except ProtocolError:
                return  # the chat or the room went meanwhile (nothing was published)
            else:
                await s.routing.publish_to_staff(
                    decision.username, {"kind": "assigned", "chat_id": decision.chat_id}
                )
        elif isinstance(decision, BackupAlert) and await s.routing.claim_backup_alert():
            alert = {"kind": "backup_alert", "longest_wait_s": decision.longest_wait_s}
            for username, account in accounts.items():
                if account.backup or account.role.value in ("supervisor", "admin"):
                    await s.routing.publish_to_staff(username, alert)
