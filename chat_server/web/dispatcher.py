"""Routing rounds on this instance: expire offers, offer or assign waiting chats, alert backups.

A round runs on every queue nudge and at least every ``routing_tick_s``. Every instance runs
rounds; the store's scripts re-check each change, so concurrent rounds stay correct.
"""

from __future__ import annotations

import contextlib
import logging

from ..domain.models import CounsellorLoad, Presence, StaffAccount
from ..domain.protocol import ProtocolError
from ..domain.routing import (
    Assign,
    BackupAlert,
    Decision,
    Offer,
    RoutingCounsellor,
    RoutingSettings,
    backup_tier_open,
    exclude_timed_out,
    expire_offers,
    route,
)
from ..services import Services
from ..store.routing import RoutingSnapshot
from .nudged_loop import NudgedLoop

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.02


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

    async def step(self) -> None:
        await self.run_round()

    async def run_round(self) -> list[Decision]:
        s = self._services
        now = s.clock_ms()
        snap = await s.routing.snapshot()
        still, expired = expire_offers(snap.pending, now, self.settings.offer_timeout_s)
        paused_now = set()
        for offer in expired:
            if await s.routing.withdraw(offer.chat_id, offer.username, offer.offered_ms):
                paused_now.add(offer.username)
                await s.presence.set(offer.username, Presence.PAUSED, now)
                await s.routing.publish_to_staff(
                    offer.username, {"kind": "offer_expired", "chat_id": offer.chat_id}
                )
        excluded = exclude_timed_out(snap.excluded, expired)
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
        decisions = route(snap.waiting, counsellors, still, now, self.settings,
                          excluded=excluded, backup_alerted=alerted)  # fmt: skip
        for decision in decisions:
            await self._apply(decision, snap, accounts, now)
        return decisions

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
            with contextlib.suppress(ProtocolError):  # the chat or the room went meanwhile
                await s.chats.claim(decision.username, now_ms=now, chat_id=decision.chat_id,
                                    capacity=accounts[decision.username].capacity)  # fmt: skip
                await s.routing.publish_to_staff(
                    decision.username, {"kind": "assigned", "chat_id": decision.chat_id}
                )
        elif isinstance(decision, BackupAlert) and await s.routing.claim_backup_alert():
            alert = {"kind": "backup_alert", "longest_wait_s": decision.longest_wait_s}
            for username, account in accounts.items():
                if account.backup or account.role.value in ("supervisor", "admin"):
                    await s.routing.publish_to_staff(username, alert)
