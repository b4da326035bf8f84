"""Callback forms and the callback JSON API given bodies that cannot be read: a 4xx with a clear
message (the form shown again, in the visitor's language), nothing stored, no traceback."""

from __future__ import annotations

import io
import json

import aiohttp
import pytest
import redis

from tests.support.callbacks import request_keys
from tests.support.servers import RunningServer

UNREADABLE_SV = "Formuläret kunde inte läsas. Fyll i det igen och skicka."
UNREADABLE_EN = "The form could not be read. Please fill it in again and send it."
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=x"
MAX_BODY_BYTES = 64 * 1024
UNREADABLE_FORMS = [
    pytest.param(FORM, b"phone=\xff\xfe", id="not-utf8"),
    pytest.param(f"{FORM}; charset=bogus", b"phone=070", id="unknown-charset"),
    pytest.param(f"{FORM}; charset=unicode_escape", b"alias=\\ud800", id="lone-surrogate"),
    pytest.param(MULTIPART, b"this is not multipart", id="multipart-junk"),
    pytest.param(
        MULTIPART,
        b"--x\r\nContent-Disposition: form-data\r\n\r\n070\r\n--x--\r\n",
        id="part-without-name",
    ),
    pytest.param("multipart/form-data", b"--x\r\n\r\n", id="multipart-without-boundary"),
    pytest.param(
        MULTIPART,
        b'--x\r\nContent-Disposition: form-data; name="phone"\r\n'
        b"Content-Transfer-Encoding: bogus\r\n\r\n070\r\n--x--\r\n",
        id="unknown-part-encoding",
    ),
]


async def post(
    server: RunningServer, path: str, body: bytes, content_type: str
) -> tuple[int, str, str]:
    """POST raw bytes as a browser on our page would; (status, content type, body)."""
    headers = {"Content-Type": content_type, "Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}{path}", data=body, headers=headers) as response,
    ):
        return response.status, response.content_type, await response.text()


def assert_quiet(log: io.StringIO, raw_redis: redis.Redis) -> None:
    """No callback request stored, no exception logged."""
    assert request_keys(raw_redis) == []
    assert "Traceback" not in log.getvalue()
    assert "unhandled error" not in log.getvalue()


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE_FORMS)
async def test_an_unreadable_request_form_is_shown_again_with_a_message(
    server: RunningServer,
    raw_redis: redis.Redis,
    log_capture: io.StringIO,
    content_type: str,
    body: bytes,
) -> None:
    """400, the empty form again under a summary saying in Swedish that it could not be read
    (linking to the first field), nothing stored, nothing logged but the access line."""
    status, kind, page = await post(server, "/callback", body, content_type)
    assert (status, kind) == (400, "text/html")
    assert "<title>Fel: Bli uppringd av Nexus – Uppsala kommun</title>" in page
    assert '<div class="summary" role="alert"' in page
    assert f'<li><a href="#phone">{UNREADABLE_SV}</a></li>' in page
    assert '<form method="post" action="/callback"' in page and 'name="phone" value=""' in page
    assert_quiet(log_capture, raw_redis)


