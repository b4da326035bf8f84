"""Flood control on real apps sharing a real Redis: over the rate, starts need a solved proof
of work; forged, expired and replayed solutions are refused with a fresh challenge, nothing
is stored, and no address reaches Redis."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis
from websockets.asyncio.client import connect
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from chat_server.domain import flood
from chat_server.domain.flood import FloodPolicy
from chat_server.store.flood import challenge_key
from chat_server.web.appkeys import SERVICES
from tests.support.callbacks import (
    CallbackServer,
    FakeClock,
    callback_config,
    callback_server,
    dump_everything,
    post_json,
    request_body,
    request_keys,
)
from tests.support.servers import Client, free_port, make_settings

# Two starts a minute: the third within a minute meets a challenge of 4 bits (quick to solve).
POLICY = FloodPolicy(starts_per_min=2, min_bits=4, max_bits=6, challenge_ttl_s=30)
MARKER_FORWARDED = "203.0.113.77"


@dataclass
class Pair:
    a: CallbackServer
    b: CallbackServer
    clock: FakeClock
    clients: list[Client]


@pytest_asyncio.fixture
async def pair(redis_url: str, staff_file: Path) -> AsyncIterator[Pair]:
    """Two instances on one Redis and one clock (at a minute's start), flood control on."""
    clock = FakeClock()
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        for _ in range(2):
            settings = make_settings(redis_url, staff_file, free_port(), flood=POLICY)
            servers.append(
                await stack.enter_async_context(callback_server(settings, callback_config(), clock))
            )
        running = Pair(servers[0], servers[1], clock, [])
        yield running
        for client in running.clients:  # a client waiting on a challenge would hold shutdown
            await client.close()


async def visitor(pair: Pair, server: CallbackServer, source: str = "127.0.0.1") -> Client:
    ws = await connect(
        f"{server.running.ws_url}/ws/visitor",
        origin=Origin(server.url),
        additional_headers=Headers({"X-Forwarded-For": MARKER_FORWARDED}),
        local_addr=(source, 0),
    )
    pair.clients.append(Client(ws))
    return pair.clients[-1]


def flood_now(raw_redis: redis.Redis, clock: FakeClock, starts: int = 5) -> None:
    """Pretend ``starts`` chats began this minute (as if other instances were flooded)."""
    raw_redis.set(f"nx:flood:starts:{flood.window_of(clock())}", starts, ex=120)


def solved(challenge: dict[str, Any]) -> dict[str, str]:
    text = challenge["challenge"]
    return {"challenge": text, "solution": flood.solve(text, challenge["bits"])}


async def test_over_the_rate_on_either_instance_a_start_must_solve_a_challenge(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """Two starts (one per instance) pass; the third meets a challenge, and solving it on the
    same connection gets the visitor into the queue."""
    first, second = await visitor(pair, pair.a), await visitor(pair, pair.b)
    for client in (first, second):
        await client.send(type="start", language="sv")
        await client.expect("welcome")
    third = await visitor(pair, pair.a)
    await third.send(type="start", language="sv")
    challenge = await third.expect("challenge")
    assert challenge["bits"] == POLICY.min_bits
    assert challenge["expires_ms"] == pair.clock() + POLICY.challenge_ttl_s * 1000
    assert raw_redis.zcard("nx:queue") == 2  # nothing stored for the challenged start
    await third.send(type="start", language="sv", **solved(challenge))
    assert (await third.expect("welcome"))["token"]
    assert (await third.expect("queue"))["waiting"] == 3  # (same clock: any position)


async def test_a_replayed_solution_is_refused_on_the_other_instance(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """A solution admits one start: used again elsewhere it gets pow_replayed and a new
    challenge, and no second chat."""
    flood_now(raw_redis, pair.clock)
    client = await visitor(pair, pair.a)
    await client.send(type="start")
    proof = solved(await client.expect("challenge"))
    await client.send(type="start", **proof)
    await client.expect("welcome")
    again = await visitor(pair, pair.b)
    await again.send(type="start", **proof)
    error = await again.recv()
    assert error["type"] == "error" and error["code"] == "pow_replayed"
    assert (await again.recv())["type"] == "challenge"
    assert raw_redis.zcard("nx:queue") == 1


@pytest.mark.parametrize("fault", ["forged_bits", "other_key", "unsolved", "expired", "garbage"])
async def test_a_bad_solution_gets_a_clear_error_then_a_fresh_challenge(
    pair: Pair, raw_redis: redis.Redis, fault: str
) -> None:
    """Forged, unsolved, expired or garbage proofs: the documented error code, a new
    challenge, nothing stored; the connection stays open and the new challenge works."""
    flood_now(raw_redis, pair.clock)
    client = await visitor(pair, pair.a)
    key = challenge_key(pair.a.running.settings.message_keys.current)  # type: ignore[union-attr]
    now = pair.clock()
    if fault == "forged_bits":
        real = flood.issue(key, 12, now, bytes(16), 30).text
        proof = {"challenge": real.replace("1.12.", "1.1.", 1)}
    elif fault == "other_key":
        proof = {"challenge": flood.issue(b"x" * 32, 1, now, bytes(16), 30).text}
    elif fault == "unsolved":
        proof = {"challenge": flood.issue(key, 30, now, bytes(16), 30).text}
    elif fault == "expired":
        proof = {"challenge": flood.issue(key, 1, now - 31_000, bytes(16), 30).text}
    else:
        proof = {"challenge": "garbage"}
    proof["solution"] = flood.solve(proof["challenge"], 1) if fault != "unsolved" else "1"
    await client.send(type="start", **proof)
    error = await client.recv()
    expected = "pow_expired" if fault == "expired" else "pow_invalid"
    assert (error["type"], error["code"]) == ("error", expected)
    fresh = await client.recv()
    assert fresh["type"] == "challenge"
    assert raw_redis.zcard("nx:queue") == 0 and not list(raw_redis.scan_iter("nx:flood:used:*"))
    await client.send(type="start", **solved(fresh))
    await client.expect("welcome")
    metrics = pair.a.running.app[SERVICES].metrics.registry
    assert metrics.get_sample_value("nexus_flood_challenges_total", {"reason": expected}) == 1
    assert metrics.get_sample_value("nexus_flood_bits") == POLICY.max_bits  # 5 starts: 2.5 x


async def test_a_connection_that_keeps_failing_is_closed_with_4429(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """After four unanswered challenges the server closes the connection with 4429."""
    flood_now(raw_redis, pair.clock)
    client = await visitor(pair, pair.a)
    for _ in range(4):
        await client.send(type="start")
        await client.expect("challenge")
    with pytest.raises(ConnectionClosed) as closed:
        await client.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429


async def test_the_callback_api_asks_for_work_in_a_flood(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """In a flood the JSON API answers 428 with a challenge; the solved request is stored
    (201) and counts as a start; the same proof again is 428 pow_replayed."""
    flood_now(raw_redis, pair.clock)
    url = f"{pair.a.url}/api/callbacks"
    status, body, _ = await post_json(url, request_body())
    assert status == 428 and body["error"] == "pow_required" and body["bits"] == 6
    assert request_keys(raw_redis) == []
    proof = solved(body)
    status, created, _ = await post_json(url, request_body(**proof))
    assert status == 201 and created["code"]
    assert raw_redis.get(f"nx:flood:starts:{flood.window_of(pair.clock())}") == "6"
    status, body, _ = await post_json(
        f"{pair.b.url}/api/callbacks", request_body(phone="070-765 43 21", **proof)
    )
    assert status == 428 and body["error"] == "pow_replayed" and body["challenge"]
    status, body, _ = await post_json(url, request_body(challenge=7, solution=["x"]))
    assert status == 428 and body["error"] == "pow_required"


async def test_the_nojs_form_shows_a_wait_page_that_keeps_what_was_written(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """Without script there is no challenge: 429, Retry-After, a Swedish note, the form
    filled in as sent, and nothing stored."""
    flood_now(raw_redis, pair.clock)
    form = {
        "phone": "070-123 45 67", "window-1-date": "2030-03-13", "window-1-start": "13:00",
        "window-1-end": "14:00", "alias": "Blåklocka", "language": "sv",
    }  # fmt: skip
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{pair.a.url}/callback", data=form) as response,
    ):
        page = await response.text()
        assert response.status == 429 and response.headers["Retry-After"] == "30"
    assert "Vänta en halv minut" in page and 'role="alert"' in page
    assert 'value="070-123 45 67"' in page and 'value="Blåklocka"' in page
    assert request_keys(raw_redis) == []


async def test_flood_control_keeps_no_address(pair: Pair, raw_redis: redis.Redis) -> None:
    """After challenged and admitted starts from a marker source and forwarded address, no
    key, value, slow-log entry or client name holds either, and every flood key has a TTL."""
    flood_now(raw_redis, pair.clock, starts=1)
    for server in (pair.a, pair.b):
        client = await visitor(pair, server, source="127.0.0.2")
        await client.send(type="start")
        message = await client.expect_any(("welcome", "challenge"))
        if message["type"] == "challenge":
            await client.send(type="start", **solved(message))
            await client.expect("welcome")
    await post_json(f"{pair.a.url}/api/callbacks", request_body(), source="127.0.0.2")
    everything = dump_everything(raw_redis)
    assert MARKER_FORWARDED not in everything and "127.0.0.2" not in everything
    flood_keys = list(raw_redis.scan_iter("nx:flood:*"))
    assert flood_keys and all(raw_redis.ttl(key) > 0 for key in flood_keys)
    assert all(json.loads(raw_redis.get(key) or "null") is not None for key in flood_keys)
