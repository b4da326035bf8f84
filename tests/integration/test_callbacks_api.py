"""The visitor's callback JSON API on the real app and a real Redis: create, validate, refuse
duplicates, check and cancel with the status code, and limit floods and guesses."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import redis

from chat_server.callback_settings import CallbackConfig, CallbackConfigError
from tests.support.callbacks import (
    TODAY,
    CallbackServer,
    at,
    callback_config,
    callback_server,
    create_request,
    dump_everything,
    post_json,
    request_body,
    request_keys,
)
from tests.support.servers import free_port, make_settings

CODE_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


@pytest_asyncio.fixture
async def cb(redis_url: str, staff_file: Path) -> AsyncIterator[CallbackServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, callback_config()) as server:
        yield server


def limited_server(
    redis_url: str, staff_file: Path, **limits: int
) -> contextlib.AbstractAsyncContextManager[CallbackServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    return callback_server(settings, callback_config(**limits))


async def test_form_info_offers_the_callback_days(cb: CallbackServer) -> None:
    """The form data lists hours and the open days ahead, today from the current half hour."""
    async with aiohttp.ClientSession() as http, http.get(f"{cb.url}/api/callbacks/form") as resp:
        assert resp.status == 200
        info = await resp.json()
    assert info["hours"]["0"] == ["09:00", "16:00"] and "5" not in info["hours"]
    assert info["max_windows"] == 3 and info["tz"] == "Europe/Stockholm"
    assert info["days"][0] == {"date": "2030-03-13", "start": "10:00", "end": "16:00"}
    dates = [day["date"] for day in info["days"]]
    assert "2030-03-16" not in dates and "2030-03-18" in dates  # Saturday out, Monday in
    assert dates[-1] == "2030-03-20"  # seven days ahead


async def test_cors_only_for_allowed_origins(cb: CallbackServer) -> None:
    """The widget's origin gets CORS headers (and a preflight answer); a foreign one none."""
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{cb.url}/api/callbacks", headers={"Origin": cb.url}) as preflight:
            assert preflight.status == 204
            assert preflight.headers["Access-Control-Allow-Origin"] == cb.url
            assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
            assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
        async with http.get(
            f"{cb.url}/api/callbacks/form", headers={"Origin": "https://evil.example"}
        ) as foreign:
            assert "Access-Control-Allow-Origin" not in foreign.headers
    status, _, headers = await post_json(f"{cb.url}/api/callbacks", request_body(), origin=cb.url)
    assert status == 201
    assert headers["Access-Control-Allow-Origin"] == cb.url
    assert "Set-Cookie" not in headers and headers["Cache-Control"] == "no-store"


async def test_a_request_is_stored_encrypted_with_ttls(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """201 with a code and the windows; Redis holds ciphertext only, every key with a TTL."""
    created = await create_request(cb)
    assert CODE_RE.fullmatch(created["code"])
    assert created["windows"] == [
        {"start": "2030-03-13T10:05:00+01:00", "end": "2030-03-13T11:00:00+01:00"},
        {"start": "2030-03-13T13:00:00+01:00", "end": "2030-03-13T14:00:00+01:00"},
    ]
    assert created["expires_at"] == "2030-03-13T15:00:00+01:00"  # last end + 1 h grace
    keys = request_keys(raw_redis)
    assert len(keys) == 4  # request, code, number, index
    stored = raw_redis.hgetall(next(k for k in keys if k.startswith("nx:cb:req:")))
    assert stored["language"] == "sv" and stored["attempts"] == "0"
    for value in stored.values():
        assert "701234567" not in value and "Blåklocka" not in value and "kort" not in value
    expected_ttl_s = (at(15) - at(10, 5)).total_seconds()
    for key in keys:
        assert expected_ttl_s - 5 < raw_redis.ttl(key) <= expected_ttl_s
    assert created["code"].replace("-", "") not in "".join(keys)


async def test_every_validation_error_is_reported_at_once(cb: CallbackServer) -> None:
    """A bad number, a past window, one outside hours and oversized texts: 422 with all."""
    day = TODAY.isoformat()
    body = request_body(
        phone="12345",
        windows=[
            {"date": day, "start": "09:00", "end": "09:30"},
            {"date": day, "start": "16:00", "end": "17:00"},
        ],
        alias="A" * 41,
        message="M" * 301,
    )
    status, answer, _ = await post_json(f"{cb.url}/api/callbacks", body)
    assert status == 422
    found = [(e["field"], e["code"]) for e in answer["errors"]]
    assert found == [
        ("phone", "invalid"),
        ("window-1", "past"),
        ("window-2", "outside_hours"),
        ("alias", "too_long"),
        ("message", "too_long"),
    ]
    assert all(e["message_sv"] and e["message_en"] for e in answer["errors"])


async def test_too_many_windows_and_bad_json_are_refused(cb: CallbackServer) -> None:
    """Four windows when three are allowed is 422; a body that is not a JSON object is 400."""
    window = {"date": TODAY.isoformat(), "start": "13:00", "end": "14:00"}
    status, answer, _ = await post_json(
        f"{cb.url}/api/callbacks", request_body(windows=[window] * 4)
    )
    assert status == 422
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("windows", "too_many")]
    for bad in ("{not json", "[1, 2]"):
        status, answer, _ = await post_json(f"{cb.url}/api/callbacks", bad)
        assert (status, answer) == (400, {"error": "invalid_json"})


