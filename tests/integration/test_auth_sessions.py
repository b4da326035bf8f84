"""Staff sessions: timeouts, CSRF, and ending sessions (logout, disable, password change)
closes console sockets, through Redis when the CLI can reach it and by epoch when not."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis

from chat_server.accounts import StaffDirectory
from tests.support.console_app import (
    api_get,
    console_server,
    console_with,
    post_form,
    post_login,
)
from tests.support.servers import Client, RunningServer, free_port, make_settings

CLI_TIMEOUT_S = 30


OPEN_CONSOLES: list[Client] = []


@pytest_asyncio.fixture
async def server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    async with console_server(make_settings(redis_url, staff_file, free_port())) as running:
        try:
            yield running
        finally:
            while OPEN_CONSOLES:
                await OPEN_CONSOLES.pop().close()


async def signed_in(server: RunningServer, username: str) -> tuple[str, Client, str]:
    """(session id, an open console (closed by the fixture), its CSRF token)."""
    session_id = (await post_login(server, username)).session_id
    assert session_id
    status, me = await api_get(server, "/console/api/me", session_id)
    assert status == 200
    console = await console_with(server, session_id)
    OPEN_CONSOLES.append(console)
    return session_id, console, me["csrf"]


async def closed_with(console: Client, timeout_s: float = 5.0) -> int | None:
    await asyncio.wait_for(console.ws.wait_closed(), timeout_s)
    return console.ws.close_code


def run_cli(
    staff_file: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") and k != "REDIS_URL"}
    clean.update(NEXUS_STAFF_FILE=str(staff_file), NEXUS_DATA_DIR=str(staff_file.parent), **env)
    return subprocess.run(
        [sys.executable, "-m", "chat_server", "user", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


async def test_idle_timeout_ends_the_session(redis_url: str, staff_file: Path) -> None:
    """A session unused for longer than the idle timeout is gone."""
    settings = make_settings(redis_url, staff_file, free_port(), session_idle_s=1)
    async with console_server(settings) as server:
        session_id = (await post_login(server, "anna")).session_id
        assert (await api_get(server, "/console/api/me", session_id))[0] == 200
        await asyncio.sleep(1.6)
        assert (await api_get(server, "/console/api/me", session_id))[0] == 401


async def test_absolute_timeout_ends_even_a_busy_session(redis_url: str, staff_file: Path) -> None:
    """A session in constant use still ends at the absolute timeout."""
    settings = make_settings(
        redis_url, staff_file, free_port(), session_idle_s=60, session_absolute_s=2
    )
    async with console_server(settings) as server:
        session_id = (await post_login(server, "anna")).session_id
        for _ in range(3):
            assert (await api_get(server, "/console/api/me", session_id))[0] == 200
            await asyncio.sleep(0.4)
        await asyncio.sleep(1.0)
        assert (await api_get(server, "/console/api/me", session_id))[0] == 401


async def test_logout_everywhere_needs_csrf_and_closes_all_consoles(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """Missing, wrong or foreign-origin requests are 403; a good one ends every session."""
    first, console_a, csrf = await signed_in(server, "anna")
    second, console_b, _ = await signed_in(server, "anna")
    path = "/console/logout-everywhere"
    assert await post_form(server, path, first, {}) == 403
    assert await post_form(server, path, first, {"csrf": "wrong"}) == 403
    foreign = await post_form(server, path, first, {"csrf": csrf}, origin="https://evil.example")
    assert foreign == 403
    assert not console_a.ws.close_code
    assert await post_form(server, path, first, {}, headers={"X-CSRF-Token": csrf}) == 303
    assert await closed_with(console_a) == 4401
    assert await closed_with(console_b) == 4401
    assert (await api_get(server, "/console/api/me", second))[0] == 401
    assert list(raw_redis.scan_iter("nx:sess:*")) == []


async def test_logout_with_the_csrf_header_or_field(server: RunningServer) -> None:
    """Logout takes the token as a form field; the other session of the user lives on."""
    session_id, console, csrf = await signed_in(server, "anna")
    other, _, _ = await signed_in(server, "anna")
    assert await post_form(server, "/console/logout", session_id, {"csrf": ""}) == 403
    assert await post_form(server, "/console/logout", session_id, {"csrf": csrf}) == 303
    assert await closed_with(console) == 4401
    assert (await api_get(server, "/console/api/me", other))[0] == 200


async def test_password_change_without_redis_ends_sessions_by_epoch(
    server: RunningServer, staff_file: Path
) -> None:
    """Changing the password in the staff file alone (no Redis access) closes open consoles
    within seconds and refuses the old session at its next request."""
    session_id, console, _ = await signed_in(server, "anna")
    StaffDirectory(staff_file).update("anna", password="ett helt nytt lösenord")
    assert await closed_with(console, 6) == 4401
    assert (await api_get(server, "/console/api/me", session_id))[0] == 401


async def test_role_change_and_totp_enable_end_sessions(
    server: RunningServer, staff_file: Path
) -> None:
    """A new role or a new second factor ends sessions made before it; a capacity change not."""
    session_id, _, _ = await signed_in(server, "bo")
    directory = StaffDirectory(staff_file)
    directory.update("bo", capacity=3)
    assert (await api_get(server, "/console/api/me", session_id))[0] == 200
    directory.update("bo", role="supervisor")
    assert (await api_get(server, "/console/api/me", session_id))[0] == 401
    session_id = (await post_login(server, "bo")).session_id
    directory.enable_totp("bo")
    assert (await api_get(server, "/console/api/me", session_id))[0] == 401


async def test_cli_disable_with_redis_closes_consoles_at_once(
    server: RunningServer, staff_file: Path, redis_url: str, raw_redis: redis.Redis
) -> None:
    """`user disable` with REDIS_URL deletes the sessions and the console closes with 4401."""
    _, console, _ = await signed_in(server, "bo")
    result = await asyncio.to_thread(run_cli, staff_file, "disable", "bo", REDIS_URL=redis_url)
    assert result.returncode == 0, result.stderr
    assert "1 session(s) of bo ended" in result.stdout
    assert await closed_with(console, 3) == 4401
    assert not [k for k in raw_redis.scan_iter("nx:sess:*")]
    assert (await post_login(server, "bo")).session_id == ""


async def test_cli_set_password_without_redis_says_so_and_still_revokes(
    server: RunningServer, staff_file: Path
) -> None:
    """Without REDIS_URL the CLI explains that sessions end at their next request, and they do."""
    session_id, console, _ = await signed_in(server, "anna")
    result = await asyncio.to_thread(
        run_cli, staff_file, "set-password", "anna", "--password-stdin",
        stdin="ett nytt långt lösenord\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "REDIS_URL is not set" in result.stderr
    assert await closed_with(console, 6) == 4401
    assert (await api_get(server, "/console/api/me", session_id))[0] == 401
    assert (await post_login(server, "anna", "ett nytt långt lösenord")).session_id


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
async def test_console_socket_refuses_foreign_origins(server: RunningServer, origin: str) -> None:
    """Even with a valid session, a console socket from another origin gets HTTP 403."""
    import websockets
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    session_id = (await post_login(server, "anna")).session_id
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await connect(
            f"{server.ws_url}/ws/console",
            origin=Origin(origin),
            additional_headers={"Cookie": f"__Host-nexus_session={session_id}"},
        )
    assert refused.value.response.status_code == 403
