"""The legal pages over real HTTP: the privacy notice written from the running settings, the
accessibility statement and its fault report (bad input, no address kept), and the languages
on duty in /api/status that let the widget say when nobody speaks the visitor's language."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import aiohttp
import redis

from chat_server.store.a11y_reports import SERVICE_REPORTS_PER_H
from chat_server.web.appkeys import SERVICES
from chat_server.web.legal import MAX_REPORT_CHARS
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    open_console,
    raw_request,
    running_server,
    write_staff,
)

MARKER_ADDRESS = "203.0.113.77"


async def fetch(
    server: RunningServer, path: str, **kwargs: object
) -> tuple[int, str, dict[str, str]]:
    method = str(kwargs.pop("method", "GET"))
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{server.url}{path}", **kwargs) as response,  # type: ignore[arg-type]
    ):
        return response.status, await response.text(), dict(response.headers)


async def test_privacy_notice_follows_the_retention_settings(
    redis_url: str, staff_file: Path
) -> None:
    """Two servers with other retention settings publish other figures; no callbacks, no row."""
    base = make_settings(redis_url, staff_file, free_port())
    assert base.callbacks is not None
    longer = make_settings(redis_url, staff_file, free_port()).with_overrides(
        chat_ttl_s=2700,
        visitor_gone_ttl_s=300,
        callbacks=replace(base.callbacks, rules=replace(base.callbacks.rules, grace_s=7200)),
        supervisor=replace(base.supervisor, outcome_grace_s=3600),
        legal=replace(base.legal, a11y_report_days=14),
    )
    async with running_server(base) as server:
        _, default_page, _ = await fetch(server, "/integritet")
    async with running_server(longer) as server:
        _, longer_page, _ = await fetch(server, "/integritet")
        _, english, _ = await fetch(server, "/integritet?lang=en")
    off = make_settings(redis_url, staff_file, free_port()).with_overrides(callbacks=None)
    async with running_server(off) as server:
        _, no_callbacks, _ = await fetch(server, "/integritet")
    assert "raderas efter 30 minuter" in default_page and "i 2 minuter" in default_page
    assert "Senast 1 timme efter" in default_page and "upp till 30 minuter" in default_page
    assert "raderas efter 45 minuter" in longer_page and "i 5 minuter" in longer_page
    assert "Senast 2 timmar efter" in longer_page and "upp till 1 timme" in longer_page
    assert "<td>14 dagar</td>" in longer_page and "<td>30 dagar</td>" in default_page
    assert "deleted after 45 minutes" in english and "At the latest 2 hours" in english
    assert "ditt kodord" in default_page and "ditt kodord" not in no_callbacks


async def test_legal_pages_render_plainly_in_the_visitors_language(
    redis_url: str, staff_file: Path
) -> None:
    """Swedish by default, English on request and for untranslated languages; no cookie, the
    page CSP, the settings' controller, unreviewed languages listed, links to each other."""
    settings = make_settings(redis_url, staff_file, free_port())
    settings = settings.with_overrides(
        legal=replace(settings.legal, controller="Testnämnden <b>", a11y_contact="a11y@example.se")
    )
    async with running_server(settings) as server:
        status, privacy, headers = await fetch(server, "/integritet")
        assert status == 200 and '<html lang="sv">' in privacy
        assert "Testnämnden &lt;b&gt;" in privacy and "<b>" not in privacy.split("<main>")[1]
        assert "Set-Cookie" not in headers and "script-src" in headers["Content-Security-Policy"]
        assert "IP-adress" in privacy and 'href="/tillganglighet"' in privacy
        status, statement, _ = await fetch(server, "/tillganglighet?lang=fa")
        assert status == 200 and '<html lang="en">' in statement
        assert '<span lang="fa">فارسی</span>' in statement and "native speaker" in statement
        assert 'href="mailto:a11y@example.se"' in statement and "digg.se" in statement
        status, lattlast, _ = await fetch(server, "/tillganglighet?lang=sv-lattlast")
        assert status == 200 and '<html lang="sv">' in lattlast and "lättläst" in lattlast
        status, form, _ = await fetch(server, "/callback?lang=en")
        assert status == 200 and 'href="/integritet?lang=en"' in form


