"""Routing rules of the chat queue: which waiting chat is offered to which counsellor.

Pure: the caller passes the waiting chats, the counsellors, the pending offers, ``now_ms`` and
:class:`RoutingSettings`; :func:`route` returns decisions and changes nothing. One round:

1. Chats are served in queue order (:func:`~chat_server.domain.queue.order_queue`): urgent chats
   first, then the longest wait. A chat that already has a pending offer is skipped: a chat is
   offered to one counsellor at a time.
2. A counsellor can take a chat while their presence is ``available`` and ``active chats +
   pending offers + chats given earlier in this round < capacity``.
3. Skills, by how long the chat has waited (``now_ms - enqueued_ms``):

   * under ``relax_after_s``: "exact" — the chat's language must be one of the counsellor's
     languages and its topic one of the counsellor's topics;
   * from ``relax_after_s``: "language" — the topic requirement is dropped, language still holds;
   * from ``2 × relax_after_s``: "any" — any counsellor with room will do.

   An empty chat language or topic is matched by every counsellor. Codes are compared exactly
   (the caller normalises them).
4. Backup counsellors are a reserve: they can take chats only while the backup tier is open,
   i.e. the longest wait of any waiting chat (urgent or not, offered or not) has reached
   ``backup_after_s``.
5. A counsellor whose offer for this chat timed out (or who declined it) is in the chat's
   exclusion set and is passed over, unless no one else can take the chat in this round (nobody
   else passes rules 2-4 at this point of the round); then the excluded counsellors are
   retried, because a retry beats leaving the chat waiting.
6. Among the candidates the best one is, in this order: a regular counsellor before a backup
   one; the better skill match ("exact", then "language", then "any" — a relaxed chat still
   goes to an expert if one has room); the lower load ratio ``(active + pending) / capacity``
   (a ratio, so a counsellor with capacity 4 and 2 chats counts as loaded as one with 1 of 2);
   the longest idle (smallest ``idle_since_ms``); the username, so rounds are deterministic.

A counsellor with ``auto_accept`` gets :class:`Assign` instead of :class:`Offer`. Offers expire
through :func:`expire_offers`; :func:`pauses_for` and :func:`exclude_timed_out` turn the expired
ones into :class:`PauseCounsellor` decisions and exclusion sets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final, Literal, TypeAlias

from .models import CounsellorLoad, Presence, QueuedChat
from .queue import order_queue

Match: TypeAlias = Literal["exact", "language", "any"]
# Lower is a closer fit; a chat accepts every match up to the rank its wait allows.
MATCH_RANK: Final[Mapping[Match, int]] = {"exact": 0, "language": 1, "any": 2}

RELAX_AFTER_S: Final = 60
OFFER_TIMEOUT_S: Final = 30
BACKUP_AFTER_S: Final = 120


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    """Timings of the routing rules, in whole seconds; negative values raise ValueError."""

    relax_after_s: int = RELAX_AFTER_S
    offer_timeout_s: int = OFFER_TIMEOUT_S
    backup_after_s: int = BACKUP_AFTER_S

    def __post_init__(self) -> None:
        for name in ("relax_after_s", "offer_timeout_s", "backup_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True, slots=True)
class RoutingCounsellor:
    """A counsellor as routing sees them: their load plus whether offers are auto-accepted.

    Pending offers are not counted here; :func:`route` counts them from its ``pending`` input.
    A counsellor paused after an offer timeout simply has presence ``paused``.
    """

    load: CounsellorLoad
    auto_accept: bool = False

    @property
    def username(self) -> str:
        return self.load.username


@dataclass(frozen=True, slots=True)
class PendingOffer:
    """An offer the counsellor has neither accepted nor declined yet, made at ``offered_ms``."""

    chat_id: str
    username: str
    offered_ms: int


@dataclass(frozen=True, slots=True)
class Offer:
    """Offer ``chat_id`` to ``username``; ``match`` says how well their skills fit."""

    chat_id: str
    username: str
    match: Match

    def pending(self, offered_ms: int) -> PendingOffer:
        """The pending offer to keep once this offer has been sent at ``offered_ms``."""
        return PendingOffer(self.chat_id, self.username, offered_ms)


@dataclass(frozen=True, slots=True)
class Assign:
    """Give ``chat_id`` to ``username`` at once (they auto-accept offers)."""

    chat_id: str
    username: str
    match: Match


@dataclass(frozen=True, slots=True)
class PauseCounsellor:
    """Set ``username``'s presence to paused: they let an offer run out."""

    username: str
    reason: Literal["offer_timeout"] = "offer_timeout"


