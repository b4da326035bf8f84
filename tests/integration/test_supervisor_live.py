"""The supervisor's live view over /ws/supervisor: who may open it and what it pushes."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from chat_server.supervisor_config import SupervisorConfig
from tests.integration.supervisor_helpers import (
    SupervisedServer,
    signed_in,
    supervised_server,
)
from tests.support.servers import free_port, make_settings, open_console, start_visitor

PUSH_WITHIN_S = 1.0


@pytest_asyncio.fixture
async def sup(redis_url: str, staff_file: Path) -> AsyncIterator[SupervisedServer]:
    async with supervised_server(make_settings(redis_url, staff_file, free_port())) as server:
        yield server


class LiveView:
    """A supervisor's socket, remembering the latest frame of each type."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.latest: dict[str, dict[str, Any]] = {}

    async def until(
        self, check: Callable[[dict[str, Any]], bool], timeout: float = PUSH_WITHIN_S
    ) -> dict[str, Any]:
        """The first ``live`` frame (the latest one included) for which ``check`` holds."""
        if "live" in self.latest and check(self.latest["live"]):
            return self.latest["live"]
        async with asyncio.timeout(timeout):
            while True:
                frame: dict[str, Any] = await self.ws.receive_json()
                self.latest[frame["type"]] = frame
                if frame["type"] == "live" and check(frame):
                    return frame


@pytest_asyncio.fixture
async def view(sup: SupervisedServer) -> AsyncIterator[LiveView]:
    async with (
        signed_in(sup, "sara") as http,
        http.ws_connect(f"{sup.ws_url}/ws/supervisor", headers={"Origin": sup.url}) as ws,
    ):
        live = LiveView(ws)
        hello = await ws.receive_json(timeout=5)
        assert (hello["type"], hello["role"], hello["targets_s"]) == (
            "hello",
            "supervisor",
            [60, 120],
        )
        await live.until(lambda f: True, timeout=5)
        yield live


async def test_the_view_follows_visitors_joining_and_leaving(
    sup: SupervisedServer, view: LiveView
) -> None:
    """Each join and leave reaches the view within a second, by topic and language."""
    first, _ = await start_visitor(sup, topic="honour", language="ar")
    frame = await view.until(lambda f: f["waiting"] == 1)
    assert (frame["waiting_by_topic"], frame["waiting_by_language"]) == ({"honour": 1}, {"ar": 1})
    assert frame["oldest_enqueued_ms"] <= frame["now_ms"]
    second, _ = await start_visitor(sup, topic="other", language="sv", urgent=True)
    frame = await view.until(lambda f: f["waiting"] == 2)
    assert frame["waiting_by_topic"] == {"honour": 1, "other": 1}
    assert frame["waiting_urgent"] == 1
    await first.send(type="end")
    frame = await view.until(lambda f: f["waiting"] == 1)
    assert frame["waiting_by_language"] == {"sv": 1}
    assert frame["today"]["abandoned"] == 1
    await second.close()
    await first.close()


async def test_the_view_shows_each_counsellors_presence_and_load(
    sup: SupervisedServer, view: LiveView
) -> None:
    """A console coming on duty and taking a chat shows as available with one chat."""
    visitor, _ = await start_visitor(sup, language="sv")
    console = await open_console(sup, "anna")
    frame = await view.until(lambda f: f["available"] == 1)
    assert frame["counsellors"] == [
        {"user": "anna", "name": "Anna", "presence": "available", "chats": 0, "capacity": 2}
    ]
    await console.send(type="take")
    await console.expect("chat_opened")
    frame = await view.until(lambda f: f["active"] == 1)
    assert frame["waiting"] == 0
    assert frame["counsellors"][0]["chats"] == 1
    await console.send(type="presence", presence="paused")
    frame = await view.until(lambda f: f["counsellors"][0]["presence"] == "paused")
    assert frame["available"] == 0
    await console.close()
    await visitor.close()


