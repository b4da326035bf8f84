"""Every bug the HTTP fuzz found, as a plain test: each answered 500 (or logged a traceback)
before it was fixed. The strict xfails are bugs in files this suite's authors do not own; each
says where the fix belongs, and fails the day it is made, so that its mark is removed."""

from __future__ import annotations

import io

import aiohttp
import pytest

from tests.fuzz.http_cases import SESSION_COOKIE, Case, send_raw
from tests.support.servers import RunningServer, login

FORM = "application/x-www-form-urlencoded"


async def raw(server: RunningServer, case: Case) -> tuple[int, str]:
    return await send_raw(server.settings.port, case)


async def supervisor(server: RunningServer) -> dict[str, str]:
    """Headers of a signed-in supervisor's request from our own page: cookie, CSRF token."""
    cookie = await login(server, "sara")
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}", "Origin": server.url}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/console/api/me", headers=headers) as response,
    ):
        return headers | {"X-CSRF-Token": (await response.json())["csrf"]}


def assert_no_exception_logged(log: io.StringIO) -> None:
    assert "Traceback" not in log.getvalue() and "unhandled error" not in log.getvalue()


@pytest.mark.parametrize("path", ["/console/login", "/console/logout"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (FORM, b"username=\xff"),
        (f"{FORM}; charset=unicode_escape", b"username=\\ud800"),
        ("multipart/form-data; boundary=x", b"junk"),
    ],
)
async def test_an_unreadable_login_or_logout_form_is_a_400(
    server: RunningServer, log_capture: io.StringIO, path: str, content_type: str, body: bytes
) -> None:
    """auth_routes read the form with request.post(): UnicodeDecodeError, ValueError, or a
    lone surrogate reaching the session hash, each a 500."""
    headers = {"Origin": server.url, "Content-Type": content_type}
    status, answer = await raw(server, Case("POST", path, body=body, headers=headers))
    assert status == 400 and "the form could not be read" in answer
    assert_no_exception_logged(log_capture)


@pytest.mark.parametrize("path", ["/console/api/me", "/console/", "/supervisor/api/stats"])
async def test_a_session_cookie_that_is_not_utf8_is_no_session(
    server: RunningServer, log_capture: io.StringIO, path: str
) -> None:
    """current_staff hashed the cookie (a lone surrogate after aiohttp's decoding): 500."""
    cookie = {"Cookie": f"{SESSION_COOKIE}=".encode() + b"\xff\xfe"}
    status, _ = await raw(server, Case("GET", path, raw_headers=cookie))
    assert status in (303, 401)
    assert_no_exception_logged(log_capture)


@pytest.mark.parametrize(
    "path",
    [
        "/console/api/callbacks/0123456789abcdef01234567/claim",
        "/supervisor/api/controls/intake",
        "/console/logout-everywhere",
    ],
)
async def test_a_csrf_token_that_is_not_utf8_is_refused_with_403(
    server: RunningServer, log_capture: io.StringIO, path: str
) -> None:
    """The worklist's and the supervisor's own CSRF checks encoded the header: 500. They now
    share auth_routes.csrf_ok."""
    headers = await supervisor(server)
    token = {"X-CSRF-Token": headers.pop("X-CSRF-Token").encode() + b"\xff"}
    case = Case("POST", path, body=b"{}", headers=headers, raw_headers=token)
    assert (await raw(server, case))[0] == 403
    assert_no_exception_logged(log_capture)


@pytest.mark.parametrize(
    "body",
    [b"[" * 3000, b'{"paused": "\\ud800"}', b"{}"],
    ids=["nested-too-deep", "lone-surrogate", "charset-bogus"],
)
async def test_the_supervisor_controls_refuse_unreadable_json_with_400(
    server: RunningServer, log_capture: io.StringIO, body: bytes
) -> None:
    """controls_api: request.text() with an unknown charset (LookupError) and deep nesting
    (RecursionError) were 500s."""
    headers = await supervisor(server) | {"Content-Type": "application/json; charset=bogus"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/supervisor/api/controls/intake", data=body, headers=headers
        ) as response,
    ):
        answer = await response.json()
    if body == b"{}":
        assert response.status == 422  # readable, only the fields are missing
    else:
        assert (response.status, answer["error"]) == (400, "invalid_json")
    assert_no_exception_logged(log_capture)