async def test_duplicate_number_with_overlapping_windows_is_refused(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """Same number, overlapping window: 422 duplicate; written differently still the same;
    a window that does not overlap is a new request; after cancelling, a new one is fine."""
    first = await create_request(cb)
    overlapping = request_body(
        phone="+46 70 123 45 67",
        windows=[{"date": TODAY.isoformat(), "start": "13:30", "end": "15:00"}],
    )
    status, answer, _ = await post_json(f"{cb.url}/api/callbacks", overlapping)
    assert status == 422
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("phone", "duplicate")]
    separate = request_body(windows=[{"date": "2030-03-14", "start": "10:00", "end": "11:00"}])
    status, _, _ = await post_json(f"{cb.url}/api/callbacks", separate)
    assert status == 201
    assert "701234567" not in dump_everything(raw_redis)
    status, _, _ = await post_json(f"{cb.url}/api/callbacks/cancel", {"code": first["code"]})
    assert status == 200
    status, _, _ = await post_json(f"{cb.url}/api/callbacks", overlapping)
    assert status == 201


async def test_status_and_cancel_with_the_code(cb: CallbackServer, raw_redis: redis.Redis) -> None:
    """The code shows the status; cancelling deletes every key at once; the code is then
    404 for both."""
    created = await create_request(cb)
    typed = created["code"].lower().replace("-", " ")  # as a visitor might type it
    status, answer, _ = await post_json(f"{cb.url}/api/callbacks/status", {"code": typed})
    assert status == 200
    assert answer["status"] == "pending"
    assert answer["next_window"] == created["windows"][0]
    status, answer, _ = await post_json(f"{cb.url}/api/callbacks/cancel", {"code": typed})
    assert (status, answer) == (200, {"cancelled": True})
    assert request_keys(raw_redis) == []
    for path in ("status", "cancel"):
        status, answer, _ = await post_json(f"{cb.url}/api/callbacks/{path}", {"code": typed})
        assert (status, answer) == (404, {"error": "not_found"})
    assert raw_redis.hget("nx:cb:counts:2030-03-13", "cancelled") == "1"


async def test_wrong_codes_are_404_then_limited_per_address(
    redis_url: str, staff_file: Path
) -> None:
    """Three wrong codes from one address, then 429 even for the right code; another address
    is not affected."""
    async with limited_server(redis_url, staff_file, per_address_guesses_per_h=3) as server:
        code = (await create_request(server))["code"]
        url = f"{server.url}/api/callbacks/status"
        for guess in ("AAAA-AAAA", "BBBB-BBBB", "not a code"):
            assert (await post_json(url, {"code": guess}))[0] == 404
        assert (await post_json(url, {"code": code}))[:2] == (429, {"error": "rate_limited"})
        cancel = f"{server.url}/api/callbacks/cancel"
        assert (await post_json(cancel, {"code": code}))[0] == 429
        assert (await post_json(url, {"code": code}, source="127.0.0.2"))[0] == 200
        assert (await post_json(url, {"code": "CCCC-CCCC"}, source="127.0.0.2"))[0] == 404


