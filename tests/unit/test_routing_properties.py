"""Property and stateful tests of the routing rules over random queues and counsellors."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from chat_server.domain.models import CounsellorLoad, Presence, QueuedChat
from chat_server.domain.routing import (
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
    pauses_for,
    route,
    skill_match,
)

NOW_MS = 1_000_000_000
SETTINGS = RoutingSettings()
USERNAMES = ["anna", "bea", "bilal", "bo", "dana"]
LANGUAGES = st.sampled_from(["", "sv", "ar"])
TOPICS = st.sampled_from(["", "honour", "elder"])

# Presence is mostly "available" so that rounds have work to do.
PRESENCES = st.sampled_from([Presence.AVAILABLE] * 3 + [Presence.PAUSED, Presence.OFFLINE])


def counsellor_lists(
    min_size: int = 0, max_size: int = 5
) -> st.SearchStrategy[list[RoutingCounsellor]]:
    """Counsellors with distinct usernames (drawn by position, so lists are not cut short)."""
    counsellor = st.builds(
        RoutingCounsellor,
        load=st.builds(
            CounsellorLoad,
            username=st.just(""),
            presence=PRESENCES,
            active_chats=st.integers(0, 1),
            capacity=st.integers(0, 3),
            languages=st.lists(st.sampled_from(["sv", "ar"]), unique=True).map(tuple),
            topics=st.lists(st.sampled_from(["honour", "elder"]), unique=True).map(tuple),
            backup=st.booleans(),
            idle_since_ms=st.integers(NOW_MS - 10**6, NOW_MS),
        ),
        auto_accept=st.booleans(),
    )
    return st.lists(counsellor, min_size=min_size, max_size=max_size).map(
        lambda staff: [
            replace(c, load=replace(c.load, username=name))
            for c, name in zip(staff, USERNAMES, strict=False)
        ]
    )


def chat_lists(longest_wait_ms: int) -> st.SearchStrategy[list[QueuedChat]]:
    """Up to eight waiting chats with distinct ids, enqueued within ``longest_wait_ms``."""
    chat = st.builds(
        QueuedChat,
        chat_id=st.just(""),
        enqueued_ms=st.integers(NOW_MS - longest_wait_ms, NOW_MS),
        urgent=st.booleans(),
        topic=TOPICS,
        language=LANGUAGES,
    )
    return st.lists(chat, max_size=8).map(
        lambda chats: [replace(c, chat_id=f"c{i}") for i, c in enumerate(chats)]
    )


RoutingInputs = tuple[
    list[QueuedChat], list[RoutingCounsellor], list[PendingOffer], dict[str, set[str]]
]


# The longest possible wait falls in each relaxation step and on both sides of the backup
# threshold, so that every rule is exercised. Strategies are built once: building is slow.
WAITING_CHATS = st.one_of([chat_lists(ms) for ms in (30_000, 90_000, 150_000, 300_000)])
STAFF = counsellor_lists()
ANY_USERNAME = st.sampled_from(USERNAMES)
EXCLUDED_USERNAMES = st.lists(st.sampled_from(USERNAMES[:3]), max_size=2)


@st.composite
def routing_inputs(draw: st.DrawFn) -> RoutingInputs:
    waiting = draw(WAITING_CHATS)
    counsellors = draw(STAFF)
    chat_ids = [c.chat_id for c in waiting]
    offered = [cid for cid in chat_ids if draw(st.booleans())]
    pending = [PendingOffer(cid, draw(ANY_USERNAME), NOW_MS) for cid in offered]
    excluded = {cid: set(draw(EXCLUDED_USERNAMES)) for cid in chat_ids}
    return waiting, counsellors, pending, excluded


def eligible(c: RoutingCounsellor, chat: QueuedChat, tier_open: bool) -> bool:
    """The rules restated independently: presence, backup tier and relaxed skills (not room)."""
    waited_steps = (NOW_MS - chat.enqueued_ms) // (SETTINGS.relax_after_s * 1000)
    language_fits = not chat.language or chat.language in c.load.languages
    topic_fits = not chat.topic or chat.topic in c.load.topics
    skills_fit = waited_steps >= 2 or (language_fits and (waited_steps == 1 or topic_fits))
    return c.load.presence is Presence.AVAILABLE and (tier_open or not c.load.backup) and skills_fit


def given_out(decisions: list[Decision]) -> list[Offer | Assign]:
    return [d for d in decisions if isinstance(d, Offer | Assign)]


def room_left(inputs: RoutingInputs, decisions: list[Decision]) -> dict[str, int]:
    """Each counsellor's free slots after the decisions (negative if over capacity)."""
    _, counsellors, pending, _ = inputs
    taken = Counter([o.username for o in pending] + [d.username for d in given_out(decisions)])
    return {
        c.username: c.load.capacity - c.load.active_chats - taken[c.username] for c in counsellors
    }


