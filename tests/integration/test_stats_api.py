"""The statistics API and CSV export: a scripted day counted exactly, bad ranges refused."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis

from chat_server.domain.stats_export import export_fields, render_csv, to_csv_rows
from chat_server.store.stats import StatsStore
from tests.integration.supervisor_helpers import (
    SupervisedServer,
    day_counters,
    is_wired,
    signed_in,
    supervised_server,
)
from tests.integration.test_stats_store import ms
from tests.support.servers import free_port, make_settings, open_console, start_visitor

DAY = date(2024, 5, 6)

# The scripted day, counted by hand: 12 answered and 3 abandoned chats, 6 callbacks, 7 forms.
EXPECTED_DAY = {
    "chats_offered": 15, "chats_answered": 12, "chats_abandoned": 3, "chats_abandoned_short": 1,
    "topic:violence_close": 6, "topic:honour": 8, "topic:professional": 1,
    "language:sv": 13, "language:ar": 2,
    "offered_by_hour:10": 9, "offered_by_hour:14": 6, "answered_by_hour:10": 9,
    "answered_by_hour:14": 3, "abandoned_by_hour:14": 3,
    "wait:le_30": 5, "wait:le_60": 4, "wait:le_120": 2, "wait:le_600": 1,
    "abandon_wait:le_10": 1, "abandon_wait:le_300": 1, "abandon_wait:le_1200": 1,
    "handle:le_1200": 12, "outcome:support_talk": 12, "outcome:referral_shelter": 5,
    "end_reason:counsellor_ended": 12, "end_reason:quick_exit": 1, "end_reason:visitor_ended": 2,
    "callbacks_requested": 6, "callbacks_completed": 5, "callbacks_failed": 1,
    "feedback_responses": 7, "feedback:helped:5": 5, "feedback:helped:4": 2,
    "feedback:contact_again:yes": 6, "feedback:contact_again:unsure": 1,
}  # fmt: skip


async def play_scripted_day(stats: StatsStore) -> None:
    """The chats, callbacks and survey answers of DAY, fed to the store as the hooks would."""
    waits = [20] * 5 + [45] * 4 + [100] * 2 + [400]
    topics = ["violence_close"] * 6 + ["honour"] * 5 + ["professional"]
    for i, (wait_s, topic) in enumerate(zip(waits, topics, strict=True)):
        offered = ms(2024, 5, 6, 10 if i < 9 else 14, i)
        await stats.record_chat_end(
            enqueued_ms=offered, answered_ms=offered + wait_s * 1000,
            ended_ms=offered + wait_s * 1000 + 900_000, topic=topic,
            language="ar" if i in (3, 7) else "sv", urgent=False, reason="counsellor_ended",
            outcomes=("support_talk", "referral_shelter") if i < 5 else ("support_talk",),
        )  # fmt: skip
    for wait_s, reason in ((5, "quick_exit"), (200, "visitor_ended"), (700, "visitor_ended")):
        offered = ms(2024, 5, 6, 14, 30)
        await stats.record_chat_end(
            enqueued_ms=offered, answered_ms=0, ended_ms=offered + wait_s * 1000,
            topic="honour", language="sv", urgent=False, reason=reason,
        )  # fmt: skip
    at = ms(2024, 5, 6, 16)
    for status in ["requested"] * 6 + ["completed"] * 5 + ["failed"]:
        await stats.record_callback(status, now_ms=at)  # type: ignore[arg-type]
    for helped, again in [(5, "yes")] * 5 + [(4, "yes"), (4, "unsure")]:
        await stats.record_feedback(helped, again, now_ms=at)


@pytest_asyncio.fixture
async def sup(redis_url: str, staff_file: Path) -> AsyncIterator[SupervisedServer]:
    async with supervised_server(make_settings(redis_url, staff_file, free_port())) as server:
        yield server


@pytest_asyncio.fixture
async def sara(sup: SupervisedServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with signed_in(sup, "sara") as http:
        yield http


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.get(url) as response:
        body = await (
            response.json() if response.content_type == "application/json" else response.text()
        )
        return response.status, body, response


async def test_a_scripted_day_is_counted_exactly(
    sup: SupervisedServer, sara: aiohttp.ClientSession, raw_redis: redis.Redis
) -> None:
    """Redis holds exactly the hand-counted totals; the report publishes them suppressed."""
    await play_scripted_day(sup.supervision.stats)
    stored = raw_redis.hgetall("nx:stats:day:2024-05-06")
    assert {k: int(v) for k, v in stored.items()} == EXPECTED_DAY
    status, report, _ = await get(
        sara, f"{sup.url}/supervisor/api/stats?start=2024-05-01&end=2024-05-12"
    )
    assert status == 200
    total = report["total"]
    assert (report["start"], report["end"], report["days"], report["min_count"]) == (
        "2024-05-01",
        "2024-05-12",
        12,
        5,
    )
    assert total["chats_offered"] == 15 and total["wait:le_30"] == 5
    assert total["chats_abandoned"] == "<5" and total["topic:professional"] == "<5"
    assert total["chats_answered"] == "x"  # 15 − "<5" would give the abandoned count away
    assert total["topic:older_person"] == 0
    assert [(w["week"], w["chats_offered"]) for w in report["weeks"]] == [
        ("2024-W18", 0), ("2024-W19", 15),
    ]  # fmt: skip
    assert report["service_levels"] == {"60": round(9 / 14, 2), "120": round(11 / 14, 2)}
    assert report["median_wait"] == "le_60"
    assert report["labels"]["referral_shelter"] == ["Skyddat boende", "Shelter"]
    # the shipped survey's questions, which the page draws a chart for each
    assert [(q["id"], q["kind"]) for q in report["survey"]] == [
        ("helped", "scale"), ("contact_again", "choice"),
    ]  # fmt: skip


async def test_the_csv_is_the_scripted_day_suppressed_row_by_row(
    sup: SupervisedServer, sara: aiohttp.ClientSession
) -> None:
    """One row per day of the range, every column of the vocabulary, small cells withheld."""
    await play_scripted_day(sup.supervision.stats)
    status, text, response = await get(
        sara, f"{sup.url}/supervisor/api/stats.csv?start=2024-05-05&end=2024-05-07"
    )
    assert status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="nexus-chat-statistik_2024-05-05_2024-05-07.csv"'
    )
    per_day = {DAY - timedelta(days=1): {}, DAY: EXPECTED_DAY, DAY + timedelta(days=1): {}}
    assert text == render_csv(to_csv_rows(per_day, export_fields(per_day)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["date"] for row in rows] == ["2024-05-05", "2024-05-06", "2024-05-07"]
    day = rows[1]
    assert (day["chats_offered"], day["chats_answered"], day["chats_abandoned"]) == (
        "15",
        "x",
        "<5",
    )
    # 6 = 5 + "<5" would pin the failed one: completed and then the total are withheld too.
    assert (day["callbacks_requested"], day["callbacks_completed"], day["callbacks_failed"]) == (
        "x",
        "x",
        "<5",
    )
    assert all(cell == "0" for cell in list(rows[0].values())[1:])
    assert set(rows[1].values()) - {"2024-05-06"} <= {"0", "<5", "x"} | {
        str(n) for n in range(5, 16)
    }


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("start=2024-05-10&end=2024-05-01", "end_before_start"),
        ("start=2024-05-01&end=2999-01-01", "end_in_future"),
        ("start=2020-01-01&end=2024-05-01", "range_too_long"),
        ("start=2024-5-1&end=2024-05-02", "invalid_date"),
        ("start=2024-02-30&end=2024-03-01", "invalid_date"),
        ("end=2024-03-01", "invalid_date"),
        ("start=%3Cscript%3E&end=2024-03-01", "invalid_date"),
    ],
)
async def test_bad_ranges_get_a_clear_400(
    sup: SupervisedServer, sara: aiohttp.ClientSession, query: str, code: str
) -> None:
    """Each kind of bad range names its problem in Swedish and English, for JSON and CSV."""
    for path in ("stats", "stats.csv"):
        status, body, _ = await get(sara, f"{sup.url}/supervisor/api/{path}?{query}")
        assert (status, body["error"]) == (400, code)
        assert " / " in body["message"]


async def test_a_full_year_is_the_longest_range(
    sup: SupervisedServer, sara: aiohttp.ClientSession
) -> None:
    """366 days are read (from Redis and the roll-ups) and answered; 367 are refused."""
    today = sup.supervision.stats.today()
    start = today - timedelta(days=365)
    status, report, _ = await get(sara, f"{sup.url}/supervisor/api/stats?start={start}&end={today}")
    assert (status, report["days"]) == (200, 366)
    status, body, _ = await get(
        sara, f"{sup.url}/supervisor/api/stats?start={start - timedelta(days=1)}&end={today}"
    )
    assert (status, body["error"]) == (400, "range_too_long")


async def test_no_dates_mean_four_weeks_to_the_services_today(
    sup: SupervisedServer, sara: aiohttp.ClientSession
) -> None:
    """Without start and end the range is the 28 days ending today in the service's time zone
    (the page asks for it first: a browser's clock may be on another day)."""
    today = sup.supervision.stats.today()
    status, report, _ = await get(sara, f"{sup.url}/supervisor/api/stats")
    assert status == 200
    assert (report["start"], report["end"], report["days"]) == (
        str(today - timedelta(days=27)), str(today), 28
    )


async def test_a_real_chat_end_is_counted_through_the_app(
    sup: SupervisedServer, raw_redis: redis.Redis
) -> None:
    """A chat taken, answered and ended in the console, and one left in the queue, count."""
    today = sup.supervision.stats.today()
    visitor, _ = await start_visitor(sup, topic="honour", language="sv")
    console = await open_console(sup, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await console.send(type="end", chat_id=chat_id, outcome=["support_talk", "referral_police"])
    await visitor.expect("ended")
    leaver, _ = await start_visitor(sup, topic="older_person", language="en")
    await leaver.send(type="end", quick=True)
    await leaver.expect("ended")
    counted = day_counters(raw_redis, today)
    if not counted and not is_wired(sup.app):
        pytest.skip("stats hook not wired")
    hour = next(k for k in counted if k.startswith("answered_by_hour:"))
    assert counted == {
        "chats_offered": 2, "chats_answered": 1, "chats_abandoned": 1, "chats_abandoned_short": 1,
        "topic:honour": 1, "topic:older_person": 1, "language:sv": 1, "language:en": 1,
        "offered_by_hour:" + hour[-2:]: 2, hour: 1, "abandoned_by_hour:" + hour[-2:]: 1,
        "wait:le_10": 1, "abandon_wait:le_10": 1, "handle:le_60": 1,
        "outcome:support_talk": 1, "outcome:referral_police": 1,
        "end_reason:counsellor_ended": 1, "end_reason:quick_exit": 1,
    }  # fmt: skip
    await console.close()
    await visitor.close()
    await leaver.close()
