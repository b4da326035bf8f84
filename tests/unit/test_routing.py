"""Unit tests of the routing rules, each with an explicit ``now_ms``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chat_server.domain import estimate, routing
from chat_server.domain.models import CounsellorLoad, Presence, QueuedChat
from chat_server.domain.routing import (
    Assign,
    BackupAlert,
    Offer,
    PauseCounsellor,
    PendingOffer,
    RoutingCounsellor,
    RoutingSettings,
    exclude_timed_out,
    expire_offers,
    pauses_for,
    route,
)

NOW_MS = 1_000_000_000
SECOND_MS = 1000


def chat(
    chat_id: str, waited_s: float = 0, *, urgent: bool = False, topic: str = "", language: str = ""
) -> QueuedChat:
    return QueuedChat(chat_id, NOW_MS - int(waited_s * SECOND_MS), urgent, topic, language)


def counsellor(
    username: str,
    *,
    active: int = 0,
    capacity: int = 2,
    languages: tuple[str, ...] = ("sv",),
    topics: tuple[str, ...] = (),
    backup: bool = False,
    idle_since_ms: int = 0,
    presence: Presence = Presence.AVAILABLE,
    auto_accept: bool = False,
) -> RoutingCounsellor:
    load = CounsellorLoad(
        username, presence, active, capacity, languages, topics, backup, idle_since_ms
    )
    return RoutingCounsellor(load, auto_accept)


def test_urgent_chat_is_served_before_an_older_normal_chat() -> None:
    """With room for one chat, the urgent one gets it although the other waited longer."""
    decisions = route(
        [chat("old", 50), chat("urgent", 5, urgent=True)],
        [counsellor("anna", capacity=1)],
        [],
        NOW_MS,
    )
    assert decisions == [Offer("urgent", "anna", "exact")]


def test_longest_waiting_chat_is_served_first() -> None:
    """Among normal chats the one that waited longest is offered first."""
    decisions = route(
        [chat("new", 5), chat("old", 40)], [counsellor("anna", capacity=1)], [], NOW_MS
    )
    assert decisions == [Offer("old", "anna", "exact")]


def test_chat_goes_to_a_counsellor_speaking_its_language() -> None:
    """A chat in Arabic is offered to the Arabic speaker, not the idler Swedish speaker."""
    counsellors = [
        counsellor("anna", idle_since_ms=0),
        counsellor("bilal", languages=("sv", "ar"), idle_since_ms=500),
    ]
    decisions = route([chat("c1", language="ar")], counsellors, [], NOW_MS)
    assert decisions == [Offer("c1", "bilal", "exact")]


def test_chat_goes_to_a_counsellor_knowing_its_topic() -> None:
    """A chat about honour-related violence is offered to the counsellor with that topic."""
    counsellors = [counsellor("anna"), counsellor("bea", topics=("honour",))]
    decisions = route([chat("c1", topic="honour")], counsellors, [], NOW_MS)
    assert decisions == [Offer("c1", "bea", "exact")]


def test_no_offer_without_a_skill_match_before_relaxation() -> None:
    """Before relax_after_s a chat waits rather than go to a counsellor lacking the skills."""
    decisions = route(
        [chat("c1", 59.999, topic="honour", language="ar")], [counsellor("anna")], [], NOW_MS
    )
    assert decisions == []


def test_empty_language_and_topic_match_anyone() -> None:
    """A chat without language or topic is an exact match for every counsellor."""
    decisions = route([chat("c1")], [counsellor("anna", languages=(), topics=())], [], NOW_MS)
    assert decisions == [Offer("c1", "anna", "exact")]


def test_topic_requirement_is_dropped_first_after_relax_after_s() -> None:
    """After relax_after_s the topic no longer matters but the language still does."""
    counsellors = [counsellor("anna"), counsellor("bilal", languages=("ar",))]
    waiting = [chat("c1", 60, topic="honour", language="ar")]
    assert route(waiting, counsellors, [], NOW_MS) == [Offer("c1", "bilal", "language")]
    assert route(waiting, [counsellors[0]], [], NOW_MS) == []


def test_language_requirement_is_dropped_after_twice_relax_after_s() -> None:
    """After 2 × relax_after_s any counsellor with room may take the chat."""
    waiting = [chat("c1", 119.999, topic="honour", language="ar")]
    assert route(waiting, [counsellor("anna")], [], NOW_MS) == []
    waiting = [chat("c1", 120, topic="honour", language="ar")]
    decisions = route(waiting, [counsellor("anna")], [], NOW_MS, backup_alerted=True)
    assert decisions == [Offer("c1", "anna", "any")]


def test_relaxation_follows_the_configured_relax_after_s() -> None:
    """A shorter relax_after_s relaxes skills sooner."""
    settings = RoutingSettings(relax_after_s=10)
    decisions = route([chat("c1", 20, language="ar")], [counsellor("anna")], [], NOW_MS, settings)
    assert decisions == [Offer("c1", "anna", "any")]


def test_relaxed_chat_still_prefers_the_best_skill_match() -> None:
    """After relaxation an exact match is preferred even when busier than a weaker match."""
    counsellors = [
        counsellor("anna", active=1, capacity=2, topics=("honour",)),
        counsellor("bea", capacity=2),
    ]
    decisions = route(
        [chat("c1", 100, topic="honour")], counsellors, [], NOW_MS, RoutingSettings(relax_after_s=1)
    )
    assert decisions == [Offer("c1", "anna", "exact")]


def test_tie_goes_to_the_least_loaded_counsellor() -> None:
    """Between equal skill matches the counsellor with fewer chats and offers wins."""
    counsellors = [
        counsellor("anna", active=1, capacity=3, idle_since_ms=0),
        counsellor("bea", active=0, capacity=3, idle_since_ms=900),
    ]
    assert route([chat("c1")], counsellors, [], NOW_MS) == [Offer("c1", "bea", "exact")]


def test_load_is_compared_as_a_share_of_capacity() -> None:
    """Load is a share of capacity: 1 of 4 beats 1 of 2; 2 of 4 ties with 1 of 2 (idle decides)."""
    counsellors = [
        counsellor("anna", active=1, capacity=2, idle_since_ms=0),
        counsellor("bea", active=1, capacity=4, idle_since_ms=900),
    ]
    assert route([chat("c1")], counsellors, [], NOW_MS) == [Offer("c1", "bea", "exact")]
    counsellors = [
        counsellor("anna", active=1, capacity=2, idle_since_ms=0),
        counsellor("bea", active=2, capacity=4, idle_since_ms=900),
    ]
    assert route([chat("c1")], counsellors, [], NOW_MS) == [Offer("c1", "anna", "exact")]


def test_equal_load_goes_to_the_longest_idle_counsellor() -> None:
    """With equal load the counsellor idle since the earliest moment wins."""
    counsellors = [
        counsellor("anna", idle_since_ms=NOW_MS - 10),
        counsellor("bea", idle_since_ms=NOW_MS - 5000),
    ]
    assert route([chat("c1")], counsellors, [], NOW_MS) == [Offer("c1", "bea", "exact")]


def test_full_tie_goes_to_the_first_username() -> None:
    """When everything else is equal the username decides, whatever the input order."""
    counsellors = [counsellor("bea"), counsellor("anna")]
    assert route([chat("c1")], counsellors, [], NOW_MS) == [Offer("c1", "anna", "exact")]


def test_counsellor_at_capacity_gets_no_offer() -> None:
    """Active chats plus pending offers equal to capacity leave no room."""
    counsellors = [counsellor("anna", active=1, capacity=2)]
    pending = [PendingOffer("other", "anna", NOW_MS)]
    assert route([chat("c1")], counsellors, pending, NOW_MS) == []


def test_one_round_fills_capacity_and_no_more() -> None:
    """Five chats for two counsellors of capacity two: four offers, two each."""
    waiting = [chat(f"c{i}", 50 - i) for i in range(5)]
    decisions = route(waiting, [counsellor("anna"), counsellor("bea")], [], NOW_MS)
    assert decisions == [
        Offer("c0", "anna", "exact"),
        Offer("c1", "bea", "exact"),
        Offer("c2", "anna", "exact"),
        Offer("c3", "bea", "exact"),
    ]


@pytest.mark.parametrize("presence", [Presence.PAUSED, Presence.OFFLINE])
def test_paused_or_offline_counsellor_gets_no_offer(presence: Presence) -> None:
    """Only available counsellors are offered chats."""
    assert route([chat("c1")], [counsellor("anna", presence=presence)], [], NOW_MS) == []


def test_chat_with_a_pending_offer_gets_no_new_offer() -> None:
    """A chat is offered to one counsellor at a time."""
    pending = [PendingOffer("c1", "anna", NOW_MS - 5 * SECOND_MS)]
    decisions = route(
        [chat("c1", 40), chat("c2", 10)], [counsellor("anna"), counsellor("bea")], pending, NOW_MS
    )
    assert decisions == [Offer("c2", "bea", "exact")]


def test_offer_expires_exactly_at_the_timeout() -> None:
    """An offer is pending until offer_timeout_s has passed and expired from then on."""
    young = PendingOffer("c1", "anna", NOW_MS - 29_999)
    old = PendingOffer("c2", "bea", NOW_MS - 30_000)
    assert expire_offers([young, old], NOW_MS, 30) == ([young], [old])


def test_expired_offer_pauses_its_counsellor_once() -> None:
    """Each counsellor who let offers expire gets one pause decision with the reason."""
    expired = [
        PendingOffer("c1", "anna", 0),
        PendingOffer("c2", "anna", 0),
        PendingOffer("c3", "bea", 0),
    ]
    assert pauses_for(expired) == [
        PauseCounsellor("anna", "offer_timeout"),
        PauseCounsellor("bea", "offer_timeout"),
    ]


def test_exclude_timed_out_adds_the_counsellor_to_the_chat() -> None:
    """The counsellor who let a chat's offer expire joins that chat's exclusion set."""
    excluded = exclude_timed_out(
        {"c1": {"bea"}}, [PendingOffer("c1", "anna", 0), PendingOffer("c2", "anna", 0)]
    )
    assert excluded == {"c1": frozenset({"anna", "bea"}), "c2": frozenset({"anna"})}


def test_excluded_counsellor_is_passed_over_when_someone_else_can_take() -> None:
    """After a timeout the chat goes to another counsellor, though busier."""
    counsellors = [counsellor("anna"), counsellor("bea", active=1)]
    decisions = route([chat("c1")], counsellors, [], NOW_MS, excluded={"c1": {"anna"}})
    assert decisions == [Offer("c1", "bea", "exact")]


def test_excluded_counsellor_is_retried_when_nobody_else_can_take() -> None:
    """If only excluded counsellors have room the chat is offered to them again."""
    counsellors = [counsellor("anna"), counsellor("bea", active=2)]
    decisions = route([chat("c1")], counsellors, [], NOW_MS, excluded={"c1": {"anna"}})
    assert decisions == [Offer("c1", "anna", "exact")]


def test_auto_accept_counsellor_is_assigned_directly() -> None:
    """A counsellor with auto-accept gets an Assign decision instead of an Offer."""
    decisions = route([chat("c1"), chat("c2")], [counsellor("anna", auto_accept=True)], [], NOW_MS)
    assert decisions == [Assign("c1", "anna", "exact"), Assign("c2", "anna", "exact")]


def test_backup_counsellor_gets_no_offer_before_the_threshold() -> None:
    """Backups stay in reserve while the longest wait is under backup_after_s."""
    decisions = route([chat("c1", 119.999)], [counsellor("bo", backup=True)], [], NOW_MS)
    assert decisions == []


def test_backup_counsellor_is_offered_chats_and_alerted_after_the_threshold() -> None:
    """Once the longest wait reaches backup_after_s an alert comes first, then the offer."""
    decisions = route([chat("c1", 125.5)], [counsellor("bo", backup=True)], [], NOW_MS)
    assert decisions == [BackupAlert(125), Offer("c1", "bo", "exact")]


def test_backup_alert_is_not_repeated_once_alerted() -> None:
    """With backup_alerted the caller has already alerted; backups still get offers."""
    decisions = route(
        [chat("c1", 130)], [counsellor("bo", backup=True)], [], NOW_MS, backup_alerted=True
    )
    assert decisions == [Offer("c1", "bo", "exact")]


def test_backup_threshold_counts_chats_with_pending_offers() -> None:
    """The longest wait includes an old chat that is already offered to someone."""
    pending = [PendingOffer("old", "anna", NOW_MS)]
    decisions = route(
        [chat("old", 130), chat("new", 1)],
        [counsellor("anna", capacity=1), counsellor("bo", backup=True)],
        pending,
        NOW_MS,
    )
    assert decisions == [BackupAlert(130), Offer("new", "bo", "exact")]


def test_regular_counsellor_is_preferred_to_a_backup_when_the_tier_is_open() -> None:
    """Backups are the reserve: a regular counsellor with room still comes first."""
    counsellors = [counsellor("anna", active=1), counsellor("bo", backup=True)]
    decisions = route([chat("c1", 130)], counsellors, [], NOW_MS, backup_alerted=True)
    assert decisions == [Offer("c1", "anna", "exact")]


def test_offer_becomes_a_pending_offer_at_the_time_sent() -> None:
    """Offer.pending keeps the chat, the counsellor and the moment the offer was made."""
    assert Offer("c1", "anna", "any").pending(NOW_MS) == PendingOffer("c1", "anna", NOW_MS)


def test_duplicate_inputs_are_rejected() -> None:
    """Duplicate chat ids or usernames are a caller bug and raise ValueError."""
    with pytest.raises(ValueError, match="chat id"):
        route([chat("c1"), chat("c1")], [counsellor("anna")], [], NOW_MS)
    with pytest.raises(ValueError, match="username"):
        route([chat("c1")], [counsellor("anna"), counsellor("anna")], [], NOW_MS)


def test_negative_settings_are_rejected() -> None:
    """A negative timing makes no sense and raises ValueError."""
    with pytest.raises(ValueError, match="offer_timeout_s"):
        RoutingSettings(offer_timeout_s=-1)


@pytest.mark.parametrize("module", [routing, estimate])
def test_rules_import_nothing_that_does_io(module: object) -> None:
    """The pure rules import no aiohttp, redis or asyncio."""
    source = Path(str(getattr(module, "__file__", ""))).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
    assert imported.isdisjoint({"aiohttp", "redis", "asyncio", "time", "random"})
