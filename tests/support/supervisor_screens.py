"""Made-up data for the supervisor pages, and the screenshots of them in docs/img/.

``seed_statistics`` counts a few weeks of invented chats, callbacks and survey answers (a
fixed seed, so the pictures only change when the pages do), with some small counts that the
statistics page must withhold. ``seed_live`` puts visitors in the queue, counsellors on duty
and a raised hand. The browser tests use both; ``main`` (``ops/screenshots-supervisor``)
starts a private Redis and the real app and writes ``supervisor-live.png``,
``supervisor-stats.png`` and ``supervisor-stats-print.png``.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from chat_server.domain.outcomes import OUTCOMES
from chat_server.store.embedded import EmbeddedRedis
from chat_server.supervisor_config import SupervisorConfig
from chat_server.web.appkeys import SERVICES
from chat_server.web.supervision import Supervision
from tests.support.browser import chromium_browser, sign_in_to_console
from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    open_console,
    start_visitor,
    write_staff,
)

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

TZ = ZoneInfo("Europe/Stockholm")
DAY_MS = 86_400_000

STAFF = {  # the names tests/conftest.py gives its staff too
    "anna": {"display_name": "Anna", "languages": ["sv", "en"], "capacity": 2},
    "bo": {"display_name": "Bo", "languages": ["sv", "ar"], "capacity": 2},
    "sara": {"display_name": "Sara", "role": "supervisor", "capacity": 2},
}
TOPICS = (
    ("violence_close", 46), ("honour", 22), ("sex_for_compensation", 6), ("older_person", 9),
    ("worried_other", 10), ("professional", 5), ("other", 2),
)  # fmt: skip
LANGUAGES = (("sv", 72), ("en", 9), ("ar", 11), ("fa", 4), ("so", 2), ("uk", 2))
REFERRALS = [o.code for o in OUTCOMES if o.code.startswith("referral_")]
HELP = [o.code for o in OUTCOMES if o.group == "help"] or ["support_talk"]


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([code for code, _ in weighted], [w for _, w in weighted])[0]


async def seed_statistics(
    supervision: Supervision, now_ms: int, *, chats: int = 160, days: int = 28
) -> None:
    """Count ``chats`` invented chats over the last ``days`` days (opening hours 9–16), plus
    callbacks and survey answers today: enough that most cells are published and a few
    (a rare language, a rare referral, abandoned chats of a quiet week) are withheld."""
    rng = random.Random(18)
    store = supervision.stats
    today = datetime.fromtimestamp(now_ms / 1000, TZ).date()
    for _ in range(chats):
        day = today - timedelta(days=rng.randrange(days))
        start = datetime(day.year, day.month, day.day, rng.randrange(9, 16), rng.randrange(60),
                         tzinfo=TZ)  # fmt: skip
        enqueued_ms = min(int(start.timestamp() * 1000), now_ms - 3_600_000)
        answered = rng.random() < 0.86
        wait_ms = int(rng.expovariate(1 / 70) * 1000) if answered else rng.randrange(5, 400) * 1000
        outcomes = [rng.choice(HELP)] + ([rng.choice(REFERRALS)] if rng.random() < 0.4 else [])
        await store.record_chat_end(
            enqueued_ms=enqueued_ms,
            answered_ms=enqueued_ms + wait_ms if answered else 0,
            ended_ms=enqueued_ms + wait_ms + rng.randrange(300, 2400) * 1000,
            topic=_pick(rng, TOPICS),
            language=_pick(rng, LANGUAGES),
            urgent=rng.random() < 0.1,
            reason="counsellor_ended" if answered else "visitor_ended",
            outcomes=outcomes,
        )
    for status, count in (("requested", 9), ("completed", 6), ("failed", 1), ("cancelled", 2)):
        for _ in range(count):
            await store.record_callback(status, now_ms=now_ms)  # type: ignore[arg-type]
    for helped, again in ((5, "yes"), (4, "yes"), (5, "yes"), (3, "unsure"), (4, "yes"),
                          (5, "yes"), (2, "no"), (4, "yes")):  # fmt: skip
        await store.record_feedback(helped, again, now_ms=now_ms)


async def seed_queue_history(supervision: Supervision, now_ms: int) -> None:
    """Three hours of queue-length samples, then make the live view send them again."""
    config = supervision.config
    step_ms = int(config.queue_sample_interval_s * 1000)
    rng = random.Random(5)
    waiting = 1
    for at in range(now_ms - 3 * 3_600_000, now_ms, step_ms):
        waiting = max(0, min(9, waiting + rng.choice((-1, 0, 0, 1))))
        await supervision.stats.sample_queue(
            at, waiting, config.queue_sample_interval_s, config.queue_history_s
        )
    supervision.monitor.latest_history = None  # recomputed from the samples on the next pass
    supervision.monitor.poke()


async def seed_live(server: RunningServer, supervision: Supervision) -> list[Client]:
    """Visitors waiting (three topics, two languages), two counsellors on duty, one holding
    a chat, one paused, and Bo's raised hand. Returns the sockets to close afterwards."""
    clients: list[Client] = []
    for topic, language in (("violence_close", "sv"), ("honour", "ar"), ("older_person", "sv"),
                            ("violence_close", "sv"), ("honour", "sv")):  # fmt: skip
        visitor, _ = await start_visitor(server, topic=topic, language=language)
        clients.append(visitor)
    anna = await open_console(server, "anna")
    await anna.send(type="take")
    await anna.expect("chat_opened")
    bo = await open_console(server, "bo")
    await bo.send(type="presence", presence="paused")
    clients += [anna, bo]
    await server.app[SERVICES].redis.publish(  # as a console raising a hand publishes it
        supervision.stats.keys.supervisor_channel, json.dumps({"kind": "raised_hand", "user": "bo"})
    )
    return clients


