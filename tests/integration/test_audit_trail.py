"""The audit trail of the running service: sign-ins, sign-outs, exports; the admins' route;
and planted visitor markers (text, addresses, user agent) nowhere in the audit files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis

from chat_server.domain.audit import AuditEventError, AuditKind
from chat_server.domain.models import visitor_alias
from chat_server.web.audit_trail import AUDIT, record
from tests.integration.test_privacy import (
    MARKER_IP,
    MARKER_SOURCE_IP,
    MARKER_TEXT,
    MARKER_UA,
    run_marked_chat,
)
from tests.support.console_app import SESSION_COOKIE, api_get, post_form, post_login
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    running_server,
    write_staff,
)

STAFF = {
    "anna": {"display_name": "Anna", "languages": ["sv", "en"]},
    "sara": {"display_name": "Sara", "role": "supervisor"},
    "ada": {"display_name": "Ada", "role": "admin"},
}
TYPED_PASSWORD = "Hemligt-lösen-i-fel-ruta"  # a password typed into the user name box


@pytest_asyncio.fixture
async def server(redis_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """The real app with an admin among its accounts and its audit log in tmp_path."""
    staff_file = tmp_path / "staff.json"
    write_staff(staff_file, STAFF)
    async with running_server(make_settings(redis_url, staff_file, free_port())) as running:
        yield running


def events(server: RunningServer) -> list[dict[str, str]]:
    """Every event in the server's audit log, oldest first."""
    return list(reversed(server.app[AUDIT].page(limit=200).events))


def audit_bytes(server: RunningServer) -> bytes:
    directory = server.settings.audit_dir
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


async def test_sign_in_failures_and_sign_outs_are_recorded(server: RunningServer) -> None:
    """Sign-in, failed sign-ins (known name kept, unknown name not), sign-out, everywhere."""
    assert (await post_login(server, "anna", "wrong password here")).session_id == ""
    assert (await post_login(server, TYPED_PASSWORD)).session_id == ""
    session = (await post_login(server, "anna")).session_id
    _, me = await api_get(server, "/console/api/me", session)
    assert await post_form(server, "/console/logout", session, {"csrf": me["csrf"]}) == 303
    other = (await post_login(server, "sara")).session_id
    _, sara = await api_get(server, "/console/api/me", other)
    assert await post_form(server, "/console/logout-everywhere", other, {"csrf": sara["csrf"]})
    got = [(e["kind"], e["actor"], e.get("reason", ""), e["outcome"]) for e in events(server)]
    assert got == [
        ("sign_in_failed", "anna", "credentials", "failed"),
        ("sign_in_failed", "unknown", "credentials", "failed"),
        ("sign_in", "anna", "", "ok"),
        ("sign_out", "anna", "", "ok"),
        ("sign_in", "sara", "", "ok"),
        ("sign_out_everywhere", "sara", "", "ok"),
    ]
    assert TYPED_PASSWORD.lower().encode() not in audit_bytes(server).lower()
    assert server.app[AUDIT].verify().ok


async def test_a_statistics_export_is_recorded_with_its_dates(server: RunningServer) -> None:
    """The CSV export names who exported which days; the page's JSON report is not an export."""
    session = (await post_login(server, "sara")).session_id
    today = date.today().isoformat()
    status, _ = await api_get(server, f"/supervisor/api/stats?start={today}&end={today}", session)
    assert status == 200
    status, _ = await api_get(
        server, f"/supervisor/api/stats.csv?start={today}&end={today}", session
    )
    assert status == 200
    exported = [e for e in events(server) if e["kind"] == "stats_exported"]
    assert [(e["actor"], e["range"]) for e in exported] == [("sara", f"{today}/{today}")]


