"""The counsellors' work list on the real app and a real Redis: ordering and marks, atomic
claims with expiring locks, outcomes that retry or delete, and the supervisor's counts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
import redis

from tests.support.callbacks import (
    CallbackServer,
    at,
    callback_config,
    callback_server,
    create_request,
    post_json,
    request_keys,
    staff_client,
)
from tests.support.servers import free_port, make_settings


@pytest_asyncio.fixture
async def cb(redis_url: str, staff_file: Path) -> AsyncIterator[CallbackServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, callback_config()) as server:
        yield server


async def test_the_api_needs_a_signed_in_counsellor_and_csrf(cb: CallbackServer) -> None:
    """No cookie: 401 and the page redirects to the login; a POST without the CSRF token or
    from a foreign origin: 403."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{cb.url}/console/api/callbacks") as response:
            assert response.status == 401
        async with http.get(f"{cb.url}/console/callbacks", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/console/login")
    anna = await staff_client(cb, "anna")
    await create_request(cb)
    item = (await anna.worklist())[0]
    claim = f"/console/api/callbacks/{item['id']}/claim"
    assert (await anna.post(claim, **{"X-CSRF-Token": "wrong"})) == (403, {"error": "csrf"})
    assert (await anna.post(claim, Origin="https://evil.example"))[0] == 403
    assert (await anna.post(claim))[0] == 200


async def test_the_console_page_is_served_to_staff(cb: CallbackServer) -> None:
    """A signed-in counsellor gets the page with its script and a link back to the console."""
    anna = await staff_client(cb, "anna")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{cb.url}/console/callbacks", headers=anna.headers) as response,
    ):
        page = await response.text()
    assert response.status == 200
    assert 'src="/console/assets/callbacks.js"' in page and 'href="/console/"' in page


async def test_the_list_is_ordered_marked_and_never_shows_the_number(
    cb: CallbackServer,
) -> None:
    """Due first, then by next window; missed windows are overdue; no phone, alias or text."""
    await create_request(cb, windows=[{"date": "2030-03-13", "start": "14:00", "end": "15:00"}])
    await create_request(
        cb,
        phone="070-222 33 44",
        windows=[
            {"date": "2030-03-13", "start": "10:00", "end": "11:00"},
            {"date": "2030-03-14", "start": "09:00", "end": "10:00"},
        ],
    )
    await create_request(
        cb,
        phone="070-333 44 55",
        windows=[{"date": "2030-03-13", "start": "11:00", "end": "12:00"}],
    )
    anna = await staff_client(cb, "anna")
    items = await anna.worklist()
    assert [(i["status"], i["windows"][0]["start"][11:16]) for i in items] == [
        ("due", "10:05"),
        ("upcoming", "11:00"),
        ("upcoming", "14:00"),
    ]
    cb.clock.set(at(11, 30))
    items = await anna.worklist()
    assert [i["status"] for i in items] == ["due", "upcoming", "overdue"]
    assert items[2]["next_window"]["start"] == "2030-03-14T09:00:00+01:00"
    text = str(items)
    for secret in ("070", "+46", "Blåklocka", "kort"):
        assert secret not in text


async def test_two_counsellors_claiming_at_once_only_one_wins(cb: CallbackServer) -> None:
    """Concurrent claims: exactly one gets the number, the other 409 taken."""
    await create_request(cb)
    anna, bo = await staff_client(cb, "anna"), await staff_client(cb, "bo")
    request_id = (await anna.worklist())[0]["id"]
    path = f"/console/api/callbacks/{request_id}/claim"
    results = await asyncio.gather(anna.post(path), bo.post(path))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409]
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 409)
    assert winner["phone"] == "+46701234567" and winner["phone_display"] == "070-123 45 67"
    assert winner["alias"] == "Blåklocka" and winner["message"] == "Ring helst kort."
    assert (winner["voicemail_ok"], winner["say_nexus_ok"]) == (False, True)
    assert loser == {"error": "taken"}
    listed = {client.cookie: (await client.worklist())[0] for client in (anna, bo)}
    winner_name = "anna" if results[0][0] == 200 else "bo"
    assert {item["claimed_by"] for item in listed.values()} == {winner_name}
    assert sorted(item["claimed_by_me"] for item in listed.values()) == [False, True]


async def test_a_claim_outside_every_window_is_refused(cb: CallbackServer) -> None:
    """Between windows, nobody may claim (calling would not be safe): 409 not_due."""
    await create_request(cb, windows=[{"date": "2030-03-13", "start": "14:00", "end": "15:00"}])
    anna = await staff_client(cb, "anna")
    request_id = (await anna.worklist())[0]["id"]
    assert await anna.post(f"/console/api/callbacks/{request_id}/claim") == (
        409,
        {"error": "not_due"},
    )


