"""Console features over the real WebSocket: private notes, ask-a-supervisor, raise hand,
the break suggestion, and their refusals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis

from chat_server.web.console_settings import ConsoleSettings
from tests.support.console_app import console_server
from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    open_console,
    start_visitor,
)


class Desk:
    """A running server and every client a test opened (all closed at teardown)."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.clients: list[Client] = []

    async def console(self, username: str) -> Client:
        client = await open_console(self.server, username)
        self.clients.append(client)
        return client

    async def chat_for(self, console: Client, **start: Any) -> str:
        """A visitor starts a chat and ``console`` takes it; returns the chat id."""
        visitor, _ = await start_visitor(self.server, **start)
        self.clients.append(visitor)
        await console.send(type="take")
        return str((await console.expect("chat_opened"))["chat_id"])

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@contextlib.asynccontextmanager
async def desk_on(settings: Any, console_settings: ConsoleSettings) -> AsyncIterator[Desk]:
    async with console_server(settings, console_settings) as server:
        desk = Desk(server)
        try:
            yield desk
        finally:
            await desk.close()


@pytest_asyncio.fixture
async def desk(redis_url: str, staff_file: Path) -> AsyncIterator[Desk]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with desk_on(settings, ConsoleSettings(break_after_chats=2)) as running:
        yield running


async def test_notes_are_private_to_the_chats_counsellor(desk: Desk) -> None:
    """The counsellor saves and reads back a note; a colleague, even a supervisor, cannot."""
    anna, bo, sara = (
        await desk.console("anna"),
        await desk.console("bo"),
        await desk.console("sara"),
    )
    chat_id = await desk.chat_for(anna)
    await anna.send(type="note", chat_id=chat_id, text="  ringde förra veckan  ")
    saved = await anna.expect("note")
    assert (saved["text"], saved["saved"]) == ("ringde förra veckan", True)
    await anna.send(type="note_get", chat_id=chat_id)
    assert (await anna.expect("note"))["text"] == "ringde förra veckan"
    for other in (bo, sara):
        await other.send(type="note_get", chat_id=chat_id)
        assert (await other.expect("error"))["code"] == "not_your_chat"
        await other.send(type="note", chat_id=chat_id, text="mitt")
        assert (await other.expect("error"))["code"] == "not_your_chat"


async def test_notes_have_the_chats_ttl_and_die_with_it(desk: Desk, raw_redis: redis.Redis) -> None:
    """The notes key never outlives the chat: it has the chat's TTL and the end deletes it."""
    anna = await desk.console("anna")
    chat_id = await desk.chat_for(anna)
    await anna.send(type="note", chat_id=chat_id, text="x")
    await anna.expect("note")
    key = f"nx:chat:{chat_id}:notes"
    assert 0 < raw_redis.pttl(key) <= raw_redis.pttl(f"nx:chat:{chat_id}") + 50
    await anna.send(type="end", chat_id=chat_id)
    await anna.expect("chat_ended")
    assert not raw_redis.exists(key)
    await anna.send(type="note_get", chat_id=chat_id)
    assert (await anna.expect("error"))["code"] == "chat_not_found"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"text": "x"}, "missing_field"),
        ({"chat_id": 5, "text": "x"}, "invalid_field"),
        ({"chat_id": "c" * 65, "text": "x"}, "invalid_field"),
        ({"chat_id": "CHAT"}, "missing_field"),
        ({"chat_id": "CHAT", "text": ["x"]}, "invalid_field"),
        ({"chat_id": "CHAT", "text": "x" * 2001}, "text_too_long"),
    ],
)
async def test_bad_note_frames_get_clear_errors(
    desk: Desk, frame: dict[str, Any], code: str
) -> None:
    """Missing or wrong fields and notes over 2000 characters are refused with a code."""
    anna = await desk.console("anna")
    chat_id = await desk.chat_for(anna)
    sent = {k: (chat_id if v == "CHAT" else v) for k, v in frame.items()}
    await anna.send(type="note", **sent)
    error = await anna.expect("error")
    assert error["code"] == code and error["message"]
    await anna.send(type="note", chat_id=chat_id, text="x" * 2000)
    assert len((await anna.expect("note"))["text"]) == 2000


