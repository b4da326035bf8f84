"""The routing round's head window: the room left, and the check that lets a round stop at
its window without losing a match further down the queue."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_server.bench.plan import FULL, QUICK, with_spike_visitors
from chat_server.domain.models import Presence, QueuedChat
from chat_server.domain.queue import from_queue_score, queue_score
from chat_server.domain.routing import (
    Offer,
    PendingOffer,
    RoutingCounsellor,
    RoutingSettings,
    fits_someone_with_room,
    room_left,
    route,
)
from tests.unit.test_routing import NOW_MS, SECOND_MS, chat, counsellor

SETTINGS = RoutingSettings(relax_after_s=60, offer_timeout_s=30, backup_after_s=120)


def test_room_left_counts_offers_and_decisions_of_those_who_may_take_chats() -> None:
    """Held chats, pending offers and this round's decisions fill room; the paused and closed-
    tier backups have none."""
    team = [
        counsellor("anna", capacity=3, active=1),
        counsellor("bo", capacity=2),
        counsellor("cem", capacity=2, presence=Presence.PAUSED),
        counsellor("dag", capacity=2, backup=True),
    ]
    pending = [PendingOffer("c1", "anna", NOW_MS)]
    assert room_left(team, pending, tier_open=False) == 1 + 2
    assert room_left(team, pending, [Offer("c2", "bo", "exact")], tier_open=False) == 2
    assert room_left(team, pending, tier_open=True) == 1 + 2 + 2


def test_a_deeper_chat_fits_only_within_the_match_its_wait_allows() -> None:
    """A young Arabic chat fits nobody who speaks only Swedish; after 2 × relax it does."""
    team = [counsellor("anna", languages=("sv",))]
    young = chat("young", 10, language="ar")
    old = chat("old", 121, language="ar")
    assert not fits_someone_with_room([young], team, [], [], NOW_MS, SETTINGS, tier_open=False)
    assert fits_someone_with_room([young, old], team, [], [], NOW_MS, SETTINGS, tier_open=False)


def test_nobody_with_room_means_nothing_deeper_fits() -> None:
    """A counsellor whose room is taken by the round's decisions is not looked for further."""
    team = [counsellor("anna", capacity=1)]
    deep = [chat("deep", 5, language="sv")]
    assert fits_someone_with_room(deep, team, [], [], NOW_MS, SETTINGS, tier_open=False)
    taken = [Offer("head", "anna", "exact")]
    assert not fits_someone_with_room(deep, team, [], taken, NOW_MS, SETTINGS, tier_open=False)


LANGUAGES = st.sampled_from(["", "sv", "ar", "en"])
TOPICS = st.sampled_from(["", "honour", "violence_close"])


@st.composite
def queues(draw: st.DrawFn) -> list[QueuedChat]:
    count = draw(st.integers(0, 14))
    return [
        chat(f"c{i}", draw(st.integers(0, 200)), urgent=draw(st.booleans()),
             topic=draw(TOPICS), language=draw(LANGUAGES))
        for i in range(count)
    ]  # fmt: skip


@st.composite
def teams(draw: st.DrawFn) -> list[RoutingCounsellor]:
    count = draw(st.integers(1, 4))
    return [
        counsellor(f"u{i}", capacity=draw(st.integers(1, 3)), active=draw(st.integers(0, 2)),
                   languages=tuple(draw(st.sets(st.sampled_from(["sv", "ar", "en"]),
                                                min_size=1))),
                   topics=tuple(draw(st.sets(st.sampled_from(["honour", "violence_close"])))),
                   backup=draw(st.booleans()))
        for i in range(count)
    ]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(queue=queues(), team=teams(), cut=st.integers(0, 14))
def test_a_round_that_stops_at_its_window_gives_what_a_full_round_gives(
    queue: list[QueuedChat], team: list[RoutingCounsellor], cut: int
) -> None:
    """If nothing beyond the window fits someone with room, routing the whole queue makes
    exactly the decisions routing the window made."""
    ordered = sorted(queue, key=lambda c: (queue_score(c.enqueued_ms, c.urgent), c.chat_id))
    head, deeper = ordered[:cut], ordered[cut:]
    decisions = route(head, team, [], NOW_MS, SETTINGS)
    tier_open = any(NOW_MS - c.enqueued_ms >= SETTINGS.backup_after_s * SECOND_MS for c in head)
    if any(NOW_MS - c.enqueued_ms >= SETTINGS.backup_after_s * SECOND_MS for c in deeper):
        return  # the window decides the tier by its own longest wait: not this claim
    if not fits_someone_with_room(deeper, team, [], decisions, NOW_MS, SETTINGS,
                                  tier_open=tier_open):  # fmt: skip
        assert route(ordered, team, [], NOW_MS, SETTINGS) == decisions


@pytest.mark.parametrize("score", [0, 1_765_000_000_000, queue_score(1_765_000_000_000, True)])
def test_a_queue_score_gives_back_its_wait_and_urgency(score: int) -> None:
    """from_queue_score inverts queue_score."""
    enqueued_ms, urgent = from_queue_score(score)
    assert queue_score(enqueued_ms, urgent) == score and urgent == (score < 0)


def test_a_spike_of_another_size_keeps_the_arrival_rate() -> None:
    """--spike-visitors 1000: 12 s of arrivals (5,000 in 60 s), plateaus at 100 and 1,000."""
    plan = with_spike_visitors(FULL, 1000)
    assert plan.spike_arrival_s == pytest.approx(12.0)
    assert plan.spike_plateaus == (100, 1000)
    assert with_spike_visitors(QUICK, 150).spike_plateaus == (30, 100, 150)
    with pytest.raises(ValueError):
        with_spike_visitors(FULL, 0)
