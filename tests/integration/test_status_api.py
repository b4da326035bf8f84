"""GET /api/status and the visitor's start follow opening hours and supervisor controls."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from chat_server.web.appkeys import SERVICES
from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    open_visitor,
    running_server,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


async def status_of(server: RunningServer) -> dict[str, object]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/status", headers={"Origin": server.url}) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == server.url
            assert "Set-Cookie" not in resp.headers
            body: dict[str, object] = await resp.json()
            return body


async def refused_start(server: RunningServer) -> None:
    visitor = await open_visitor(server)
    await visitor.send(type="start")
    assert (await visitor.expect("error"))["code"] == "closed"
    await asyncio.wait_for(visitor.ws.wait_closed(), 5)
    assert visitor.ws.close_code == 4403


async def test_open_all_hours_by_default(server: RunningServer) -> None:
    """No schedule: open, intake open, no one on duty so no estimate and a callback offer."""
    body = await status_of(server)
    assert body["open"] is True and body["intake_open"] is True and body["paused"] is False
    assert body["estimated_wait_s"] is None and body["overflow"] is True
    assert body["callbacks"] is True and body["notice"] is None


async def test_paused_intake_refuses_new_chats_with_the_message(server: RunningServer) -> None:
    """A supervisor's pause: the status says so with the message, and a start gets 4403."""
    controls = server.app[SERVICES].controls
    await controls.update(intake_paused="1", pause_message_sv="Paus till 14", pause_message_en="")
    body = await status_of(server)
    assert body["paused"] is True and body["notice"] == {"sv": "Paus till 14", "en": ""}
    await refused_start(server)
    await controls.update(intake_paused="")
    visitor = await open_visitor(server)
    await visitor.send(type="start")
    assert (await visitor.expect("welcome"))["state"] == "waiting"
    await visitor.close()


async def test_outside_opening_hours_the_next_opening_is_given(
    redis_url: str, staff_file: Path
) -> None:
    """Open only tomorrow 09-10: closed now, intake closed, next opening tomorrow 09:00."""
    tomorrow = datetime.now(ZoneInfo("Europe/Stockholm")) + timedelta(days=1)
    spec = f"{DAYS[tomorrow.weekday()]} 09:00-10:00"
    settings = make_settings(redis_url, staff_file, free_port(), opening_hours=spec,
                             observe_public_holidays=False)  # fmt: skip
    async with running_server(settings) as server:
        body = await status_of(server)
        assert body["open"] is False and body["intake_open"] is False
        opening = datetime.fromisoformat(str(body["next_opening"]))
        assert opening.date() == tomorrow.date() and (opening.hour, opening.minute) == (9, 0)
        await refused_start(server)


async def test_a_day_override_opens_for_today(redis_url: str, staff_file: Path) -> None:
    """Closed by the schedule, opened for today by a supervisor: new chats are taken."""
    tomorrow = datetime.now(ZoneInfo("Europe/Stockholm")) + timedelta(days=1)
    settings = make_settings(
        redis_url, staff_file, free_port(),
        opening_hours=f"{DAYS[tomorrow.weekday()]} 09:00-10:00", observe_public_holidays=False,
    )  # fmt: skip
    async with running_server(settings) as server:
        today = datetime.now(ZoneInfo("Europe/Stockholm")).date().isoformat()
        await server.app[SERVICES].controls.update(day_override="open", day_override_date=today)
        assert (await status_of(server))["intake_open"] is True
        visitor = await open_visitor(server)
        await visitor.send(type="start")
        assert (await visitor.expect("welcome"))["state"] == "waiting"
        await visitor.close()