async def test_raised_hands_published_on_the_channel_appear(
    sup: SupervisedServer, view: LiveView, raw_redis: redis.Redis
) -> None:
    """A known counsellor's hand shows with name and chat alias; strangers and junk are ignored."""
    raw_redis.publish("nx:ch:supervisor", json.dumps({"kind": "raised_hand", "user": "mallory"}))
    raw_redis.publish("nx:ch:supervisor", "not json")
    raw_redis.publish(
        "nx:ch:supervisor",
        json.dumps({"kind": "raised_hand", "user": "bo", "chat_id": "<script>"}),
    )
    frame = await view.until(lambda f: bool(f["raised_hands"]))
    assert [(h["user"], h["name"], h["chat_id"], h["alias"]) for h in frame["raised_hands"]] == [
        ("bo", "Bo", "", "")
    ]
    raw_redis.publish("nx:ch:supervisor", json.dumps({"kind": "hand_lowered", "user": "bo"}))
    await view.until(lambda f: f["raised_hands"] == [])
    raw_redis.publish(
        "nx:ch:supervisor",
        json.dumps({"kind": "raised_hand", "user": "anna", "chat_id": "4fe2"}),
    )
    frame = await view.until(lambda f: bool(f["raised_hands"]))
    assert [(h["chat_id"], h["alias"]) for h in frame["raised_hands"]] == [("4fe2", "Besökare 4F")]


async def test_callbacks_show_a_dash_without_a_provider(redis_url: str, staff_file: Path) -> None:
    """Callbacks switched off: the counts are null (the page shows "–")."""
    settings = make_settings(redis_url, staff_file, free_port(), callbacks=None)
    async with supervised_server(settings) as server:
        frame = await server.supervision.monitor.picture(server.supervision.stats.clock_ms())
    assert frame["callbacks"] is None


async def test_callback_counts_come_from_the_callback_store(view: LiveView) -> None:
    """With callbacks on, the live view shows the work list's counts (none yet)."""
    frame = await view.until(lambda f: f["callbacks"] is not None)
    assert {k: frame["callbacks"][k] for k in ("pending", "due", "overdue")} == {
        "pending": 0, "due": 0, "overdue": 0,
    }


async def test_callback_counts_come_from_the_provider(redis_url: str, staff_file: Path) -> None:
    """With a provider, pending, due and overdue are shown as it reports them."""

    async def counts() -> dict[str, int]:
        return {"pending": 4, "due": 1, "overdue": 2, "phone": 99}

    settings = make_settings(redis_url, staff_file, free_port())
    async with supervised_server(settings, callback_counts=counts) as server:
        server.supervision.monitor.callback_counts = counts  # create_app wired the real store
        frame = await server.supervision.monitor.picture(server.supervision.stats.clock_ms())
    assert frame["callbacks"] == {"pending": 4, "due": 1, "overdue": 2}


async def test_todays_numbers_follow_recorded_chats(sup: SupervisedServer, view: LiveView) -> None:
    """A chat counted by the statistics hook updates today's numbers and service level."""
    now = sup.supervision.stats.clock_ms()
    await sup.supervision.stats.record_chat_end(
        enqueued_ms=now - 50_000, answered_ms=now - 10_000, ended_ms=now, topic="honour",
        language="sv", urgent=False, reason="counsellor_ended",
    )  # fmt: skip
    frame = await view.until(lambda f: f["today"]["answered"] == 1)
    assert frame["today"]["service_levels"] == {"60": 1.0, "120": 1.0}
    assert frame["today"]["median_wait"] == "le_60"