@dataclass(frozen=True, slots=True)
class BackupAlert:
    """The longest wait has reached the backup threshold: call in the backup counsellors."""

    longest_wait_s: int


Decision: TypeAlias = Offer | Assign | PauseCounsellor | BackupAlert


@dataclass(slots=True)
class _Slot:
    """A counsellor during one round, with the load given to them so far."""

    counsellor: RoutingCounsellor
    taken: int = 0

    @property
    def has_room(self) -> bool:
        load = self.counsellor.load
        return (
            load.presence is Presence.AVAILABLE and load.capacity > 0 and self.taken < load.capacity
        )


def longest_wait_ms(waiting: Collection[QueuedChat], now_ms: int) -> int:
    """How long the oldest waiting chat has waited (0 for an empty queue, never negative)."""
    if not waiting:
        return 0
    return max(0, now_ms - min(chat.enqueued_ms for chat in waiting))


def backup_tier_open(
    waiting: Collection[QueuedChat], now_ms: int, settings: RoutingSettings
) -> bool:
    """Whether the longest wait has reached ``backup_after_s`` (and so backups take chats)."""
    return bool(waiting) and longest_wait_ms(waiting, now_ms) >= settings.backup_after_s * 1000


def allowed_match(chat: QueuedChat, now_ms: int, settings: RoutingSettings) -> Match:
    """The loosest skill match the chat accepts after its wait so far (see rule 3)."""
    waited_ms = max(0, now_ms - chat.enqueued_ms)
    relax_ms = settings.relax_after_s * 1000
    if waited_ms >= 2 * relax_ms:
        return "any"
    if waited_ms >= relax_ms:
        return "language"
    return "exact"


def skill_match(chat: QueuedChat, counsellor: CounsellorLoad) -> Match:
    """How well the counsellor's skills fit the chat; empty chat fields fit everybody."""
    language_fits = not chat.language or chat.language in counsellor.languages
    topic_fits = not chat.topic or chat.topic in counsellor.topics
    if language_fits and topic_fits:
        return "exact"
    return "language" if language_fits else "any"