async def test_a_fault_report_is_kept_as_text_and_day_only(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """A report from a marked address is stored as {day, text} with a TTL; the address, sent
    as the source and as X-Forwarded-For, is in no key and not on the page."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with running_server(settings):
        body = b"message=Knappen+syns+inte+vid+zoom"
        request = (
            f"POST /tillganglighet HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: "
            f"{MARKER_ADDRESS}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        answer = await raw_request(settings.port, request, source_ip="127.0.0.2")
    assert answer.startswith(b"HTTP/1.1 200") and b"Tack!" in answer
    assert MARKER_ADDRESS.encode() not in answer and b"127.0.0.2" not in answer
    entries = [json.loads(e) for e in raw_redis.lrange("nx:a11y:reports", 0, -1)]  # type: ignore[union-attr]
    assert [set(e) for e in entries] == [{"day", "text"}]
    assert entries[0]["text"] == "Knappen syns inte vid zoom"
    assert 0 < raw_redis.ttl("nx:a11y:reports") <= 30 * 86400  # type: ignore[operator]
    for key in raw_redis.scan_iter("*"):
        dumped = repr(raw_redis.dump(key))
        assert MARKER_ADDRESS not in dumped and "127.0.0.2" not in dumped, key


async def test_bad_fault_reports_get_a_clear_4xx(redis_url: str, staff_file: Path) -> None:
    """Empty, too long, too large, unreadable and wrong-method reports: 422, 413, 400, 405,
    with the error next to the field and the typed text kept (escaped)."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with running_server(settings) as server:
        status, page, _ = await fetch(
            server, "/tillganglighet", method="POST", data={"message": " "}
        )
        assert status == 422 and 'id="report-error" role="alert"' in page
        assert 'aria-invalid="true"' in page and "<title>Fel:" in page
        long_text = "<x>" + "a" * MAX_REPORT_CHARS
        status, page, _ = await fetch(
            server, "/tillganglighet?lang=en", method="POST", data={"message": long_text}
        )
        assert status == 422 and "too long" in page and "&lt;x&gt;" in page and "<x>" not in page
        status, _, _ = await fetch(
            server, "/tillganglighet", method="POST", data={"message": "a" * 70_000}
        )
        assert status == 413
        status, _, _ = await fetch(
            server,
            "/tillganglighet",
            method="POST",
            data=b"message=\xff",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 400
        for method in ("PUT", "DELETE"):
            status, _, _ = await fetch(server, "/tillganglighet", method=method)
            assert status == 405
        status, _, _ = await fetch(server, "/integritet", method="POST", data={"message": "x"})
        assert status == 405


async def test_reports_have_a_service_wide_hourly_limit(redis_url: str, staff_file: Path) -> None:
    """Past the hourly limit of the whole service a report gets 429; staff read them signed in."""
    write_staff(staff_file, {"sara": {"role": "supervisor", "languages": ["sv"]}})
    settings = make_settings(redis_url, staff_file, free_port())
    async with running_server(settings) as server:
        for n in range(SERVICE_REPORTS_PER_H):
            status, _, _ = await fetch(
                server, "/tillganglighet", method="POST", data={"message": f"fel {n}"}
            )
            assert status == 200
        status, page, _ = await fetch(
            server, "/tillganglighet", method="POST", data={"message": "x"}
        )
        assert status == 429 and "många rapporter" in page
        status, _, _ = await fetch(server, "/supervisor/api/a11y-reports")
        assert status == 401


async def test_status_lists_the_languages_of_counsellors_on_duty(
    redis_url: str, staff_file: Path
) -> None:
    """/api/status gives the languages of available counsellors, none when nobody is."""
    write_staff(staff_file, {"dana": {"languages": ["sv", "fa", "ti"], "capacity": 2}})
    settings = make_settings(redis_url, staff_file, free_port())
    async with running_server(settings) as server:
        dispatcher = server.app[SERVICES].dispatcher
        assert dispatcher is not None
        await dispatcher.run_round()
        _, body, _ = await fetch(server, "/api/status")
        assert json.loads(body)["languages_on_duty"] == []
        console = await open_console(server, "dana", presence="available")
        await dispatcher.run_round()
        _, body, _ = await fetch(server, "/api/status")
        assert json.loads(body)["languages_on_duty"] == ["fa", "sv", "ti"]
        await console.close()
