"""Routing state in Redis: one snapshot per round, and atomic offers, withdrawals, transfers.

Every instance may run routing rounds at the same time: the scripts re-check everything they
change (the chat still waiting and not offered, the counsellor available with room), so
rounds racing on two instances can waste a little work but never break a rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from redis.asyncio import Redis

from ..domain.models import Presence, QueuedChat
from ..domain.protocol import ErrorCode, ProtocolError
from ..domain.routing import PendingOffer
from .chats import INDEX_TTL_S, _reject, chat_from_score
from .codec import as_str
from .keys import Keys
from .scripts import Scripts

RECENT_HANDLE_TIMES: Final = 50
# A routing round reads the queue's head, not the whole queue (docs/routing.md, "How far a
# round looks"): at first ROUTING_WINDOW_MIN chats beyond what the counsellors on duty can
# hold, wider while a counsellor with room got nothing, at most ROUTING_WINDOW_MAX.
ROUTING_WINDOW_MIN: Final = 50
ROUTING_WINDOW_MAX: Final = 1000
BACKUP_ALERT_TTL_S: Final = 3600
_CONSULT_REFUSALS: Final = {
    "consult_gone": "no consult of this chat is waiting for your answer",
    "consult_pending": "a colleague is being consulted about this chat: cancel that first",
}


@dataclass(frozen=True, slots=True)
class DutyState:
    """A counsellor on duty as Redis knows them (skills and capacity come from the account)."""

    username: str
    presence: Presence
    idle_since_ms: int
    auto_accept: bool
    held: int
    """Chats held, counted only while available (else 0: a round gives them nothing)."""
    offers: int


@dataclass(frozen=True, slots=True)
class RoutingSnapshot:
    waiting: tuple[QueuedChat, ...]
    """The queue's head: the window's chats without an offer, read in full, and the offered
    ones among them (topic and language left empty: the round skips them)."""
    aliases: dict[str, str]
    pending: tuple[PendingOffer, ...]
    """Every live offer: of the chats in ``waiting`` and of those further down."""
    excluded: dict[str, frozenset[str]]
    on_duty: tuple[DutyState, ...]
    recent_handle_s: tuple[float, ...]
    more: bool = False
    """The queue goes on beyond ``waiting`` (a wider window would see more chats)."""


def _groups(flat: list[Any], size: int) -> list[list[str]]:
    return [[as_str(v) for v in flat[i : i + size]] for i in range(0, len(flat), size)]


class RoutingStore:
    def __init__(self, redis: Redis, keys: Keys, scripts: Scripts, chat_ttl_s: int) -> None:
        self._redis = redis
        self._keys = keys
        self._scripts = scripts
        self._chat_ttl_s = chat_ttl_s

    async def snapshot(self, window: int = ROUTING_WINDOW_MAX) -> RoutingSnapshot:
        """The first ``window`` queue entries without a live offer (the offered ones before
        them as their queue entry only), everyone on duty and every live offer, in one script
        run (lapsed entries within the window are dropped); raises RedisError."""
        k = self._keys
        chats, staff, offers, skipped, more = await self._scripts.routing_snapshot(
            keys=[k.queue, k.staff_on_duty], args=[k.prefix, window]
        )
        handle = await self._redis.lrange(k.recent_handle_times, 0, RECENT_HANDLE_TIMES - 1)
        waiting, aliases, excluded = [], {}, {}
        pending: dict[str, PendingOffer] = {}
        for chat_id, enq, urgent, topic, language, offer_to, offer_ms, alias, excl in _groups(
            chats, 9
        ):
            waiting.append(QueuedChat(chat_id, int(enq or 0), urgent == "1", topic, language))
            aliases[chat_id] = alias
            if offer_to:
                pending[chat_id] = PendingOffer(chat_id, offer_to, int(offer_ms or 0))
            if excl:
                excluded[chat_id] = frozenset(excl.split(","))
        for chat_id, username, offer_ms in _groups(offers, 3):
            pending.setdefault(chat_id, PendingOffer(chat_id, username, int(offer_ms or 0)))
        # Offered chats in the head, unread: the round skips them, but they wait (longest wait).
        waiting.extend(chat_from_score(chat_id, int(float(score)))
                       for chat_id, score in _groups(skipped, 2))  # fmt: skip
        on_duty = tuple(
            DutyState(user, Presence(presence), int(idle or 0), auto == "1", int(held), int(offers))
            for user, presence, idle, auto, held, offers in _groups(staff, 6)
        )
        return RoutingSnapshot(
            tuple(waiting), aliases, tuple(pending.values()), excluded, on_duty,
            tuple(float(as_str(v)) for v in handle), more=int(more) == 1,
        )  # fmt: skip

    async def offer(
        self, chat_id: str, username: str, *, capacity: int, now_ms: int, offer: dict[str, Any]
    ) -> str:
        """Offer ``chat_id`` to ``username`` if every rule still holds; returns the status."""
        k = self._keys
        status = await self._scripts.offer_chat(
            keys=[k.chat(chat_id), k.staff_chats(username), k.staff_offers(username),
                  k.staff_presence(username)],
            args=[username, capacity, now_ms, INDEX_TTL_S, k.staff_channel(username),
                  json.dumps(offer)],
        )  # fmt: skip
        return as_str(status)

    async def withdraw(self, chat_id: str, username: str, offered_ms: int | None = None) -> bool:
        """Withdraw ``username``'s offer of ``chat_id`` (the exact one made at ``offered_ms``);
        they are then passed over for this chat. False if there was no such offer."""
        k = self._keys
        status = await self._scripts.withdraw_offer(
            keys=[k.chat(chat_id), k.staff_offers(username), k.chat_exclusions(chat_id)],
            args=[username, "" if offered_ms is None else offered_ms, self._chat_ttl_s,
                  k.queue_channel],
        )  # fmt: skip
        return as_str(status) == "ok"

    async def transfer(
        self, chat_id: str, *, holder: str, to: str, to_capacity: int, reason: str,
        now_ms: int, queue_score: int, warm: bool = False,
    ) -> int:  # fmt: skip
        """Move ``chat_id`` from ``holder`` to ``to`` (or the queue when empty); returns the
        seq of the ``transferred`` event, or raises ProtocolError. ``warm``: only if the
        consult from ``holder`` to ``to`` is still pending (it is then used up); a cold
        transfer is refused (not_allowed_now) while a consult is pending."""
        k = self._keys
        target = to or holder  # unused key names when going back to the queue
        seq, status = await self._scripts.transfer_chat(
            keys=[k.chat(chat_id), k.chat_stream(chat_id), k.staff_chats(holder), k.queue,
                  k.chat_exclusions(chat_id), k.staff_chats(target), k.staff_offers(target),
                  k.staff_presence(target), k.chat_consult(chat_id), k.consults],
            args=[k.prefix, chat_id, holder, to, to_capacity, reason, now_ms, self._chat_ttl_s,
                  INDEX_TTL_S, k.queue_channel, queue_score, "1" if warm else "0"],
        )  # fmt: skip
        if as_str(status) != "ok":
            code = as_str(status)
            if code in _CONSULT_REFUSALS:
                raise ProtocolError(ErrorCode.NOT_ALLOWED_NOW, _CONSULT_REFUSALS[code])
            raise (
                _reject(code)
                if code != ErrorCode.INVALID_FIELD
                else ProtocolError(code, "a chat cannot be transferred to its own counsellor")
            )
        return int(seq)

    async def claim_backup_alert(self) -> bool:
        """True for exactly one instance each time the backup tier opens."""
        return bool(await self._redis.set(self._keys.backup_alerted, "1", nx=True,
                                          ex=BACKUP_ALERT_TTL_S))  # fmt: skip

    async def backup_alert_active(self) -> bool:
        return bool(await self._redis.exists(self._keys.backup_alerted))

    async def clear_backup_alert(self) -> None:
        await self._redis.delete(self._keys.backup_alerted)

    async def record_handle_time(self, seconds: float) -> None:
        key = self._keys.recent_handle_times
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, round(seconds, 1))
            pipe.ltrim(key, 0, RECENT_HANDLE_TIMES - 1)
            pipe.expire(key, INDEX_TTL_S)
            await pipe.execute()

    async def publish_to_staff(self, username: str, event: dict[str, Any]) -> None:
        await self._redis.publish(self._keys.staff_channel(username), json.dumps(event))