async def test_ask_a_supervisor_reaches_supervisors_and_the_owner_only(desk: Desk) -> None:
    """A back-channel message goes to supervisors and the chat's counsellor, never to other
    counsellors; the supervisor's answer comes back; the history is kept for both."""
    anna, bo, sara = (
        await desk.console("anna"),
        await desk.console("bo"),
        await desk.console("sara"),
    )
    chat_id = await desk.chat_for(anna)
    await anna.send(type="backchannel", chat_id=chat_id, text="Hon nämner ett vapen, råd?")
    question = await sara.expect("backchannel")
    assert (question["chat_id"], question["from"], question["name"]) == (chat_id, "anna", "Anna")
    assert question["alias"].startswith("Besökare ")
    assert (await anna.expect("backchannel"))["id"] == question["id"]
    await sara.send(
        type="backchannel", chat_id=chat_id, text="Be henne ringa 112 om hotet är akut."
    )
    answer = await anna.expect("backchannel", role="supervisor")
    assert answer["text"] == "Be henne ringa 112 om hotet är akut."
    await bo.send(type="backchannel", chat_id=chat_id, text="får jag se?")
    assert (await bo.expect("error"))["code"] == "not_your_chat"
    assert not [f for f in bo.seen if f.get("type") == "backchannel"]
    for reader in (anna, sara):
        await reader.send(type="backchannel_get", chat_id=chat_id)
        history = await reader.expect("backchannel_history")
        assert [e["from"] for e in history["entries"]] == ["anna", "sara"]
    await bo.send(type="backchannel_get", chat_id=chat_id)
    assert (await bo.expect("error"))["code"] == "not_your_chat"


async def test_back_channel_crosses_instances_and_dies_with_the_chat(
    desk: Desk, redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """A supervisor on another server instance gets the question; the stream goes at the end."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with desk_on(settings, ConsoleSettings()) as other:
        sara = await other.console("sara")
        anna = await desk.console("anna")
        chat_id = await desk.chat_for(anna)
        await anna.send(type="backchannel", chat_id=chat_id, text="Fråga")
        assert (await sara.expect("backchannel"))["text"] == "Fråga"
        stream = f"nx:chat:{chat_id}:staff"
        assert 0 < raw_redis.pttl(stream) <= raw_redis.pttl(f"nx:chat:{chat_id}") + 50
        await anna.send(type="end", chat_id=chat_id, outcome=["support_talk"])
        await anna.expect("chat_ended")
        assert not raw_redis.exists(stream)


async def test_raise_hand_alerts_supervisors_silently(desk: Desk) -> None:
    """A raised hand reaches supervisors only; a supervisor's answer reaches the counsellor."""
    anna, bo, sara = (
        await desk.console("anna"),
        await desk.console("bo"),
        await desk.console("sara"),
    )
    chat_id = await desk.chat_for(anna)
    await anna.send(type="raise_hand", chat_id=chat_id)
    hand = await sara.expect("hand_raised")
    assert (hand["user"], hand["chat_id"], hand["name"]) == ("anna", chat_id, "Anna")
    assert (await anna.expect("hand_sent"))["chat_id"] == chat_id
    await sara.send(type="hand_answer", user="anna")
    assert (await anna.expect("hand_answered"))["name"] == "Sara"
    await bo.send(type="hand_answer", user="anna")
    assert (await bo.expect("error"))["code"] == "not_allowed_now"
    await bo.send(type="raise_hand", chat_id=chat_id)
    assert (await bo.expect("error"))["code"] == "not_your_chat"
    assert not [f for f in bo.seen if f.get("type") == "hand_raised"]


async def test_break_is_suggested_after_consecutive_chats(
    desk: Desk, raw_redis: redis.Redis
) -> None:
    """After the configured number of chats the console gets a break suggestion and presence
    paused (no new offers); coming back sets available and starts a new stretch."""
    anna = await desk.console("anna")
    await anna.send(type="wellbeing")
    for number in (1, 2):
        chat_id = await desk.chat_for(anna)
        await anna.send(type="end", chat_id=chat_id)
        await anna.expect("chat_ended")
        await anna.send(type="chat_done", chat_id=chat_id)
        await anna.send(type="chat_done", chat_id=chat_id)  # a second console's report
        if number == 1:
            await anna.send(type="wellbeing")
    suggestion = await anna.expect("break_suggested")
    assert (suggestion["reason"], suggestion["chats"]) == ("chats", 2)
    assert (await anna.expect("presence"))["presence"] == "paused"
    assert raw_redis.hget("nx:staff:anna:presence", "presence") == "paused"
    await anna.send(type="take")
    assert (await anna.expect("error"))["code"] == "not_allowed_now"
    await anna.send(type="break_over")
    assert (await anna.expect("presence"))["presence"] == "available"
    assert list(raw_redis.scan_iter("nx:staff:anna:wellbeing*")) == []


async def test_break_is_suggested_after_time_without_pause(
    redis_url: str, staff_file: Path
) -> None:
    """After the configured time without a pause the console gets a break suggestion, once."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with desk_on(settings, ConsoleSettings(break_after_s=1)) as desk:
        bo = await desk.console("bo")
        await bo.send(type="wellbeing")
        await asyncio.sleep(1.1)
        await bo.send(type="wellbeing")
        assert (await bo.expect("break_suggested"))["reason"] == "time"
        await bo.send(type="wellbeing")
        await bo.send(type="note_get", chat_id="none")
        await bo.expect("error")
        assert [f["type"] for f in bo.seen].count("break_suggested") == 1