def check_each_chat_given_once_within_capacity(
    inputs: RoutingInputs, decisions: list[Decision]
) -> None:
    waiting, _, pending, _ = inputs
    chat_ids = [d.chat_id for d in given_out(decisions)]
    assert len(set(chat_ids)) == len(chat_ids)
    assert set(chat_ids) <= {c.chat_id for c in waiting} - {o.chat_id for o in pending}
    room_before = room_left(inputs, [])
    for username, room in room_left(inputs, decisions).items():
        assert room >= min(0, room_before[username])


def check_only_eligible_counsellors(inputs: RoutingInputs, decisions: list[Decision]) -> None:
    waiting, counsellors, _, _ = inputs
    tier_open = backup_tier_open(waiting, NOW_MS, SETTINGS)
    chats = {c.chat_id: c for c in waiting}
    by_name = {c.username: c for c in counsellors}
    for decision in given_out(decisions):
        chat, chosen = chats[decision.chat_id], by_name[decision.username]
        assert eligible(chosen, chat, tier_open)
        assert decision.match == skill_match(chat, chosen.load)
        assert isinstance(decision, Assign) == chosen.auto_accept


def check_no_chat_waits_beside_a_free_counsellor(
    inputs: RoutingInputs, decisions: list[Decision]
) -> None:
    waiting, counsellors, pending, _ = inputs
    tier_open = backup_tier_open(waiting, NOW_MS, SETTINGS)
    room = room_left(inputs, decisions)
    served = {o.chat_id for o in pending} | {d.chat_id for d in given_out(decisions)}
    for chat in waiting:
        if chat.chat_id not in served:
            free = [c for c in counsellors if eligible(c, chat, tier_open) and room[c.username] > 0]
            assert free == []


def check_excluded_counsellors_only_as_last_resort(
    inputs: RoutingInputs, decisions: list[Decision]
) -> None:
    waiting, counsellors, _, excluded = inputs
    tier_open = backup_tier_open(waiting, NOW_MS, SETTINGS)
    chats = {c.chat_id: c for c in waiting}
    room = room_left(inputs, decisions)
    for decision in given_out(decisions):
        passed_over = excluded[decision.chat_id]
        if decision.username in passed_over:
            others = [
                c.username
                for c in counsellors
                if c.username not in passed_over
                and eligible(c, chats[decision.chat_id], tier_open)
                and room[c.username] > 0
            ]
            assert others == []


def check_backup_alert_first_and_only_when_due(
    inputs: RoutingInputs, decisions: list[Decision], backup_alerted: bool
) -> None:
    due = backup_tier_open(inputs[0], NOW_MS, SETTINGS) and not backup_alerted
    alerts = [d for d in decisions if isinstance(d, BackupAlert)]
    assert alerts == (decisions[:1] if due else [])


@settings(max_examples=200, deadline=None)
@given(routing_inputs(), st.booleans())
def test_a_round_respects_every_rule(inputs: RoutingInputs, backup_alerted: bool) -> None:
    """A round gives chats once, within capacity, to eligible counsellors, leaving none behind."""
    waiting, counsellors, pending, excluded = inputs
    decisions = route(
        waiting,
        counsellors,
        pending,
        NOW_MS,
        SETTINGS,
        excluded=excluded,
        backup_alerted=backup_alerted,
    )
    check_each_chat_given_once_within_capacity(inputs, decisions)
    check_only_eligible_counsellors(inputs, decisions)
    check_no_chat_waits_beside_a_free_counsellor(inputs, decisions)
    check_excluded_counsellors_only_as_last_resort(inputs, decisions)
    check_backup_alert_first_and_only_when_due(inputs, decisions, backup_alerted)