async def shoot(out_dir: Path) -> list[Path]:
    """Start Redis and the app, seed them, and write the three screenshots to ``out_dir``."""
    from tests.integration.supervisor_helpers import supervised_server

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis() as redis_server:
        staff_file = Path(tmp) / "staff.json"
        write_staff(staff_file, STAFF)
        settings = make_settings(redis_server.url, staff_file, free_port())
        config = SupervisorConfig(queue_sample_interval_s=60.0, stats_flush_interval_s=3600.0)
        async with supervised_server(settings, config) as server:
            now = server.supervision.stats.clock_ms()
            await seed_statistics(server.supervision, now)
            await seed_queue_history(server.supervision, now)
            clients = await seed_live(server, server.supervision)
            async with chromium_browser() as browser:
                viewport: ViewportSize = {"width": 1280, "height": 900}
                context = await browser.new_context(viewport=viewport, locale="sv-SE")
                page = await context.new_page()
                await sign_in_to_console(page, server.url, "sara")
                await page.goto(f"{server.url}/supervisor/")
                await page.locator("#hands li.alert").wait_for()
                await page.locator("#history-chart svg path.line").wait_for()
                await page.locator("#waiting").filter(has_text="4").wait_for()
                written.append(out_dir / "supervisor-live.png")
                await page.screenshot(path=written[-1], full_page=True)
                await page.goto(f"{server.url}/supervisor/stats")
                await page.locator("body[data-drawn]").wait_for(state="attached")
                written.append(out_dir / "supervisor-stats.png")
                await page.screenshot(path=written[-1], full_page=True)
                await page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
                await page.emulate_media(media="print")
                await page.locator("#chart-weeks svg[width='640']").wait_for(state="attached")
                written.append(out_dir / "supervisor-stats-print.png")
                await page.screenshot(path=written[-1], full_page=True)
                await context.close()
            for client in clients:
                await client.close()
    return written


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else Path("docs/img")
    for path in asyncio.run(shoot(out_dir)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