async def test_only_admins_read_the_log(server: RunningServer) -> None:
    """The route answers 401 without a session, 403 to a counsellor and a supervisor."""
    assert (await api_get(server, "/console/api/audit"))[0] == 401
    for name in ("anna", "sara"):
        session = (await post_login(server, name)).session_id
        status, body = await api_get(server, "/console/api/audit", session)
        assert (status, body["error"]) == (403, "admins_only")
        assert (await api_get(server, "/console/audit", session))[0] == 403
    assert (await api_get(server, "/console/audit"))[0] == 303
    admin = (await post_login(server, "ada")).session_id
    status, page = await api_get(server, "/console/audit", admin)
    assert status == 200 and "Granskningslogg" in page
    status, body = await api_get(server, "/console/api/audit?limit=2", admin)
    assert status == 200 and len(body["events"]) == 2 and body["next"]
    status, older = await api_get(server, f"/console/api/audit?cursor={body['next']}", admin)
    assert [e["actor"] for e in older["events"]] == ["anna"]
    status, only = await api_get(server, "/console/api/audit?kind=sign_in&actor=sara", admin)
    assert [(e["kind"], e["actor"]) for e in only["events"]] == [("sign_in", "sara")]


BAD_QUERIES = (
    ("since=2026-13-01", "bad_date"),
    ("until=yesterday", "bad_date"),
    ("kind=delete_everything", "bad_kind"),
    ("actor=anna%20andersson", "bad_actor"),
    ("limit=0", "bad_limit"),
    ("limit=many", "bad_limit"),
    ("limit=201", "bad_limit"),
    ("cursor=2026-12-01", "bad_cursor"),
    ("cursor=%00%ff", "bad_cursor"),
)


async def test_bad_filters_get_a_clear_400(server: RunningServer) -> None:
    """Every unusable filter or cursor is a 400 with its own error code, never a 5xx."""
    admin = (await post_login(server, "ada")).session_id
    for query, code in BAD_QUERIES:
        status, body = await api_get(server, f"/console/api/audit?{query}", admin)
        assert (status, body["error"]) == (400, code), query


async def _marked_requests(server: RunningServer) -> None:
    """Sign-ins and a failed one from the marker source address, with marker headers."""
    headers: dict[str, Any] = {
        "Origin": server.url, "X-Forwarded-For": MARKER_IP, "X-Real-IP": MARKER_IP,
        "User-Agent": MARKER_UA,
    }  # fmt: skip
    connector = aiohttp.TCPConnector(local_addr=(MARKER_SOURCE_IP, 0))
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
        for name, password in (("anna", "not the password"), (MARKER_TEXT, "x" * 12)):
            form = {"username": name, "password": password}
            async with http.post(
                f"{server.url}/console/login", data=form, allow_redirects=False
            ) as answer:
                assert answer.status == 303
        form = {"username": "ada", "password": "correct horse battery staple"}
        async with http.post(
            f"{server.url}/console/login", data=form, allow_redirects=False
        ) as answer:
            session = answer.cookies[SESSION_COOKIE].value
        cookie = {"Cookie": f"{SESSION_COOKIE}={session}"}
        async with http.get(f"{server.url}/console/api/audit", headers=cookie) as answer:
            assert answer.status == 200


async def test_planted_visitor_markers_are_nowhere_in_the_audit_files(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """A marker chat text, address, forwarded address and user agent never reach the log."""
    await run_marked_chat(server, raw_redis)  # a chat with the markers, and anna signs in
    await _marked_requests(server)
    written = audit_bytes(server)
    kinds = [json.loads(line)["kind"] for line in written.splitlines()]
    assert kinds.count("sign_in") == 2 and kinds.count("sign_in_failed") == 2
    for marker in (MARKER_TEXT, MARKER_IP, MARKER_SOURCE_IP, MARKER_UA, "127.0.0.1"):
        assert marker.encode() not in written, marker
    assert "Besökare".encode() not in written  # no monitoring happened, so no alias either


async def test_monitoring_is_one_call_with_the_chat_alias(server: RunningServer) -> None:
    """The API live supervision will use: record(app, kind, who, alias=visitor_alias(chat))."""
    alias = visitor_alias("4f9a2c")
    for kind in (AuditKind.MONITOR_START, AuditKind.JOIN, AuditKind.MONITOR_END):
        await record(server.app, kind, "sara", alias=alias)
    got = [(e["kind"], e["actor"], e["alias"]) for e in events(server)]
    assert got == [(k, "sara", "Besökare 4F") for k in ("monitor_start", "join", "monitor_end")]
    with pytest.raises(AuditEventError):  # a chat's text can never pass for an alias
        await record(server.app, AuditKind.JOIN, "sara", alias=MARKER_TEXT)
