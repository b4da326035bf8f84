"""Staff sign-in: cookie flags, uniform failures, CSRF, logout closing sockets, expiry."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import redis
import websockets
from websockets.asyncio.client import connect
from websockets.typing import Origin

from chat_server.web.appkeys import SERVICES
from tests.support.servers import (
    TEST_PASSWORD,
    RunningServer,
    login,
    open_console,
)


async def _post_login(
    server: RunningServer, username: str, password: str, origin: str | None = None
):  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/console/login",
            data={"username": username, "password": password},
            headers={"Origin": origin or server.url},
            allow_redirects=False,
        ) as response:
            return (
                response.status,
                response.headers.get("Location"),
                response.headers.getall("Set-Cookie", []),
            )


async def test_login_sets_a_host_prefixed_strict_cookie(server: RunningServer) -> None:
    """A good login answers 303 to the console with a __Host- Secure HttpOnly Strict cookie."""
    status, location, cookies = await _post_login(server, "anna", TEST_PASSWORD)
    assert status == 303 and location == "/console/"
    (cookie,) = cookies
    name, _, rest = cookie.partition("=")
    assert name == "__Host-nexus_session"
    value = rest.split(";")[0]
    assert len(value) >= 43  # 256 bits, url-safe base64
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path", "samesite"} <= flags
    assert "samesite=strict" in cookie.lower() and "domain" not in flags


@pytest.mark.parametrize(
    ("username", "password"),
    [("anna", "wrong password!!"), ("nobody", TEST_PASSWORD), ("olle", TEST_PASSWORD)],
)
async def test_failed_logins_all_look_the_same(
    server: RunningServer, username: str, password: str
) -> None:
    """Wrong password, unknown user and disabled account: same answer, no cookie."""
    status, location, cookies = await _post_login(server, username, password)
    assert (status, location, cookies) == (303, "/console/login?failed=1", [])


async def test_each_login_gets_a_new_session_id(server: RunningServer) -> None:
    """Two logins never share a session id (no fixation)."""
    assert await login(server, "anna") != await login(server, "anna")


async def test_login_from_a_foreign_origin_is_refused(server: RunningServer) -> None:
    """Login CSRF: a form posted from another site gets 403."""
    status, _, cookies = await _post_login(server, "anna", TEST_PASSWORD, "https://evil.example")
    assert status == 403 and cookies == []


async def test_console_socket_needs_a_session_and_our_origin(server: RunningServer) -> None:
    """No cookie: 401. A foreign Origin, even with a valid cookie: 403."""
    with pytest.raises(websockets.exceptions.InvalidStatus) as missing:
        await connect(f"{server.ws_url}/ws/console", origin=Origin(server.url))
    assert missing.value.response.status_code == 401
    session_id = await login(server, "anna")
    with pytest.raises(websockets.exceptions.InvalidStatus) as foreign:
        await connect(
            f"{server.ws_url}/ws/console",
            origin=Origin("https://evil.example"),
            additional_headers={"Cookie": f"__Host-nexus_session={session_id}"},
        )
    assert foreign.value.response.status_code == 403


async def test_logout_needs_csrf_and_closes_the_console_socket(server: RunningServer) -> None:
    """Logout without the CSRF token is refused; with it, the session dies and the socket closes."""
    session_id = await login(server, "anna")
    ws = await connect(
        f"{server.ws_url}/ws/console",
        origin=Origin(server.url),
        additional_headers={"Cookie": f"__Host-nexus_session={session_id}"},
    )
    from tests.support.servers import Client

    console = Client(ws)
    await console.send(type="hello")
    csrf = (await console.expect("hello"))["csrf"]
    cookie = {"Cookie": f"__Host-nexus_session={session_id}", "Origin": server.url}
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{server.url}/console/logout",
            data={"csrf": "wrong"},
            headers=cookie,
            allow_redirects=False,
        ) as refused:
            assert refused.status == 403
        async with http.post(
            f"{server.url}/console/logout",
            data={"csrf": csrf},
            headers=cookie,
            allow_redirects=False,
        ) as done:
            assert done.status == 303
    await asyncio.wait_for(ws.wait_closed(), 5)
    assert ws.close_code == 4401
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await connect(
            f"{server.ws_url}/ws/console",
            origin=Origin(server.url),
            additional_headers={"Cookie": f"__Host-nexus_session={session_id}"},
        )


async def test_revoking_all_sessions_closes_every_console(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """Disabling an account (all sessions deleted) closes its open consoles at once."""
    console = await open_console(server, "bo")
    sessions = server.app[
        __import__("chat_server.web.appkeys", fromlist=["SERVICES"]).SERVICES
    ].sessions
    assert await sessions.delete_all_for("bo") == 1
    await asyncio.wait_for(console.ws.wait_closed(), 5)
    assert console.ws.close_code == 4401
    assert list(raw_redis.scan_iter("nx:sess:*")) == []


async def test_session_has_idle_ttl_and_absolute_limit(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """The session key expires after the idle timeout; past the absolute limit it is refused."""
    services = server.app[SERVICES]
    session_id = await login(server, "anna")
    (key,) = list(raw_redis.scan_iter("nx:sess:*"))
    assert 0 < raw_redis.ttl(key) <= server.settings.session_idle_s
    assert session_id not in key  # stored only as a hash
    now = services.clock_ms()
    assert await services.sessions.get(session_id, now) is not None
    later = now + server.settings.session_absolute_s * 1000
    assert await services.sessions.get(session_id, later) is None
    assert list(raw_redis.scan_iter("nx:sess:*")) == []


async def test_console_page_redirects_without_a_session(server: RunningServer) -> None:
    """GET /console/ without a session goes to the login page."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/console/", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/console/login"


async def test_login_form_with_origin_null_relies_on_fetch_metadata(server: RunningServer) -> None:
    """Origin "null" (no-referrer pages) passes only with Sec-Fetch-Site: same-origin."""
    form = {"username": "anna", "password": TEST_PASSWORD}
    async with aiohttp.ClientSession() as http:
        for site, expected in (("cross-site", 403), ("same-origin", 303)):
            headers = {"Origin": "null", "Sec-Fetch-Site": site}
            async with http.post(
                f"{server.url}/console/login", data=form, headers=headers, allow_redirects=False
            ) as response:
                assert response.status == expected
