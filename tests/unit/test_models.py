"""Unit tests of the chat and counsellor models: who may post, visitor aliases, room to take."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat_server.domain.models import (
    DEFAULT_CAPACITY,
    ChatState,
    CounsellorLoad,
    Presence,
    Role,
    Sender,
    StaffAccount,
    can_post,
    visitor_alias,
)

ALIAS_PREFIX = "Besökare "


@pytest.mark.parametrize(
    ("state", "sender", "allowed"),
    [
        (ChatState.WAITING, Sender.VISITOR, True),
        (ChatState.ACTIVE, Sender.VISITOR, True),
        (ChatState.WAITING, Sender.COUNSELLOR, False),
        (ChatState.ACTIVE, Sender.COUNSELLOR, True),
        (ChatState.WAITING, Sender.SYSTEM, True),
        (ChatState.ACTIVE, Sender.SYSTEM, True),
    ],
)
def test_can_post(state: ChatState, sender: Sender, allowed: bool) -> None:
    """Visitors write while waiting or active; counsellors only once active; the system always."""
    assert can_post(state, sender) is allowed


def test_alias_from_chat_id() -> None:
    """The alias is "Besökare" and the first two alphanumerics of the chat id, upper-cased."""
    assert visitor_alias("4f9c2e71b0") == "Besökare 4F"
    assert visitor_alias("-_x-y_z") == "Besökare XY"


def test_alias_is_deterministic() -> None:
    """The same chat id always gives the same alias."""
    assert visitor_alias("a1b2c3") == visitor_alias("a1b2c3")


def test_alias_without_alphanumerics_falls_back() -> None:
    """A chat id with no letters or digits still yields an alias."""
    assert visitor_alias("") == "Besökare 00"
    assert visitor_alias("--__") == "Besökare 00"


def test_alias_differs_between_chats() -> None:
    """Different chat ids usually give different aliases, so a counsellor can tell chats apart."""
    assert visitor_alias("ab12") != visitor_alias("cd34")


@given(st.text(max_size=80))
def test_alias_never_reveals_more_than_two_characters(chat_id: str) -> None:
    """Whatever the chat id, the alias adds at most two characters to the fixed prefix."""
    alias = visitor_alias(chat_id)
    assert alias.startswith(ALIAS_PREFIX)
    suffix = alias.removeprefix(ALIAS_PREFIX)
    assert 1 <= len(suffix) <= 2
    assert alias == visitor_alias(chat_id)


def load(presence: Presence, active: int, capacity: int = DEFAULT_CAPACITY) -> CounsellorLoad:
    return CounsellorLoad("anna", presence, active_chats=active, capacity=capacity)


def test_has_room_when_available_below_capacity() -> None:
    """An available counsellor below capacity has room."""
    assert load(Presence.AVAILABLE, 0).has_room
    assert load(Presence.AVAILABLE, DEFAULT_CAPACITY - 1).has_room


def test_no_room_at_or_over_capacity() -> None:
    """At (or somehow above) capacity there is no room."""
    assert not load(Presence.AVAILABLE, DEFAULT_CAPACITY).has_room
    assert not load(Presence.AVAILABLE, DEFAULT_CAPACITY + 1).has_room
    assert not load(Presence.AVAILABLE, 0, capacity=0).has_room


@pytest.mark.parametrize("presence", [Presence.PAUSED, Presence.OFFLINE])
def test_no_room_unless_available(presence: Presence) -> None:
    """A paused or offline counsellor has no room, however few chats they have."""
    assert not load(presence, 0).has_room


def test_staff_account_shown_name() -> None:
    """The console shows the display name, or the username when there is none."""
    assert StaffAccount("anna", "h", display_name="Anna L").shown_name == "Anna L"
    assert StaffAccount("anna", "h").shown_name == "anna"
    assert StaffAccount("anna", "h").role is Role.COUNSELLOR