async def test_an_expired_lock_lets_another_counsellor_claim(
    redis_url: str, staff_file: Path
) -> None:
    """A claim held by a crashed console ends after lock_ttl_s; then the old holder's outcome
    is refused."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with callback_server(settings, callback_config(lock_ttl_s=1)) as server:
        await create_request(server)
        anna, bo = await staff_client(server, "anna"), await staff_client(server, "bo")
        request_id = (await anna.worklist())[0]["id"]
        path = f"/console/api/callbacks/{request_id}"
        assert (await anna.post(f"{path}/claim"))[0] == 200
        assert (await bo.post(f"{path}/claim"))[0] == 409
        await asyncio.sleep(1.2)
        assert (await bo.post(f"{path}/claim"))[0] == 200
        assert await anna.post(f"{path}/outcome", {"outcome": "reached"}) == (
            409,
            {"error": "not_holder"},
        )


async def test_release_gives_the_request_back(cb: CallbackServer) -> None:
    """Releasing without an outcome frees the request for others and counts no attempt."""
    await create_request(cb)
    anna, bo = await staff_client(cb, "anna"), await staff_client(cb, "bo")
    path = f"/console/api/callbacks/{(await anna.worklist())[0]['id']}"
    assert (await anna.post(f"{path}/claim"))[0] == 200
    assert (await bo.post(f"{path}/release"))[0] == 409
    assert (await anna.post(f"{path}/release"))[0] == 200
    assert (await bo.post(f"{path}/claim"))[1]["attempts"] == 0


async def test_no_answer_is_retried_then_reached_deletes_every_key(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """No answer: one attempt counted, lock released, kept for the next window; reached in
    that window: every key of the request is gone and the counts say so."""
    created = await create_request(cb)
    anna, sara = await staff_client(cb, "anna"), await staff_client(cb, "sara")
    path = f"/console/api/callbacks/{(await anna.worklist())[0]['id']}"
    assert (await anna.post(f"{path}/claim"))[0] == 200
    assert await anna.post(f"{path}/outcome", {"outcome": "bogus"}) == (
        400,
        {"error": "invalid_outcome"},
    )
    status, decision = await anna.post(f"{path}/outcome", {"outcome": "no_answer"})
    assert status == 200
    assert decision == {
        "final": False,
        "retry": True,
        "attempts": 1,
        "next_window": {"start": "2030-03-13T13:00:00+01:00", "end": "2030-03-13T14:00:00+01:00"},
    }
    item = (await sara.worklist())[0]
    assert (item["attempts"], item["status"], item["claimed_by"]) == (1, "upcoming", None)
    assert await sara.post(f"{path}/claim") == (409, {"error": "not_due"})  # not this window
    status, answer, _ = await post_json(f"{cb.url}/api/callbacks/status", created)
    assert (status, answer["status"]) == (200, "retry")
    cb.clock.set(at(13, 10))
    claimed = await sara.post(f"{path}/claim")
    assert claimed[0] == 200 and claimed[1]["attempts"] == 1
    status, decision = await sara.post(f"{path}/outcome", {"outcome": "reached"})
    assert (status, decision["final"], decision["attempts"]) == (200, True, 2)
    assert request_keys(raw_redis) == []
    assert await sara.post(f"{path}/outcome", {"outcome": "reached"}) == (404, {"error": "gone"})
    status, counts = await sara.get("/console/api/callbacks/counts")
    assert counts["completed_today"] == 1 and counts["failed_today"] == 0
    assert counts["pending"] == 0 and counts["requested_today"] == 1


async def test_counts_for_the_supervisor(cb: CallbackServer) -> None:
    """Pending, due and overdue from the list; completed and failed from today's counts."""
    await create_request(cb)
    await create_request(
        cb,
        phone="070-222 33 44",
        windows=[{"date": "2030-03-13", "start": "14:00", "end": "15:00"}],
    )
    sara = await staff_client(cb, "sara")
    due_id = next(i["id"] for i in await sara.worklist() if i["status"] == "due")
    assert (await sara.post(f"/console/api/callbacks/{due_id}/claim"))[0] == 200
    assert (await sara.post(f"/console/api/callbacks/{due_id}/outcome", {"outcome": "not_safe"}))[
        1
    ]["final"]
    status, counts = await sara.get("/console/api/callbacks/counts")
    assert status == 200
    assert {
        k: counts[k] for k in ("pending", "due", "overdue", "completed_today", "failed_today")
    } == {
        "pending": 1,
        "due": 0,
        "overdue": 0,
        "completed_today": 0,
        "failed_today": 1,
    }


async def test_no_answer_in_the_last_window_ends_the_request(
    cb: CallbackServer, raw_redis: redis.Redis
) -> None:
    """With no later window left, no answer is final: the number goes and it counts as failed."""
    await create_request(cb, windows=[{"date": "2030-03-13", "start": "10:00", "end": "11:00"}])
    anna = await staff_client(cb, "anna")
    path = f"/console/api/callbacks/{(await anna.worklist())[0]['id']}"
    assert (await anna.post(f"{path}/claim"))[0] == 200
    status, decision = await anna.post(f"{path}/outcome", {"outcome": "no_answer"})
    assert (status, decision["final"], decision["retry"]) == (200, True, False)
    assert request_keys(raw_redis) == []
    assert raw_redis.hgetall("nx:cb:counts:2030-03-13") == {"requested": "1", "failed": "1"}