async def test_the_queue_history_is_sampled_for_the_chart(redis_url: str, staff_file: Path) -> None:
    """Samples of the queue length arrive as a queue_history frame of [ms, count] points."""
    config = SupervisorConfig(queue_sample_interval_s=1.0, queue_history_s=60)
    async with supervised_server(make_settings(redis_url, staff_file, free_port()), config) as sup:
        visitor, _ = await start_visitor(sup)
        async with (
            signed_in(sup, "sara") as http,
            http.ws_connect(f"{sup.ws_url}/ws/supervisor", headers={"Origin": sup.url}) as ws,
            asyncio.timeout(8),
        ):
            while True:
                frame = await ws.receive_json()
                if frame["type"] == "queue_history" and any(n == 1 for _, n in frame["points"]):
                    break
        await visitor.close()
    assert frame["interval_s"] == 1.0
    assert all(ts % 1000 == 0 for ts, _ in frame["points"])


@pytest.mark.parametrize(
    ("user", "status"), [("anna", 403), (None, 401)], ids=["counsellor", "anonymous"]
)
async def test_only_supervisors_may_open_the_view(
    sup: SupervisedServer, user: str | None, status: int
) -> None:
    """A counsellor gets 403 and nobody signed in gets 401, for the socket, page and API."""
    async with signed_in(sup, user) if user else aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{sup.ws_url}/ws/supervisor", headers={"Origin": sup.url})
        assert refused.value.status == status
        async with http.get(f"{sup.url}/supervisor/api/stats?start=2024-01-01&end=2024-01-02") as r:
            assert r.status == status
            assert (await r.json())["error"] == ("supervisors_only" if user else "not_signed_in")
        async with http.get(f"{sup.url}/supervisor/", allow_redirects=False) as page:
            assert page.status == (403 if user else 303)


async def test_a_foreign_origin_cannot_open_the_view(sup: SupervisedServer) -> None:
    """Cross-site WebSocket hijacking is refused before the upgrade."""
    async with signed_in(sup, "sara") as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(
                f"{sup.ws_url}/ws/supervisor", headers={"Origin": "https://evil.example"}
            )
    assert refused.value.status == 403


async def test_signing_out_closes_the_view(sup: SupervisedServer) -> None:
    """Logging out that session closes its live view with 4401."""
    async with (
        signed_in(sup, "sara") as http,
        http.ws_connect(f"{sup.ws_url}/ws/supervisor", headers={"Origin": sup.url}) as ws,
    ):
        csrf = (await ws.receive_json(timeout=5))["csrf"]
        async with http.post(
            f"{sup.url}/console/logout", data={"csrf": csrf}, headers={"Origin": sup.url},
            allow_redirects=False,
        ) as response:  # fmt: skip
            assert response.status == 303
        close_frame = None
        async with asyncio.timeout(5):
            while not ws.closed:
                message = await ws.receive()
                if message.type == aiohttp.WSMsgType.CLOSE:
                    close_frame = message.data
        # The server's CLOSE frame, not ws.close_code: the client's reply to it can fail (1006)
        # when the server drops the connection right after sending it.
        assert close_frame == 4401


async def test_the_pages_are_served_to_a_supervisor(sup: SupervisedServer) -> None:
    """Both pages and their scripts load for a supervisor, with the strict CSP kept."""
    async with signed_in(sup, "sara") as http:
        for path in ("/supervisor/", "/supervisor/stats", "/supervisor/assets/charts.js"):
            async with http.get(f"{sup.url}{path}") as response:
                assert response.status == 200, path
                assert "script-src 'self'" in response.headers["Content-Security-Policy"]


async def test_a_redis_outage_while_counting_callbacks_is_no_internal_error(
    redis_url: str, staff_file: Path, log_capture: io.StringIO
) -> None:
    """Redis failing just as the live view reads the callback counts (the rest of the
    picture was read) fails that refresh as a Redis error: no traceback in the log."""

    async def redis_went_away() -> dict[str, int]:
        raise RedisConnectionError("Redis is gone")

    async with supervised_server(make_settings(redis_url, staff_file, free_port())) as server:
        monitor = server.supervision.monitor
        monitor.callback_counts = redis_went_away
        with pytest.raises(RedisError):
            await monitor.refresh()
    assert "Traceback" not in log_capture.getvalue()
