"""The console's JSON API (me, standard texts, staff), and what the console may never see:
a visitor's address, user agent or token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.typing import Origin

from chat_server.domain.outcomes import OUTCOME_CODES
from chat_server.web.console_settings import ConsoleSettings, ConsoleSettingsError
from tests.support.console_app import api_get, console_server, console_with, post_login
from tests.support.servers import Client, RunningServer, free_port, make_settings

MARKER_IP = "203.0.113.77"
MARKER_AGENT = "MarkerAgent/9.9 (visitor-ua-marker)"


@pytest_asyncio.fixture
async def server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with console_server(settings, ConsoleSettings(nexus_phone="018-111 22 33")) as running:
        yield running


async def test_me_describes_the_account_and_the_pickers(server: RunningServer) -> None:
    """/me gives role, capacity, CSRF token (the hello's), outcomes and transfer reasons."""
    session_id = (await post_login(server, "sara")).session_id
    status, me = await api_get(server, "/console/api/me", session_id)
    assert status == 200
    assert (me["user"], me["role"], me["supervisor"], me["capacity"]) == (
        "sara",
        "supervisor",
        True,
        2,
    )
    assert {o["code"] for o in me["outcomes"]} == OUTCOME_CODES
    assert "referral_stodteamet" in OUTCOME_CODES and "other" in me["transfer_reasons"]
    console = await console_with(server, session_id)
    try:
        assert console.seen[0]["csrf"] == me["csrf"]
    finally:
        await console.close()


async def test_standard_texts_carry_the_numbers_and_the_configured_phone(
    server: RunningServer,
) -> None:
    """The default texts, in Swedish and English, name 112, Kvinnofridslinjen, Polisen,
    shelter and Stödteamet, and fill in Nexus' phone from the settings."""
    session_id = (await post_login(server, "anna")).session_id
    status, body = await api_get(server, "/console/api/standard-texts", session_id)
    assert status == 200
    texts = body["texts"]
    every = json.dumps(texts, ensure_ascii=False)
    for needle in ("112", "020-50 50 50", "114 14", "skyddat boende", "Stödteamet"):
        assert needle in every, needle
    assert "018-111 22 33" in every and "{nexus_phone}" not in every
    assert all(set(t["text"]) == {"sv", "en"} and set(t["title"]) == {"sv", "en"} for t in texts)
    assert (await api_get(server, "/console/api/standard-texts"))[0] == 401


async def test_standard_texts_file_is_configurable(
    redis_url: str, staff_file: Path, tmp_path: Path
) -> None:
    """NEXUS_STANDARD_TEXTS names another file; a malformed one stops the start clearly."""
    own = tmp_path / "texts.json"
    entry = {"id": "hej", "title": {"sv": "Hej", "en": "Hi"}, "text": {"sv": "Hej!", "en": "Hi!"}}
    own.write_text(json.dumps({"texts": [entry]}), "utf-8")
    chosen = ConsoleSettings.from_env({"NEXUS_STANDARD_TEXTS": str(own)})
    settings = make_settings(redis_url, staff_file, free_port())
    async with console_server(settings, chosen) as server:
        session_id = (await post_login(server, "anna")).session_id
        _, body = await api_get(server, "/console/api/standard-texts", session_id)
        assert [t["id"] for t in body["texts"]] == ["hej"]
    own.write_text(json.dumps({"texts": [{**entry, "text": {"sv": "bara svenska"}}]}), "utf-8")
    with pytest.raises(ConsoleSettingsError, match="entry 1"):
        async with console_server(make_settings(redis_url, staff_file, free_port()), chosen):
            pass


async def test_staff_list_shows_presence_and_load(server: RunningServer) -> None:
    """Colleagues come with presence and chats held; disabled accounts are left out."""
    anna = (await post_login(server, "anna")).session_id
    console = await console_with(server, anna)
    visitor = await _visitor(server)
    try:
        await console.send(type="take")
        await console.expect("chat_opened")
        _, body = await api_get(server, "/console/api/staff", anna)
        by_name = {s["username"]: s for s in body["staff"]}
        assert set(by_name) == {"anna", "bo", "sara"}
        assert (by_name["anna"]["presence"], by_name["anna"]["load"], by_name["anna"]["me"]) == (
            "available",
            1,
            True,
        )
        assert (by_name["bo"]["presence"], by_name["bo"]["load"]) == ("offline", 0)
        assert by_name["bo"]["can_take"] is False
    finally:
        await console.close()
        await visitor.close()


async def _visitor(server: RunningServer) -> Client:
    ws = await connect(
        f"{server.ws_url}/ws/visitor",
        origin=Origin(server.url),
        user_agent_header=MARKER_AGENT,
        additional_headers={"X-Forwarded-For": MARKER_IP, "X-Real-IP": MARKER_IP},
    )
    visitor = Client(ws)
    await visitor.send(type="start", language="sv")
    await visitor.expect("welcome")
    return visitor


async def test_console_never_sees_a_visitors_address_agent_or_token(
    server: RunningServer,
) -> None:
    """Everything sent to consoles and the API (taking, messages, notes, back-channel, queue,
    staff list) is free of the visitor's IP address, user agent and resume token."""
    visitor = await _visitor(server)
    token = visitor.seen[0]["token"]
    anna_id = (await post_login(server, "anna")).session_id
    sara_id = (await post_login(server, "sara")).session_id
    anna, sara = await console_with(server, anna_id), await console_with(server, sara_id)
    try:
        await visitor.send(type="message", text="hej", client_id="v1")
        await anna.send(type="take")
        chat_id = (await anna.expect("chat_opened"))["chat_id"]
        await anna.expect("message", sender="visitor")
        await anna.send(type="note", chat_id=chat_id, text="anteckning")
        await anna.send(type="backchannel", chat_id=chat_id, text="fråga")
        await sara.expect("backchannel")
        await anna.send(type="backchannel_get", chat_id=chat_id)
        await anna.expect("backchannel_history")
        await anna.send(type="raise_hand", chat_id=chat_id)
        await sara.expect("hand_raised")
        bodies = [
            json.dumps((await api_get(server, path, anna_id))[1])
            for path in ("/console/api/me", "/console/api/staff", "/console/api/standard-texts")
        ]
        seen = json.dumps(anna.seen + sara.seen, ensure_ascii=False) + "".join(bodies)
        for secret in (MARKER_IP, "visitor-ua-marker", token):
            assert secret not in seen
        assert "127.0.0.1" not in json.dumps(anna.seen + sara.seen)
    finally:
        for client in (anna, sara, visitor):
            await client.close()
