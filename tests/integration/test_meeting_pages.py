"""/chatt and /affisch over real HTTP, without NEXUS_DEMO: the page and the poster from the
running settings, and the bad input (an unknown language, an odd kiosk value) as 400 pages."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from pathlib import Path

import aiohttp

from chat_server.domain.weekly_text import DayGroup, day_groups, group_text
from chat_server.web.security import PAGE_CSP
from tests.support.servers import free_port, make_settings, running_server


async def get(url: str) -> tuple[int, str, str]:
    """Status, body and Content-Security-Policy of a GET."""
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return (
            response.status,
            await response.text(),
            response.headers.get("Content-Security-Policy", ""),
        )


def test_weekly_hours_group_consecutive_days() -> None:
    """Days with the same hours are joined; closed days get no hours."""
    nine_four = ((time(9), time(16)),)
    weekly = {0: nine_four, 1: nine_four, 2: nine_four, 3: nine_four, 4: ((time(9), time(12)),)}
    groups = day_groups(weekly)
    assert groups == [
        DayGroup(0, 3, nine_four),
        DayGroup(4, 4, ((time(9), time(12)),)),
        DayGroup(5, 6, ()),
    ]
    names = ["mån", "tis", "ons", "tors", "fre", "lör", "sön"]
    assert [group_text(group, names) for group in groups] == [
        ("mån–tors", "09:00–16:00"),
        ("fre", "09:00–12:00"),
        ("lör–sön", ""),
    ]


async def test_pages_and_their_bad_input(redis_url: str, staff_file: Path) -> None:
    """The pages answer 200 under the page CSP; unknown languages and kiosk values get 400."""
    settings = make_settings(
        redis_url, staff_file, free_port(), kiosk_idle_s=42, opening_hours="mon-fri 09:00-16:00"
    )
    settings = settings.with_overrides(console=replace(settings.console, nexus_phone="018-000 11"))
    async with running_server(settings) as server:
        status, body, csp = await get(f"{server.url}/chatt?kiosk=1&lang=en")
        assert (status, csp) == (200, PAGE_CSP)
        assert 'data-layout="page"' in body and 'data-kiosk-idle-s="42"' in body
        assert '<html lang="en" dir="ltr">' in body and "<noscript>" in body
        status, body, _ = await get(f"{server.url}/chatt")
        assert status == 200 and "data-kiosk" not in body
        status, body, csp = await get(f"{server.url}/affisch?lang=fa")
        assert (status, csp) == (200, PAGE_CSP)
        assert f"{server.url.split('://')[1]}/chatt?lang=fa" in body and 'dir="rtl"' in body
        assert '<span dir="ltr">09:00–16:00</span>' in body and "<svg" in body
        assert ">018-000 11</strong>" in body
        for path in ("/chatt?lang=xx", "/affisch?lang=sv%00", "/chatt?kiosk=yes", "/affisch?lang="):
            status, body, _ = await get(f"{server.url}{path}")
            assert status == 400, path
            assert "<h1>" in body and "Traceback" not in body
        _, body, _ = await get(f"{server.url}/affisch?lang=xx")
        assert 'href="/affisch?lang=ti"' in body  # the refusal lists every language
