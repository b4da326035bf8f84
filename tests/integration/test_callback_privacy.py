"""Privacy of callback requests is tested, not promised: a planted number, alias and message
are never in clear in Redis (keys, values, slow log, client list) or in any log line, at any
step of the lifecycle; after the final outcome, or the TTL, no key of the request remains."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import aiohttp
import redis

from tests.support.callbacks import (
    assert_callback_keys_have_ttls,
    at,
    callback_config,
    callback_server,
    dump_everything,
    post_json,
    request_body,
    request_keys,
    staff_client,
)
from tests.support.servers import free_port, make_settings

MARKER_PHONE = "070-913 57 24"
PHONE_FORMS = ("709135724", "913 57 24", "913-57-24", "91 35 72 4")
MARKER_ALIAS = "Snöklocka-Kanarie-42"
MARKER_MESSAGE = "KANARIEMEDDELANDE-8812 hemligt"


def assert_no_marker(text: str, *extra: str) -> None:
    for marker in (*PHONE_FORMS, MARKER_ALIAS, MARKER_MESSAGE, *extra):
        assert marker not in text, f"{marker!r} found in clear"


def check_redis(raw_redis: redis.Redis, *extra: str) -> None:
    assert_no_marker(dump_everything(raw_redis), *extra)
    assert_callback_keys_have_ttls(raw_redis)


async def test_markers_never_appear_in_clear_through_the_lifecycle(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    """Form and API requests, status checks, claims, no answer, reached: Redis and the logs
    never hold the markers or the status code; at the end no key of either request is left."""
    saved = raw_redis.config_get("slowlog-*")
    raw_redis.config_set("slowlog-log-slower-than", 0)  # log every command, to be sure
    raw_redis.config_set("slowlog-max-len", 1024)
    try:
        await run_marked_lifecycle(redis_url, staff_file, raw_redis, log_capture)
    finally:  # the Redis server is shared by the whole test session
        for name, value in saved.items():
            raw_redis.config_set(str(name), str(value))
        raw_redis.slowlog_reset()


async def run_marked_lifecycle(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, callback_config()) as server:
        marked = {"phone": MARKER_PHONE, "alias": MARKER_ALIAS, "message": MARKER_MESSAGE}
        # "personal": the opening the counsellor reads then carries the alias too.
        body = request_body(**marked, opening="personal")
        status, created, _ = await post_json(f"{server.url}/api/callbacks", body)
        assert status == 201
        code = created["code"]
        assert "EVALSHA" in str(raw_redis.slowlog_get(1024)).upper()  # the slow log is on
        check_redis(raw_redis, code)
        form = {
            **marked,
            "phone": "070-913 57 25",  # another number: the first one is pending
            "window-1-date": "2030-03-13",
            "window-1-start": "10:00",
            "window-1-end": "11:00",
            "opening": "personal",
        }
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{server.url}/callback", data=form) as response:
                assert response.status == 200
            async with http.get(f"{server.url}/callback?phone={MARKER_PHONE}") as response:
                assert response.status == 200
        status, _, _ = await post_json(f"{server.url}/api/callbacks/status", {"code": code})
        assert status == 200
        check_redis(raw_redis, code)

        anna = await staff_client(server, "anna")
        listed = await anna.worklist()
        assert_no_marker(str(listed))
        for item in listed:
            path = f"/console/api/callbacks/{item['id']}"
            status, claimed = await anna.post(f"{path}/claim")
            assert status == 200 and claimed["alias"] == MARKER_ALIAS
            assert MARKER_ALIAS in claimed["opening"]["say_sv"]
            check_redis(raw_redis, code)
            status, _ = await anna.post(f"{path}/outcome", {"outcome": "no_answer"})
            assert status == 200
            check_redis(raw_redis, code)
        server.clock.set(at(13, 15))
        retried = next(item for item in listed if len(item["windows"]) == 2)
        path = f"/console/api/callbacks/{retried['id']}"
        assert (await anna.post(f"{path}/claim"))[0] == 200
        assert (await anna.post(f"{path}/outcome", {"outcome": "reached"}))[0] == 200
        check_redis(raw_redis, code)
    assert request_keys(raw_redis) == []  # one reached, one failed after its only window
    printed = log_capture.getvalue()
    assert "POST /api/callbacks 201" in printed  # the access log ran and was captured
    assert_no_marker(printed, code, "070-913 57 25")


async def test_nothing_outlives_the_last_window_plus_grace(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """A request (and a counsellor's claim on it) expires by itself at last end + grace."""
    config = callback_config(grace_s=1, min_window_min=0)
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, config) as server:
        server.clock.set(at(10, 59).replace(second=57))
        body = request_body(
            phone=MARKER_PHONE,
            windows=[{"date": "2030-03-13", "start": "10:00", "end": "11:00"}],
        )
        status, _, _ = await post_json(f"{server.url}/api/callbacks", body)
        assert status == 201
        anna = await staff_client(server, "anna")
        item = (await anna.worklist())[0]
        assert (await anna.post(f"/console/api/callbacks/{item['id']}/claim"))[0] == 200
        keys = request_keys(raw_redis)
        assert len(keys) == 5  # request, lock, code, number, index
        assert all(0 < raw_redis.ttl(key) <= 4 for key in keys)
        deadline = time.monotonic() + 8
        while request_keys(raw_redis) and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
        assert request_keys(raw_redis) == []
        assert (await anna.worklist()) == []
        assert raw_redis.hget("nx:cb:counts:2030-03-13", "expired") is None  # index went too
