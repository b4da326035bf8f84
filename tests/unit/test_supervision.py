"""Live supervision's pure rules: roles, the stored monitor, the frames, the audit fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chat_server.domain.audit import AuditEventError, build_event
from chat_server.domain.console_protocol import ChatRequest, parse_counsellor_message
from chat_server.domain.models import ChatEvent, Role, Sender
from chat_server.domain.protocol import ErrorCode, ProtocolError
from chat_server.domain.supervision import (
    JOINED_EVENT,
    LEFT_EVENT,
    Monitor,
    check_may_supervise,
    monitor_from_stored,
    monitors_frame_fields,
    monitors_in_order,
    refusal,
    supervisor_frame,
)

AT = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def test_only_supervisors_and_admins_supervise() -> None:
    """A counsellor is refused with supervisors_only; supervisor and admin pass."""
    check_may_supervise(Role.SUPERVISOR)
    check_may_supervise(Role.ADMIN)
    with pytest.raises(ProtocolError) as refused:
        check_may_supervise(Role.COUNSELLOR)
    assert refused.value.code == ErrorCode.SUPERVISORS_ONLY


def test_a_monitor_round_trips_and_the_earliest_comes_first() -> None:
    """The stored value reads back; monitors are ordered by when they began; a damaged
    value still names its user (the counsellor is never told less)."""
    sara = Monitor("sara", "Sara", joined=True, since_ms=2000)
    assert monitor_from_stored("sara", sara.stored()) == sara
    eva = Monitor("eva", "Eva", since_ms=1000)
    stored = {"sara": sara.stored(), "eva": eva.stored(), "kim": "{not json"}
    assert [m.user for m in monitors_in_order(stored)] == ["kim", "eva", "sara"]
    assert monitor_from_stored("kim", "{not json") == Monitor("kim", "kim")
    fields = monitors_frame_fields("c1", [sara])
    assert fields == {
        "chat_id": "c1",
        "monitors": [{"user": "sara", "name": "Sara", "joined": True}],
    }


def test_join_and_leave_events_become_supervisor_frames() -> None:
    """A stored join or leave is a ``supervisor`` frame (with chat_id for consoles); other
    events are not."""
    joined = ChatEvent(JOINED_EVENT, Sender.SYSTEM, ts_ms=5, seq=7)
    assert json.loads(supervisor_frame(joined) or "") == {
        "type": "supervisor", "seq": 7, "joined": True, "ts": 5,
    }  # fmt: skip
    left = ChatEvent(LEFT_EVENT, Sender.SYSTEM, ts_ms=6, seq=8)
    assert json.loads(supervisor_frame(left, chat_id="c1") or "")["joined"] is False
    assert supervisor_frame(ChatEvent("msg", Sender.SUPERVISOR, ts_ms=1, seq=9)) is None


def test_script_statuses_become_clear_errors() -> None:
    """Each refusal of the monitors scripts keeps its code; anything else is not_allowed_now."""
    for code in (ErrorCode.CHAT_NOT_FOUND, ErrorCode.NOT_MONITORING, ErrorCode.NOT_ALLOWED_NOW):
        assert refusal(code).code == code
    assert refusal("odd").code == ErrorCode.NOT_ALLOWED_NOW


def test_the_supervision_frames_parse_and_check_their_chat_id() -> None:
    """monitor, monitor_stop, join and leave need a valid chat id; chats_active needs none."""
    for kind in ("monitor", "monitor_stop", "join", "leave"):
        assert parse_counsellor_message({"type": kind, "chat_id": "ab12"}) == ChatRequest(
            kind, "ab12"
        )
        with pytest.raises(ProtocolError) as missing:
            parse_counsellor_message({"type": kind})
        assert missing.value.code == ErrorCode.MISSING_FIELD
    assert parse_counsellor_message({"type": "chats_active"}).kind == "chats_active"  # type: ignore[union-attr]


def test_monitoring_events_may_name_the_counsellor() -> None:
    """monitor_start/monitor_end/join carry the alias and may name the chat's counsellor as
    target; other non-account events still may not."""
    event = build_event("join", "sara", at=AT, alias="Besökare 4F", target="anna")
    assert (event.alias, event.target) == ("Besökare 4F", "anna")
    with pytest.raises(AuditEventError):
        build_event("monitor_start", "sara", at=AT, alias="Besökare 4F", target="Anna Svensson")
    with pytest.raises(AuditEventError):
        build_event("sign_in", "sara", at=AT, target="anna")
    with pytest.raises(AuditEventError):
        build_event("role_changed", "cli:root", at=AT, via="cli", role="admin")  # no target
