"""POST /api/feedback: the anonymous post-chat survey, counted and never linkable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis
from redis.asyncio import Redis

from chat_server.store.stats import issue_feedback_token
from tests.integration.supervisor_helpers import (
    SupervisedServer,
    day_counters,
    supervised_server,
)
from tests.support.servers import free_port, make_settings

WIDGET_ORIGIN = "https://www.uppsala.se"


@pytest_asyncio.fixture
async def sup(redis_url: str, staff_file: Path) -> AsyncIterator[SupervisedServer]:
    port = free_port()
    settings = make_settings(redis_url, staff_file, port)
    settings = settings.with_overrides(allowed_origins=(WIDGET_ORIGIN, settings.origin))
    async with supervised_server(settings) as server:
        yield server


async def token_for(server: SupervisedServer) -> str:
    """A token as the chat end path issues it into the visitor's ``ended`` frame."""
    client = Redis.from_url(server.settings.redis_url, decode_responses=True)
    try:
        return await issue_feedback_token(client, "nx:")
    finally:
        await client.aclose()


async def send(
    server: SupervisedServer, body: Any, origin: str = WIDGET_ORIGIN
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/feedback", json=body, headers={"Origin": origin}) as response,
    ):
        answer = await response.json() if response.status != 204 else {}
        return response.status, answer, response


def today_counts(server: SupervisedServer, raw_redis: redis.Redis) -> dict[str, int]:
    return day_counters(raw_redis, server.supervision.stats.today())


async def test_an_answer_is_counted_once_without_a_cookie(
    sup: SupervisedServer, raw_redis: redis.Redis
) -> None:
    """A valid token is used up: 204 with CORS for the widget, no cookie; a replay gets 404."""
    token = await token_for(sup)
    status, _, response = await send(sup, {"token": token, "helped": 4, "contact_again": "unsure"})
    assert status == 204
    assert response.headers["Access-Control-Allow-Origin"] == WIDGET_ORIGIN
    assert "Set-Cookie" not in response.headers
    assert today_counts(sup, raw_redis) == {
        "feedback_responses": 1, "feedback:helped:4": 1, "feedback:contact_again:unsure": 1,
    }  # fmt: skip
    status, answer, _ = await send(sup, {"token": token, "helped": 1})
    assert (status, answer) == (404, {"error": "unknown_token"})
    assert today_counts(sup, raw_redis)["feedback_responses"] == 1
    assert raw_redis.keys("nx:feedback:*") == []


async def test_unanswered_questions_may_be_left_out(
    sup: SupervisedServer, raw_redis: redis.Redis
) -> None:
    """Both questions are optional: null or missing adds only the response count."""
    assert (await send(sup, {"token": await token_for(sup), "helped": None}))[0] == 204
    assert today_counts(sup, raw_redis) == {"feedback_responses": 1}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"helped": 6}, "helped"),
        ({"helped": 0}, "helped"),
        ({"helped": True}, "helped"),
        ({"helped": "5"}, "helped"),
        ({"helped": 4.0}, "helped"),
        ({"contact_again": "kanske"}, "contact_again"),
        ({"contact_again": 1}, "contact_again"),
    ],
)
async def test_a_wrong_answer_is_refused_and_the_token_kept(
    sup: SupervisedServer, raw_redis: redis.Redis, body: dict[str, Any], field: str
) -> None:
    """422 names the field; nothing is counted and a corrected answer still goes through."""
    token = await token_for(sup)
    status, answer, _ = await send(sup, {"token": token, **body})
    assert (status, answer) == (422, {"error": "invalid_field", "field": field})
    assert today_counts(sup, raw_redis) == {}
    assert (await send(sup, {"token": token, "helped": 5}))[0] == 204


@pytest.mark.parametrize("body", [{"helped": 5}, {"token": "", "helped": 5}, ["token"]])
async def test_no_token_no_count(sup: SupervisedServer, raw_redis: redis.Redis, body: Any) -> None:
    """Without a token (or without an object) nothing is counted."""
    status, _, _ = await send(sup, body)
    assert status == 422
    assert today_counts(sup, raw_redis) == {}


async def test_an_unknown_token_is_404(sup: SupervisedServer, raw_redis: redis.Redis) -> None:
    """A made-up token cannot add answers."""
    assert (await send(sup, {"token": "A" * 32, "helped": 5}))[0] == 404
    assert today_counts(sup, raw_redis) == {}


async def test_a_foreign_origin_and_broken_json_are_refused(
    sup: SupervisedServer, raw_redis: redis.Redis
) -> None:
    """Only pages of the allowed origins may post; a body that is not JSON gets 400."""
    token = await token_for(sup)
    status, _, response = await send(
        sup, {"token": token, "helped": 5}, origin="https://evil.example"
    )
    assert status == 403
    assert "Access-Control-Allow-Origin" not in response.headers
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{sup.url}/api/feedback", data=b"{not json", headers={"Origin": WIDGET_ORIGIN}
        ) as broken,
    ):
        assert broken.status == 400
    assert today_counts(sup, raw_redis) == {}
    assert (await send(sup, {"token": token, "helped": 5}))[0] == 204


async def test_the_preflight_allows_the_widget(sup: SupervisedServer) -> None:
    """OPTIONS answers 204 with the allowed origin, method and header."""
    async with (
        aiohttp.ClientSession() as http,
        http.options(
            f"{sup.url}/api/feedback",
            headers={
                "Origin": WIDGET_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        ) as response,
    ):
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == WIDGET_ORIGIN
        assert response.headers["Access-Control-Allow-Methods"] == "POST"
        assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