async def test_the_message_is_english_on_the_english_form(
    server: RunningServer, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    """?lang=en: the same answer in English, posting back to the English form."""
    status, _, page = await post(server, "/callback?lang=en", b"phone=\xff", FORM)
    assert status == 400
    assert UNREADABLE_EN in page and UNREADABLE_SV not in page
    assert 'action="/callback?lang=en"' in page
    assert_quiet(log_capture, raw_redis)


async def test_a_form_larger_than_the_limit_is_shown_again_with_413(
    server: RunningServer, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    """A body over the app's size limit: 413 with the form and the same message."""
    body = b"message=" + b"x" * MAX_BODY_BYTES
    status, _, page = await post(server, "/callback", body, FORM)
    assert status == 413
    assert UNREADABLE_SV in page and '<form method="post" action="/callback"' in page
    assert_quiet(log_capture, raw_redis)


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE_FORMS)
async def test_an_unreadable_status_form_is_shown_again_with_a_message(
    server: RunningServer,
    raw_redis: redis.Redis,
    log_capture: io.StringIO,
    content_type: str,
    body: bytes,
) -> None:
    """POST /callback/status: 400, the code form again with the message at its field."""
    status, kind, page = await post(server, "/callback/status", body, content_type)
    assert (status, kind) == (400, "text/html")
    assert f'<p class="error" id="code-error" role="alert">{UNREADABLE_SV}</p>' in page
    assert '<form method="post" action="/callback/status"' in page
    assert 'aria-describedby="code-hint code-error" aria-invalid="true"' in page
    assert_quiet(log_capture, raw_redis)


async def test_unreadable_status_forms_cost_no_guess(
    server: RunningServer, log_capture: io.StringIO
) -> None:
    """More unreadable status forms than the guess limit allows: a readable one afterwards
    is still looked up (404), not refused as rate limited (429)."""
    limit = server.settings.callbacks.per_address_guesses_per_h if server.settings.callbacks else 0
    for _ in range(limit + 1):
        assert (await post(server, "/callback/status", b"code=\xff", FORM))[0] == 400
    status, _, _ = await post(server, "/callback/status", b"code=AAAA-AAAA&action=status", FORM)
    assert status == 404
    assert "Traceback" not in log_capture.getvalue()


UNREADABLE_JSON = [
    pytest.param(b"\xff\xfe\x00{", id="not-utf8"),
    pytest.param(b'["not", "an", "object"]', id="not-an-object"),
    pytest.param(b'"text"', id="a-string"),
    pytest.param(b"{", id="truncated"),
    pytest.param(b"NaN", id="nan"),
    pytest.param(b'{"phone": ' + b"9" * 5000 + b"}", id="number-too-long"),
    pytest.param(b"[" * 5000, id="nested-too-deep"),
    pytest.param(b'{"phone": "070\\ud800"}', id="lone-surrogate"),
    pytest.param(b'{"code": "\\udfff"}', id="lone-surrogate-code"),
    pytest.param(b'{"\\ud800": "x"}', id="lone-surrogate-key"),
    pytest.param(b"x" * (MAX_BODY_BYTES + 1), id="too-large"),
]


@pytest.mark.parametrize(
    "path", ["/api/callbacks", "/api/callbacks/status", "/api/callbacks/cancel"]
)
@pytest.mark.parametrize("body", UNREADABLE_JSON)
async def test_the_json_api_refuses_an_unreadable_body_with_a_json_error(
    server: RunningServer,
    raw_redis: redis.Redis,
    log_capture: io.StringIO,
    path: str,
    body: bytes,
) -> None:
    """400 {"error": "invalid_json"} (413 {"error": "too_large"} over the size limit) with
    the widget's CORS header; nothing stored, no traceback."""
    status, kind, text = await post(server, path, body, "application/json")
    expected = (413, "too_large") if len(body) > MAX_BODY_BYTES else (400, "invalid_json")
    assert (status, kind, json.loads(text)) == (
        expected[0],
        "application/json",
        {"error": expected[1]},
    )
    assert_quiet(log_capture, raw_redis)


async def test_the_json_api_ignores_the_charset_parameter(
    server: RunningServer, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    """A charset no codec knows does not matter: JSON is read as UTF-8 (here: a JSON object
    with wrong fields, answered 422 like any other)."""
    status, _, text = await post(server, "/api/callbacks", b"{}", "application/json; charset=bogus")
    assert status == 422 and {e["field"] for e in json.loads(text)["errors"]} >= {"phone"}
    assert_quiet(log_capture, raw_redis)


async def test_wrong_types_huge_numbers_and_nulls_are_field_errors(
    server: RunningServer, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    """Readable JSON with nulls, numbers and nested values where text is expected: 422
    naming the fields (create) or 404 (a code that is not text finds nothing)."""
    body = {"phone": None, "windows": [None, 1e308, {"date": 5}], "alias": 10**40, "message": []}
    status, _, text = await post(
        server, "/api/callbacks", json.dumps(body).encode(), "application/json"
    )
    assert status == 422
    assert {e["field"] for e in json.loads(text)["errors"]} >= {"phone", "alias"}
    status, _, text = await post(
        server, "/api/callbacks/status", b'{"code": 1e999999}', "application/json"
    )
    assert (status, json.loads(text)) == (404, {"error": "not_found"})
    assert_quiet(log_capture, raw_redis)
