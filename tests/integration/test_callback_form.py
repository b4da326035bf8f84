"""The no-JS callback form over real HTTP: languages, errors next to their fields, kept and
escaped values, the code on success, and the status page that shows or cancels."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
import redis

from tests.support.callbacks import (
    CallbackServer,
    callback_config,
    callback_server,
    request_keys,
)
from tests.support.servers import free_port, make_settings

CODE_RE = re.compile(r'<p class="code" id="code">([0-9A-Z]{4}-[0-9A-Z]{4})</p>')
VALID_FORM = {
    "phone": "070-123 45 67",
    "window-1-date": "2030-03-13",
    "window-1-start": "13:00",
    "window-1-end": "14:00",
    "window-2-date": "",
    "window-2-start": "",
    "window-2-end": "",
    "alias": "Blåklocka",
    "language": "sv",
    "topic": "",
    "message": "",
}


@pytest_asyncio.fixture
async def cb(redis_url: str, staff_file: Path) -> AsyncIterator[CallbackServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, callback_config()) as server:
        yield server


async def fetch(
    server: CallbackServer, path: str, form: dict[str, str] | None = None
) -> tuple[int, str, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http:
        if form is None:
            async with http.get(f"{server.url}{path}") as response:
                return response.status, await response.text(), response
        async with http.post(f"{server.url}{path}", data=form) as response:
            return response.status, await response.text(), response


async def test_the_form_is_swedish_by_default_and_english_on_request(cb: CallbackServer) -> None:
    """Swedish page with lang="sv"; ?lang=en gives the English page posting to ?lang=en."""
    status, page, _ = await fetch(cb, "/callback")
    assert status == 200
    assert '<html lang="sv">' in page and "Telefonnummer" in page and "112" in page
    assert '<option value="2030-03-13">onsdag 13 mars</option>' in page
    assert '<option value="2030-03-16"' not in page  # a Saturday has no callback hours
    status, page, _ = await fetch(cb, "/callback?lang=en")
    assert '<html lang="en">' in page and "Phone number" in page
    assert 'action="/callback?lang=en"' in page and "Wednesday 13 Mar" in page


async def test_the_pages_need_no_script_style_attribute_cookie_or_other_site(
    cb: CallbackServer,
) -> None:
    """No script, no inline style, no Set-Cookie, no outside URL; the strict CSP is sent."""
    for path in ("/callback", "/callback/status", "/callback?lang=en"):
        status, page, response = await fetch(cb, path)
        assert status == 200
        assert "<script" not in page and "style=" not in page and "<style" not in page
        assert "http://" not in page and "https://" not in page
        assert "Set-Cookie" not in response.headers
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"
    status, css, response = await fetch(cb, "/callback/style.css")
    assert status == 200 and response.content_type == "text/css" and ".error" in css


async def test_errors_sit_next_to_their_fields_and_values_are_kept(cb: CallbackServer) -> None:
    """Every error at once: in a summary linking to the field and next to the field itself,
    which points at it with aria-describedby; typed values come back, escaped."""
    form = {
        **VALID_FORM,
        "phone": "12345",
        "window-1-start": "15:30",
        "window-1-end": "16:30",
        "alias": '<b>"Ros"</b>',
        "message": "x" * 301,
        "voicemail_ok": "on",
    }
    status, page, _ = await fetch(cb, "/callback", form)
    assert status == 422
    assert "<title>Fel: Bli uppringd av Nexus – Uppsala kommun</title>" in page
    assert '<div class="summary" role="alert"' in page
    for anchor in ("phone", "window-1-date", "message"):
        assert f'<a href="#{anchor}">' in page
    assert 'id="phone-error"' in page and 'aria-describedby="phone-hint phone-error"' in page
    assert 'aria-describedby="window-1-error" aria-invalid="true"' in page
    assert 'id="message-error"' in page
    assert 'value="12345"' in page  # re-filled in the body, never in a URL or a log
    assert "&lt;b&gt;&quot;Ros&quot;&lt;/b&gt;" in page and '<b>"Ros"</b>' not in page
    assert '<option value="15:30" selected>' in page
    assert 'name="voicemail_ok" value="on" checked' in page
    assert 'name="say_nexus_ok" value="on">' in page


async def test_errors_in_english(cb: CallbackServer) -> None:
    """The English page says what is wrong in English."""
    status, page, _ = await fetch(cb, "/callback?lang=en", {**VALID_FORM, "phone": ""})
    assert status == 422
    assert "Enter a phone number." in page and "Skriv ett telefonnummer" not in page


async def test_a_valid_form_shows_the_code_and_the_status_page_works_with_it(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """Success shows the code once; the status page shows it pending, then cancels it."""
    status, page, response = await fetch(cb, "/callback", VALID_FORM)
    assert status == 200 and "Set-Cookie" not in response.headers
    match = CODE_RE.search(page)
    assert match, page
    code = match[1]
    assert "onsdag 13 mars 13:00–14:00" in page
    status, page, _ = await fetch(cb, "/callback/status", {"code": code, "action": "status"})
    assert status == 200
    assert "Förfrågan väntar." in page and "Nästa tid: onsdag 13 mars 13:00–14:00" in page
    status, page, _ = await fetch(cb, "/callback/status", {"code": code, "action": "cancel"})
    assert status == 200 and "ditt nummer är raderat" in page
    assert request_keys(raw_redis) == []
    status, page, _ = await fetch(cb, "/callback/status", {"code": code, "action": "status"})
    assert status == 404
    assert 'id="code-error"' in page and 'aria-invalid="true"' in page


async def test_a_refused_duplicate_is_explained_at_the_phone_field(cb: CallbackServer) -> None:
    """Sending the same request twice: the second is refused next to the phone field."""
    assert (await fetch(cb, "/callback", VALID_FORM))[0] == 200
    status, page, _ = await fetch(cb, "/callback", VALID_FORM)
    assert status == 422
    assert 'id="phone-error"' in page and "Det finns redan en förfrågan" in page
