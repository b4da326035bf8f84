"""The evaluation report page and CSV: real counts in Redis, suppression, roles, bad input."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from redis.asyncio import Redis

from chat_server.store.stats import issue_feedback_token
from chat_server.web.audit_trail import AUDIT
from tests.integration.supervisor_helpers import (
    FAST_CONFIG,
    SupervisedServer,
    signed_in,
    supervised_server,
)
from tests.integration.test_stats_api import play_scripted_day
from tests.support.servers import free_port, make_settings

EXTRA_QUESTION = {
    "id": "practical_help",
    "kind": "yes_no",
    "text": {"sv": "Fick du veta vart du kan vända dig för praktisk hjälp?",
             "en": "Did you learn where to turn for practical help?"},
}  # fmt: skip
SHIPPED = Path(__file__).resolve().parents[2] / "chat_server" / "data" / "survey.json"


def survey_file(directory: Path) -> Path:
    document = json.loads(SHIPPED.read_text("utf-8"))
    document["questions"].append(EXTRA_QUESTION)
    path = directory / "survey-config.json"
    path.write_text(json.dumps(document), "utf-8")
    return path


@pytest_asyncio.fixture
async def sup(redis_url: str, staff_file: Path) -> AsyncIterator[SupervisedServer]:
    config = dataclasses.replace(FAST_CONFIG, survey_file=survey_file(staff_file.parent))
    settings = make_settings(redis_url, staff_file, free_port())
    async with supervised_server(settings, config) as server:
        yield server


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, aiohttp.ClientResponse]:
    async with http.get(url, allow_redirects=False) as response:
        return response.status, await response.text(), response


async def answer_survey(server: SupervisedServer, answers: dict[str, Any]) -> None:
    """One form, posted as the widget does with the token a chat end issues."""
    client = Redis.from_url(server.settings.redis_url, decode_responses=True)
    try:
        token = await issue_feedback_token(client, "nx:")
    finally:
        await client.aclose()
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/feedback", json={"token": token, "answers": answers},
                  headers={"Origin": server.url}) as response,
    ):  # fmt: skip
        assert response.status == 204


async def test_the_report_shows_a_period_with_data_suppressed(sup: SupervisedServer) -> None:
    """Months, referrals, waits and callbacks of a real counted day, small counts in words."""
    await play_scripted_day(sup.supervision.stats)
    async with signed_in(sup, "sara") as sara:
        status, page, response = await get(
            sara, f"{sup.url}/supervisor/report?from=2024-05-01&to=2024-06-30"
        )
    assert status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert '<html lang="sv">' in page and "Period: 1 maj 2024 – 30 juni 2024 (61 dagar)" in page
    assert '<tr><th scope="row">maj 2024</th><td>15</td><td>dolt</td><td>färre än 5</td></tr>' in (
        page
    )
    assert '<tr><th scope="row">Skyddat boende</th><td>5</td></tr>' in page
    assert '<tr><th scope="row">Stödteamet (praktiskt stöd)</th><td>0</td></tr>' in page
    # 9 of 14 would give away the 4 who waited 30-60 s (the 5 within 30 s are published).
    assert "<dt>Besvarade inom 1 min</dt><dd>dolt</dd>" in page
    assert "<dt>Medianväntetid</dt><dd>högst 1 min</dd>" in page
    assert "<dt>Andel nådda</dt><dd>för få för att redovisas</dd>" in page  # completed is "x"
    assert page.count("<svg") >= 10 and "<script" not in page
    assert "&lt;5" not in page and ">x<" not in page


async def test_the_csv_has_the_same_tables(sup: SupervisedServer) -> None:
    """One row per table cell, the same withheld markers, a download file name."""
    await play_scripted_day(sup.supervision.stats)
    async with signed_in(sup, "sara") as sara:
        status, text, response = await get(
            sara, f"{sup.url}/supervisor/report.csv?from=2024-05-01&to=2024-06-30"
        )
    assert status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="nexus-chat-utvardering_2024-05-01_2024-06-30.csv"'
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["tabell", "rad", "kolumn", "värde"]
    assert ["Chattar per månad", "maj 2024", "Lämnade kön", "<5"] in rows
    assert ["Chattar per månad", "juni 2024", "Chattar", "0"] in rows
    assert ["Hänvisningar", "Skyddat boende", "Chattar", "5"] in rows
    assert ["Chattar per veckodag", "måndag", "Chattar", "15"] in rows
    by_block = "Chattar per veckodag och tid på dygnet (klockslag)"
    assert [by_block, "måndag", "09–12", "9"] in rows and [by_block, "måndag", "12–15", "6"] in rows
    assert ["Fick du den hjälp du behövde?", "5", "Antal", "x"] in rows  # 7 = 5 + "<5"
    exported = [e for e in sup.app[AUDIT].page(limit=50).events if e["kind"] == "stats_exported"]
    assert [(e["actor"], e["range"]) for e in exported] == [("sara", "2024-05-01/2024-06-30")]


async def test_a_configured_question_is_counted_and_reported(sup: SupervisedServer) -> None:
    """Answers to an added question are counted per answer and get their own table."""
    for _ in range(5):
        await answer_survey(sup, {"helped": 5, "practical_help": "yes"})
    for _ in range(2):
        await answer_survey(sup, {"practical_help": "no", "contact_again": None})
    today = sup.supervision.stats.today().isoformat()
    async with signed_in(sup, "sara") as sara:
        _, text, _ = await get(sara, f"{sup.url}/supervisor/report.csv?from={today}&to={today}")
        status, page, _ = await get(
            sara, f"{sup.url}/supervisor/report?from={today}&to={today}&lang=en"
        )
    rows = list(csv.reader(io.StringIO(text)))
    title_sv = EXTRA_QUESTION["text"]["sv"]  # type: ignore[index]
    assert [title_sv, "Ja", "Antal", "x"] in rows and [title_sv, "Nej", "Antal", "<5"] in rows
    assert status == 200 and '<html lang="en">' in page
    assert "Did you learn where to turn for practical help?" in page
    assert "<dt>Survey answers</dt><dd>7</dd>" in page


async def test_an_empty_period_renders_and_says_so(sup: SupervisedServer) -> None:
    """No counts at all: the page says there is no data, the CSV has zeros only."""
    async with signed_in(sup, "sara") as sara:
        status, page, _ = await get(
            sara, f"{sup.url}/supervisor/report?from=2023-01-01&to=2023-01-31"
        )
        _, text, _ = await get(
            sara, f"{sup.url}/supervisor/report.csv?from=2023-01-01&to=2023-01-31"
        )
    assert status == 200
    assert "Det finns inga uppgifter för den här perioden." in page
    assert {row[3] for row in list(csv.reader(io.StringIO(text)))[1:]} == {"0"}


async def test_only_supervisors_get_the_report(sup: SupervisedServer) -> None:
    """Nobody signed in: the page sends to the login, the CSV is 401; a counsellor gets 403."""
    query = "from=2024-05-01&to=2024-05-31"
    async with aiohttp.ClientSession() as anonymous:
        status, _, response = await get(anonymous, f"{sup.url}/supervisor/report?{query}")
        assert (status, response.headers["Location"]) == (303, "/console/login")
        assert (await get(anonymous, f"{sup.url}/supervisor/report.csv?{query}"))[0] == 401
    async with signed_in(sup, "anna") as anna:
        assert (await get(anna, f"{sup.url}/supervisor/report?{query}"))[0] == 403
        assert (await get(anna, f"{sup.url}/supervisor/report.csv?{query}"))[0] == 403


BAD_QUERIES = [
    ("from=2024-05-10&to=2024-05-01", "end_before_start", "ligger före startdatum"),
    ("from=2024-05-01&to=2999-01-01", "end_in_future", "ligger i framtiden"),
    ("from=2020-01-01&to=2024-05-01", "range_too_long", "högst 731 dagar"),
    ("from=2024-02-30&to=2024-03-01", "invalid_date", "Ogiltigt startdatum"),
    ("from=2024-02-01", "invalid_date", "Ogiltigt slutdatum"),
    ("from=%3Cb%3E&to=2024-03-01", "invalid_date", "Ogiltigt startdatum &#x27;&lt;b&gt;&#x27;"),
    ("from=2024-02-01&to=2024-03-01&lang=fr", "unknown_language", "Okänt språk &#x27;fr&#x27;"),
]


async def test_bad_parameters_get_a_clear_400(sup: SupervisedServer) -> None:
    """Each bad period or language: a Swedish page for the HTML, a code for the CSV; no 5xx."""
    async with signed_in(sup, "sara") as sara:
        for query, code, says in BAD_QUERIES:
            status, page, response = await get(sara, f"{sup.url}/supervisor/report?{query}")
            assert (status, response.content_type) == (400, "text/html"), query
            assert says in page and "<b>" not in page and " / " not in page, query
            async with sara.get(f"{sup.url}/supervisor/report.csv?{query}") as csv_response:
                assert csv_response.status == 400, query
                assert (await csv_response.json())["error"] == code, query
