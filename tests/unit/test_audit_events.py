"""The audit log's pure event builder: fixed fields, staff names only, no room for content."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from chat_server.domain.audit import (
    FIELDS,
    GENESIS,
    AuditEventError,
    AuditKind,
    build_event,
    chain_line,
    cli_actor,
    failed_sign_in_actor,
    line_hash,
    matches,
    parse_line,
)

AT = datetime(2026, 12, 4, 21, 40, 5, 123000, tzinfo=UTC)


def test_an_event_has_only_the_fixed_fields_and_no_address_field() -> None:
    """Every field an event can hold is listed; none of them is an address, a header or a text."""
    names = {f.name for f in dataclasses.fields(build_event("sign_in", "anna", at=AT))}
    assert names | {"prev"} == set(FIELDS)
    assert not names & {"ip", "address", "peer", "remote", "forwarded", "user_agent", "text"}


def test_build_event_refuses_fields_it_does_not_know() -> None:
    """An address passed as a keyword is a TypeError: there is no parameter to carry it."""
    with pytest.raises(TypeError):
        build_event("sign_in", "anna", at=AT, ip="127.0.0.2")  # type: ignore[call-arg]


def test_failed_sign_in_names_only_known_accounts() -> None:
    """An attempted name is kept only if the account exists; anything else is 'unknown'."""
    assert failed_sign_in_actor(" Anna ", known=True) == "anna"
    assert failed_sign_in_actor("hunter2-my-password", known=False) == "unknown"
    assert failed_sign_in_actor("has spaces and Ö", known=True) == "unknown"


def test_the_actor_is_a_staff_name_or_unknown() -> None:
    """A free text as actor (a typed password, an address) is refused outright."""
    for bad in ("127.0.0.2:5555", "Anna Andersson", "x", "a" * 33):
        with pytest.raises(AuditEventError):
            build_event("sign_in", bad, at=AT)
    assert build_event("sign_in_failed", "unknown", at=AT, reason="credentials").actor == "unknown"


def test_cli_actor_is_the_operators_login_name() -> None:
    """The CLI records cli:<login name>; an odd login name becomes cli:unknown."""
    assert cli_actor("root") == "cli:root"
    assert cli_actor("bad name!") == "cli:unknown"
    event = build_event("account_created", "cli:root", at=AT, via="cli", target="anna")
    assert event.as_json()["via"] == "cli"
    with pytest.raises(AuditEventError):
        build_event("account_created", "root", at=AT, via="cli", target="anna")


def test_only_monitoring_events_carry_an_alias_and_only_an_alias() -> None:
    """monitor_start/monitor_end/join need a 'Besökare XX' alias; nothing else may have one."""
    event = build_event(AuditKind.JOIN, "sara", at=AT, alias="Besökare 4F")
    assert event.as_json()["alias"] == "Besökare 4F"
    with pytest.raises(AuditEventError):
        build_event(AuditKind.MONITOR_START, "sara", at=AT)
    with pytest.raises(AuditEventError):
        build_event(AuditKind.MONITOR_START, "sara", at=AT, alias="jag heter Lina")
    with pytest.raises(AuditEventError):
        build_event(AuditKind.SIGN_IN, "sara", at=AT, alias="Besökare 4F")


def test_account_events_name_a_staff_target_and_roles_are_known() -> None:
    """Account changes need a target account; a role is one of the three, on role events."""
    event = build_event("role_changed", "cli:root", at=AT, via="cli", target="bo", role="admin")
    assert (event.target, event.role) == ("bo", "admin")
    with pytest.raises(AuditEventError):
        build_event("role_changed", "cli:root", at=AT, via="cli", target="bo", role="king")
    with pytest.raises(AuditEventError):
        build_event("password_changed", "cli:root", at=AT, via="cli")
    with pytest.raises(AuditEventError):
        build_event("sign_in", "anna", at=AT, target="bo")


def test_failed_sign_in_has_a_reason_from_a_fixed_list() -> None:
    """A failed sign-in's outcome is failed and its reason one of two words."""
    event = build_event("sign_in_failed", "anna", at=AT, reason="second_factor")
    assert event.as_json()["outcome"] == "failed"
    with pytest.raises(AuditEventError):
        build_event("sign_in_failed", "anna", at=AT, reason="typed 'hunter2'")
    with pytest.raises(AuditEventError):
        build_event("sign_in", "anna", at=AT, reason="credentials")


def test_stats_export_records_its_date_range() -> None:
    """A statistics export records the dates exported, start before end."""
    span = (date(2026, 11, 1), date(2026, 11, 30))
    event = build_event("stats_exported", "sara", at=AT, day_range=span)
    assert event.as_json()["range"] == "2026-11-01/2026-11-30"
    with pytest.raises(AuditEventError):
        build_event("stats_exported", "sara", at=AT, day_range=(span[1], span[0]))


def test_time_is_utc_iso_with_milliseconds() -> None:
    """The time is written in UTC with a Z, whatever zone it was given in."""
    local = AT.astimezone(timezone(timedelta(hours=1)))
    assert build_event("sign_in", "anna", at=local).as_json()["at"] == "2026-12-04T21:40:05.123Z"
    with pytest.raises(AuditEventError):
        build_event("sign_in", "anna", at=AT.replace(tzinfo=None))


def test_chain_line_round_trips_and_hashes_the_previous_line() -> None:
    """A chained line parses back to its fields and carries the given prev hash."""
    first = chain_line(build_event("sign_in", "anna", at=AT, instance="host:1"), GENESIS)
    second = chain_line(build_event("sign_out", "anna", at=AT), line_hash(first))
    assert parse_line(first)["instance"] == "host:1"
    assert parse_line(second)["prev"] == line_hash(first)
    assert json.loads(second)["kind"] == "sign_out"


def test_parse_line_refuses_foreign_lines() -> None:
    """A line with an unknown field or kind, or without prev, is not an audit line."""
    for bad in (b"not json", b'{"kind":"sign_in"}', b'{"kind":"x","prev":"' + b"0" * 64 + b'"}'):
        with pytest.raises(AuditEventError):
            parse_line(bad)
    extra = b'{"kind":"sign_in","ip":"1.2.3.4","prev":"' + b"0" * 64 + b'"}'
    with pytest.raises(AuditEventError):
        parse_line(extra)


def test_filters_match_kind_and_actor_or_target() -> None:
    """The actor filter finds events by the account that acted or was acted upon."""
    event = {"kind": "role_changed", "actor": "cli:root", "target": "bo"}
    assert matches(event, actor="bo") and matches(event, kind="role_changed")
    assert not matches(event, kind="sign_in") and not matches(event, actor="anna")