def route(
    waiting: Sequence[QueuedChat],
    counsellors: Sequence[RoutingCounsellor],
    pending: Sequence[PendingOffer],
    now_ms: int,
    settings: RoutingSettings = RoutingSettings(),
    *,
    excluded: Mapping[str, Collection[str]] | None = None,
    backup_alerted: bool = False,
) -> list[Decision]:
    """One routing round: the offers and assignments to make now (see the module docstring).

    ``excluded`` maps a chat id to the usernames that let its offer time out or declined it.
    A :class:`BackupAlert` comes first when the backup tier is open and ``backup_alerted`` is
    false; the caller remembers that it alerted and resets the flag once
    :func:`backup_tier_open` is false again, so each crossing alerts once.

    The round never gives one chat twice, never gives a chat that has a pending offer, and never
    takes a counsellor beyond capacity. Raises ValueError on duplicate chat ids or usernames.
    """
    _require_unique([chat.chat_id for chat in waiting], "chat id")
    _require_unique([c.username for c in counsellors], "username")
    slots = [_Slot(c, c.load.active_chats) for c in counsellors]
    by_username = {slot.counsellor.username: slot for slot in slots}
    for offer in pending:
        if offer.username in by_username:
            by_username[offer.username].taken += 1
    offered_chat_ids = {offer.chat_id for offer in pending}
    exclusions = excluded or {}
    tier_open = backup_tier_open(waiting, now_ms, settings)

    decisions: list[Decision] = []
    if tier_open and not backup_alerted:
        decisions.append(BackupAlert(longest_wait_ms(waiting, now_ms) // 1000))
    for chat in order_queue(waiting):
        if chat.chat_id in offered_chat_ids:
            continue
        loosest = MATCH_RANK[allowed_match(chat, now_ms, settings)]
        candidates = [
            slot
            for slot in slots
            if slot.has_room
            and (tier_open or not slot.counsellor.load.backup)
            and MATCH_RANK[skill_match(chat, slot.counsellor.load)] <= loosest
        ]
        excluded_here = exclusions.get(chat.chat_id, ())
        preferred = [s for s in candidates if s.counsellor.username not in excluded_here]
        chosen_from = preferred or candidates
        if not chosen_from:
            continue
        best = min(chosen_from, key=lambda slot: _preference(chat, slot))
        best.taken += 1
        match = skill_match(chat, best.counsellor.load)
        kind = Assign if best.counsellor.auto_accept else Offer
        decisions.append(kind(chat.chat_id, best.counsellor.username, match))
    return decisions


def _room_by_counsellor(
    counsellors: Sequence[RoutingCounsellor],
    pending: Sequence[PendingOffer],
    decisions: Sequence[Decision],
    tier_open: bool,
) -> dict[str, int]:
    taken = Counter(offer.username for offer in pending)
    taken.update(d.username for d in decisions if isinstance(d, Offer | Assign))
    return {
        c.username: c.load.capacity - c.load.active_chats - taken[c.username]
        for c in counsellors
        if c.load.presence is Presence.AVAILABLE and (tier_open or not c.load.backup)
        and c.load.capacity - c.load.active_chats - taken[c.username] > 0
    }  # fmt: skip


def room_left(
    counsellors: Sequence[RoutingCounsellor],
    pending: Sequence[PendingOffer],
    decisions: Sequence[Decision] = (),
    *,
    tier_open: bool,
) -> int:
    """The chats counsellors who may take chats in this round (available, and not a backup
    while the tier is closed) could still be given after ``pending`` and ``decisions``. Above
    zero after a round: nothing the round saw fitted them, so chats further down might."""
    return sum(_room_by_counsellor(counsellors, pending, decisions, tier_open).values())


def fits_someone_with_room(
    chats: Iterable[QueuedChat],
    counsellors: Sequence[RoutingCounsellor],
    pending: Sequence[PendingOffer],
    decisions: Sequence[Decision],
    now_ms: int,
    settings: RoutingSettings = RoutingSettings(),
    *,
    tier_open: bool,
) -> bool:
    """Whether a round that also saw ``chats`` could give one of them to a counsellor with
    room left after ``decisions``: some chat's skills fit such a counsellor within the match
    its wait allows (rule 3). Exclusions (rule 5) never forbid a counsellor and pending offers
    only take chats away, so False means a wider round would give none of ``chats`` out.
    Linear in the chats: only the longest-waiting chat of each (language, topic) counts."""
    room = _room_by_counsellor(counsellors, pending, decisions, tier_open)
    if not room:
        return False
    oldest: dict[tuple[str, str], QueuedChat] = {}
    for chat in chats:
        key = (chat.language, chat.topic)
        if key not in oldest or chat.enqueued_ms < oldest[key].enqueued_ms:
            oldest[key] = chat
    with_room = [c.load for c in counsellors if c.username in room]
    return any(
        MATCH_RANK[skill_match(chat, load)] <= MATCH_RANK[allowed_match(chat, now_ms, settings)]
        for chat in oldest.values()
        for load in with_room
    )


def _preference(chat: QueuedChat, slot: _Slot) -> tuple[bool, int, Fraction, int, str]:
    """Sort key of a candidate for ``chat``: lower is better (rule 6)."""
    load = slot.counsellor.load
    return (
        load.backup,
        MATCH_RANK[skill_match(chat, load)],
        Fraction(slot.taken, load.capacity),  # has_room guarantees capacity > 0
        load.idle_since_ms,
        load.username,
    )


def _require_unique(keys: Sequence[str], what: str) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate {what} in routing input")


def expire_offers(
    offers: Sequence[PendingOffer], now_ms: int, timeout_s: int = OFFER_TIMEOUT_S
) -> tuple[list[PendingOffer], list[PendingOffer]]:
    """Split offers into (still pending, expired); an offer expires ``timeout_s`` after it was
    made (at exactly that moment included). Order within each list is kept."""
    timeout_ms = timeout_s * 1000
    still_pending = [o for o in offers if now_ms - o.offered_ms < timeout_ms]
    expired = [o for o in offers if now_ms - o.offered_ms >= timeout_ms]
    return still_pending, expired


def pauses_for(expired: Sequence[PendingOffer]) -> list[PauseCounsellor]:
    """One :class:`PauseCounsellor` per counsellor who let an offer expire, in first-seen order."""
    usernames = dict.fromkeys(offer.username for offer in expired)
    return [PauseCounsellor(username) for username in usernames]


def exclude_timed_out(
    excluded: Mapping[str, Collection[str]], expired: Sequence[PendingOffer]
) -> dict[str, frozenset[str]]:
    """The exclusion sets after ``expired``: each chat also excludes whoever let it expire.

    The caller drops a chat's set when the chat leaves the queue. Declines are recorded the
    same way (pass the declined offer as if it had expired).
    """
    updated = {chat_id: frozenset(usernames) for chat_id, usernames in excluded.items()}
    for offer in expired:
        updated[offer.chat_id] = updated.get(offer.chat_id, frozenset()) | {offer.username}
    return updated