async def test_wrong_codes_are_limited_for_the_whole_service(
    redis_url: str, staff_file: Path
) -> None:
    """Once the service-wide number of misses is used up, every address gets 429."""
    async with limited_server(redis_url, staff_file, service_guesses_per_h=4) as server:
        code = (await create_request(server))["code"]
        url = f"{server.url}/api/callbacks/status"
        for n in range(4):
            assert (await post_json(url, {"code": "AAAA-AAA0"}, source=f"127.0.0.{n + 2}"))[
                0
            ] == 404
        assert (await post_json(url, {"code": code}, source="127.0.0.9"))[0] == 429


async def test_request_floods_are_limited(redis_url: str, staff_file: Path) -> None:
    """Per address every attempt counts; for the service every stored request counts."""
    async with limited_server(
        redis_url, staff_file, per_address_submits_per_h=2, service_requests_per_h=3
    ) as server:
        url = f"{server.url}/api/callbacks"
        assert (await post_json(url, request_body(phone="x")))[0] == 422
        assert (await post_json(url, request_body()))[0] == 201
        assert (await post_json(url, request_body(phone="070-111 22 33")))[:2] == (
            429,
            {"error": "rate_limited"},
        )
        for n, phone in enumerate(("070-111 22 33", "070-111 22 44")):
            source = f"127.0.0.{n + 2}"
            assert (await post_json(url, request_body(phone=phone), source=source))[0] == 201
        status, _, _ = await post_json(url, request_body(phone="070-111 22 55"), source="127.0.0.5")
        assert status == 429


async def test_a_window_that_has_begun_counts_from_now(cb: CallbackServer) -> None:
    """At 10:05 a window 10:00-10:30 is too short (25 minutes left) and says so."""
    cb.clock.set(datetime.fromisoformat("2030-03-13T10:05:00+01:00"))
    body = request_body(windows=[{"date": TODAY.isoformat(), "start": "10:00", "end": "10:30"}])
    status, answer, _ = await post_json(f"{cb.url}/api/callbacks", body)
    assert status == 422
    assert [(e["field"], e["code"]) for e in answer["errors"]] == [("window-1", "too_short")]


KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"


def test_settings_come_from_the_environment() -> None:
    """Hours (Swedish day names too), limits and Swedish public holidays are read."""
    config = CallbackConfig.from_env(
        {
            "NEXUS_CALLBACK_KEY": KEY,
            "NEXUS_CALLBACK_HOURS": "mån-tor 09:00-16:00; fre 09:00-12:00",
            "NEXUS_CALLBACK_CLOSED_DATES": "2030-03-15",
            "NEXUS_CALLBACK_MAX_ATTEMPTS": "2",
            "NEXUS_CALLBACK_SERVICE_GUESSES_PER_H": "0",
        }
    )
    assert (
        config.rules.callback_hours[4] == (time(9), time(12))
        and 5 not in config.rules.callback_hours
    )
    assert config.rules.max_attempts == 2 and config.service_guesses_per_h == 0
    assert date(2030, 3, 15) in config.rules.closed_dates
    assert date(2030, 12, 25) in config.rules.closed_dates  # Christmas Day
    assert KEY not in repr(config) and "master_key" not in repr(config)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "NEXUS_CALLBACK_KEY is required"),
        ({"NEXUS_CALLBACK_KEY": "c2VjcmV0LXZhbHVl"}, "NEXUS_CALLBACK_KEY"),
        ({"NEXUS_CALLBACK_KEY": KEY, "NEXUS_CALLBACK_HOURS": "mon 9-10"}, "NEXUS_CALLBACK_HOURS"),
        (
            {"NEXUS_CALLBACK_KEY": KEY, "NEXUS_CALLBACK_HOURS": "mon 09:00-10:00,11:00-12:00"},
            "one period per day",
        ),
        ({"NEXUS_CALLBACK_KEY": KEY, "NEXUS_CALLBACK_MAX_WINDOWS": "many"}, "MAX_WINDOWS"),
    ],
)
def test_unusable_settings_are_refused_by_name(env: dict[str, str], names: str) -> None:
    """A missing or bad key, bad hours or a bad number: an error naming it, never the key."""
    with pytest.raises(CallbackConfigError, match=names) as raised:
        CallbackConfig.from_env(env)
    assert "c2VjcmV0LXZhbHVl" not in str(raised.value)


def test_the_demo_makes_its_own_key() -> None:
    """Without a key the demo still runs, with a fresh random key each start."""
    first, second = CallbackConfig.from_env({}, demo=True), CallbackConfig.from_env({}, demo=True)
    assert first.lookup_key() != second.lookup_key()