async def test_a_control_body_over_4096_bytes_is_a_413(
    server: RunningServer, log_capture: io.StringIO
) -> None:
    """json_error could not build an HTTPRequestEntityTooLarge (it needs the sizes): every
    body over the limit was a TypeError and a 500."""
    headers = await supervisor(server) | {"Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/supervisor/api/controls/notice", data=b" " * 5000, headers=headers
        ) as response,
    ):
        assert (response.status, (await response.json())["error"]) == (413, "too_large")
    assert_no_exception_logged(log_capture)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json; charset=bogus", b'{"outcome": "reached"}', (404, "gone")),
        ("application/json", b"[" * 3000, (400, "invalid_outcome")),
        ("application/json", b'{"outcome": "\\ud800"}', (400, "invalid_outcome")),
    ],
    ids=["charset-bogus", "nested-too-deep", "lone-surrogate"],
)
async def test_an_unreadable_outcome_is_a_400(
    server: RunningServer,
    log_capture: io.StringIO,
    content_type: str,
    body: bytes,
    expected: tuple[int, str],
) -> None:
    """callback_worklist used request.json(): LookupError (an unknown charset, now not
    consulted: the request is merely unknown) and RecursionError were 500s."""
    headers = await supervisor(server) | {"Content-Type": content_type}
    url = f"{server.url}/console/api/callbacks/0123456789abcdef01234567/outcome"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=body, headers=headers) as response,
    ):
        assert (response.status, (await response.json())["error"]) == expected
    assert_no_exception_logged(log_capture)


@pytest.mark.parametrize(
    "body",
    [b'{"token": "\\ud800", "helped": 3}', b"[" * 1000],
    ids=["lone-surrogate", "nested-too-deep"],
)
async def test_feedback_with_unreadable_json_is_a_400(
    server: RunningServer, log_capture: io.StringIO, body: bytes
) -> None:
    """feedback hashed a lone-surrogate token for Redis (UnicodeEncodeError), and did not
    catch RecursionError: 500s."""
    headers = {"Origin": server.url, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/feedback", data=body, headers=headers) as response,
    ):
        assert (response.status, await response.json()) == (400, {"error": "invalid_json"})
    assert_no_exception_logged(log_capture)


@pytest.mark.parametrize("name", ["a%00b", "x" * 300], ids=["nul-byte", "name-too-long"])
async def test_a_widget_path_the_file_system_refuses_is_a_404(
    server: RunningServer, log_capture: io.StringIO, name: str
) -> None:
    """pages.widget_asset let ValueError (NUL) and OSError (ENAMETOOLONG) through: 500s."""
    assert (await raw(server, Case("GET", f"/widget/{name}")))[0] == 404
    assert_no_exception_logged(log_capture)


async def test_a_body_whose_content_encoding_lies_is_a_400(
    server: RunningServer, log_capture: io.StringIO
) -> None:
    """Reading a body that claims gzip and is not raised RequestPayloadError: a 500. (aiohttp
    still logs its own traceback afterwards: see the xfail below.)"""
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    case = Case("POST", "/api/callbacks", body=b"not gzip", headers=headers)
    status, answer = await raw(server, case)
    assert status == 400 and '{"error": "invalid_json"}' in answer
    assert "unhandled error" not in log_capture.getvalue()


@pytest.mark.parametrize("prefix", ["/static", "/console/assets", "/supervisor/assets"])
async def test_a_static_file_name_too_long_for_the_file_system_is_a_404(
    server: RunningServer, prefix: str
) -> None:
    """A 300-character file name under a static directory: 404, not 500."""
    assert (await raw(server, Case("GET", f"{prefix}/{'x' * 300}")))[0] == 404


async def test_a_request_line_that_is_not_utf8_logs_no_traceback(
    server: RunningServer, log_capture: io.StringIO
) -> None:
    """aiohttp answers 400 itself; the log should say so in one line."""
    assert (await raw(server, Case("GET", "/callback?lang=\xff")))[0] == 400
    assert "Traceback" not in log_capture.getvalue()


async def test_a_body_whose_content_encoding_lies_logs_no_traceback(
    server: RunningServer, log_capture: io.StringIO
) -> None:
    """The answer is a 400 (above); the log should hold no traceback either."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    await raw(server, Case("POST", "/api/callbacks", body=b"not gzip", headers=headers))
    assert "Traceback" not in log_capture.getvalue()