@settings(max_examples=100, deadline=None)
@given(routing_inputs())
def test_exclusion_moves_a_chat_to_anyone_else_able(inputs: RoutingInputs) -> None:
    """Excluding the chosen counsellor moves the chat to another one if any could take it."""
    waiting, counsellors, pending, _ = inputs
    first = given_out(route(waiting, counsellors, pending, NOW_MS, backup_alerted=True))[:1]
    if not first:
        return
    chat_id, chosen = first[0].chat_id, first[0].username
    # Nothing was given before this chat, so every counsellor still has the room it started with.
    chat = next(c for c in waiting if c.chat_id == chat_id)
    tier_open = backup_tier_open(waiting, NOW_MS, SETTINGS)
    room = room_left(inputs, [])
    someone_else = any(
        c.username != chosen and eligible(c, chat, tier_open) and room[c.username] > 0
        for c in counsellors
    )
    rerouted = given_out(
        route(
            waiting,
            counsellors,
            pending,
            NOW_MS,
            excluded={chat_id: {chosen}},
            backup_alerted=True,
        )
    )
    assert rerouted[0].chat_id == chat_id
    assert (rerouted[0].username != chosen) == someone_else


@settings(max_examples=50, deadline=None)
@given(routing_inputs(), st.randoms(use_true_random=False))
def test_a_round_does_not_depend_on_input_order(
    inputs: RoutingInputs, shuffler: random.Random
) -> None:
    """Shuffling the waiting chats and the counsellors gives the same decisions."""
    waiting, counsellors, pending, excluded = inputs
    expected = route(waiting, counsellors, pending, NOW_MS, excluded=excluded)
    shuffler.shuffle(waiting)
    shuffler.shuffle(counsellors)
    assert route(waiting, counsellors, pending, NOW_MS, excluded=excluded) == expected


@dataclass
class Desk:
    """A counsellor in the simulated service."""

    load: CounsellorLoad
    auto_accept: bool
    active: set[str] = field(default_factory=set)

    def routing_view(self) -> RoutingCounsellor:
        return RoutingCounsellor(
            replace(self.load, active_chats=len(self.active)), self.auto_accept
        )


class ChatService(RuleBasedStateMachine):
    """The routing rules driven by arrivals, accepts, declines, timeouts, ends and presence.

    Like the server, the service runs a routing round after every event.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now_ms = NOW_MS
        self.waiting: dict[str, QueuedChat] = {}
        self.desks: dict[str, Desk] = {}
        self.pending: list[PendingOffer] = []
        self.excluded: dict[str, frozenset[str]] = {}
        self.backup_alerted = False
        self.next_chat = 0

    # A small staff, so that timeouts and declines often leave only excluded counsellors.
    @initialize(staff=counsellor_lists(min_size=1, max_size=3))
    def open_the_service(self, staff: list[RoutingCounsellor]) -> None:
        for c in staff:
            self.desks[c.username] = Desk(replace(c.load, active_chats=0), c.auto_accept)
        self.routing_round()

    @rule(urgent=st.booleans(), topic=TOPICS, language=LANGUAGES)
    def visitor_arrives(self, urgent: bool, topic: str, language: str) -> None:
        chat_id = f"c{self.next_chat}"
        self.next_chat += 1
        self.waiting[chat_id] = QueuedChat(chat_id, self.now_ms, urgent, topic, language)
        self.routing_round()

    # Steps below and beyond the offer timeout, each relaxation step and the backup threshold.
    @rule(seconds=st.sampled_from([1, 10, 25, 35, 65, 125]))
    def time_passes(self, seconds: int) -> None:
        self.now_ms += seconds * 1000
        self.routing_round()

    def routing_round(self) -> None:
        self.pending, expired = expire_offers(self.pending, self.now_ms, SETTINGS.offer_timeout_s)
        for pause in pauses_for(expired):
            desk = self.desks[pause.username]
            desk.load = replace(desk.load, presence=Presence.PAUSED)
        self.excluded = exclude_timed_out(self.excluded, expired)
        waiting = list(self.waiting.values())
        tier_open = backup_tier_open(waiting, self.now_ms, SETTINGS)
        if not tier_open:
            self.backup_alerted = False
        decisions = route(
            waiting,
            [d.routing_view() for d in self.desks.values()],
            self.pending,
            self.now_ms,
            SETTINGS,
            excluded=self.excluded,
            backup_alerted=self.backup_alerted,
        )
        for decision in decisions:
            self.apply(decision)
        self.check_no_chat_left_behind(tier_open)

    def apply(self, decision: Decision) -> None:
        if isinstance(decision, BackupAlert):
            assert not self.backup_alerted
            self.backup_alerted = True
        elif isinstance(decision, Offer):
            assert all(o.chat_id != decision.chat_id for o in self.pending)
            self.pending.append(decision.pending(self.now_ms))
        elif isinstance(decision, Assign):
            self.take(decision.chat_id, decision.username)
        else:
            raise AssertionError(f"route made a {decision!r}")

    def check_no_chat_left_behind(self, tier_open: bool) -> None:
        """A chat that has waited past all relaxation is offered if any counsellor has room."""
        offered = {o.chat_id for o in self.pending}
        relaxed_ms = 2 * SETTINGS.relax_after_s * 1000
        left_behind = [
            c
            for cid, c in self.waiting.items()
            if cid not in offered and self.now_ms - c.enqueued_ms >= relaxed_ms
        ]
        if left_behind:
            with_room = [
                d.load.username
                for d in self.desks.values()
                if d.load.presence is Presence.AVAILABLE
                and (tier_open or not d.load.backup)
                and self.load_of(d.load.username) < d.load.capacity
            ]
            assert with_room == []

    def take(self, chat_id: str, username: str) -> None:
        assert chat_id in self.waiting
        del self.waiting[chat_id]
        self.excluded.pop(chat_id, None)
        self.desks[username].active.add(chat_id)

    def load_of(self, username: str) -> int:
        return len(self.desks[username].active) + sum(o.username == username for o in self.pending)

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), accepted=st.booleans())
    def counsellor_answers_an_offer(self, data: st.DataObject, accepted: bool) -> None:
        offer = data.draw(st.sampled_from(self.pending))
        self.pending.remove(offer)
        if accepted:
            self.take(offer.chat_id, offer.username)
        else:
            self.excluded = exclude_timed_out(self.excluded, [offer])
        self.routing_round()

    @precondition(lambda self: any(d.active for d in self.desks.values()))
    @rule(data=st.data())
    def chat_ends(self, data: st.DataObject) -> None:
        desk = data.draw(st.sampled_from([d for d in self.desks.values() if d.active]))
        desk.active.remove(data.draw(st.sampled_from(sorted(desk.active))))
        if not desk.active:
            desk.load = replace(desk.load, idle_since_ms=self.now_ms)
        self.routing_round()

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def visitor_leaves_the_queue(self, data: st.DataObject) -> None:
        chat_id = data.draw(st.sampled_from(sorted(self.waiting)))
        del self.waiting[chat_id]
        self.excluded.pop(chat_id, None)
        self.pending = [o for o in self.pending if o.chat_id != chat_id]
        self.routing_round()

    @rule(data=st.data(), presence=PRESENCES)
    def counsellor_sets_presence(self, data: st.DataObject, presence: Presence) -> None:
        desk = data.draw(
            st.sampled_from(sorted(self.desks.values(), key=lambda d: d.load.username))
        )
        desk.load = replace(desk.load, presence=presence)
        self.routing_round()

    @invariant()
    def each_chat_is_in_one_place(self) -> None:
        """No chat is offered twice, offered while active, or active with two counsellors."""
        offered = Counter(o.chat_id for o in self.pending)
        assert all(n == 1 for n in offered.values())
        assert set(offered) <= set(self.waiting)
        active = Counter(cid for d in self.desks.values() for cid in d.active)
        assert all(n == 1 for n in active.values())
        assert set(active).isdisjoint(self.waiting)

    @invariant()
    def no_counsellor_is_over_capacity(self) -> None:
        """Active chats plus pending offers never exceed a counsellor's capacity."""
        for username, desk in self.desks.items():
            assert self.load_of(username) <= max(desk.load.capacity, 0)


ChatService.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_chat_service = ChatService.TestCase
