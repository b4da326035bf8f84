"""Warm transfer on a real Redis, the holder and the colleague on two instances: accept,
decline, timeout, cancel, the colleague leaving, the chat ending, and every refusal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis

from chat_server.web.appkeys import SERVICES
from chat_server.web.warm_transfer import WARM_TRANSFER
from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    open_console,
    running_server,
    start_visitor,
    write_staff,
)

TEAM = {
    "anna": {"display_name": "Anna", "languages": ["sv"], "capacity": 3},
    "bo": {"display_name": "Bo", "languages": ["sv", "ar"], "capacity": 2},
    "cem": {"display_name": "Cem", "languages": ["sv"], "capacity": 1},
    "dan": {"display_name": "Dan", "languages": ["sv"], "capacity": 2, "disabled": True},
}


@dataclass
class Pair:
    """Two instances on one Redis: the holder's (``a``) and the colleague's (``b``)."""

    a: RunningServer
    b: RunningServer
    clients: list[Client] = field(default_factory=list)

    async def console(self, server: RunningServer, username: str, **hello: Any) -> Client:
        client = await open_console(server, username, **hello)
        self.clients.append(client)
        return client

    async def chat_for(self, console: Client) -> tuple[str, Client]:
        """A visitor on instance a starts a chat and ``console`` takes it."""
        visitor, _ = await start_visitor(self.a)
        self.clients.append(visitor)
        await console.send(type="take")
        chat_id = str((await console.expect("chat_opened"))["chat_id"])
        await visitor.expect("state", state="active")
        return chat_id, visitor


@pytest_asyncio.fixture
async def pair(redis_url: str, tmp_path: Path) -> AsyncIterator[Pair]:
    staff = tmp_path / "staff.json"
    write_staff(staff, TEAM)
    async with contextlib.AsyncExitStack() as stack:
        a, b = [
            await stack.enter_async_context(
                running_server(make_settings(redis_url, staff, free_port()))
            )
            for _ in range(2)
        ]
        running = Pair(a, b)
        try:
            yield running
        finally:
            for client in running.clients:
                await client.close()


async def consult(holder: Client, chat_id: str, to: str = "bo", **extra: Any) -> None:
    await holder.send(type="consult", chat_id=chat_id, to=to, reason="language", **extra)


async def has_had(client: Client, kind: str, **match: Any) -> dict[str, Any]:
    """The frame of ``kind`` (matching) this client already got, or the next one."""
    for frame in client.seen:
        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame
    return await client.expect(kind, **match)


def consult_keys(raw_redis: redis.Redis) -> list[str]:
    return [k for k in raw_redis.scan_iter("nx:*") if "consult" in k]


async def test_an_accepted_consult_moves_the_chat_with_its_history_and_note(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """Bo (other instance) sees the request with the note, accepts, and gets the chat, its
    history and its private note; Anna's consoles let it go; the visitor gets one notice."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, visitor = await pair.chat_for(anna)
    await visitor.send(type="message", text="hej", client_id="v1")
    await anna.expect("message", sender="visitor")
    await anna.send(type="note", chat_id=chat_id, text="vill prata arabiska")
    await anna.expect("note")
    await consult(anna, chat_id, note="Talar helst arabiska.")
    sent = await anna.expect("consult_sent")
    assert (sent["to"], sent["name"], sent["reason"], sent["expires_in_s"]) == (
        "bo", "Bo", "language", 60)  # fmt: skip
    request = await bo.expect("consult_request")
    assert request["chat_id"] == chat_id and request["alias"].startswith("Besökare ")
    assert (request["from"], request["name"], request["note"]) == (
        "anna", "Anna", "Talar helst arabiska.")  # fmt: skip
    assert request["expires_in_s"] == 60 and "token" not in request
    await bo.send(type="consult_answer", chat_id=chat_id, accept=True)
    opened = await bo.expect("chat_opened")
    assert (opened["transferred_from"], opened["reason"], opened["consult_note"]) == (
        "Anna", "language", "Talar helst arabiska.")  # fmt: skip
    assert (await bo.expect("message"))["text"] == "hej"
    await has_had(bo, "consult_withdrawn", reason="answered")
    await has_had(anna, "chat_released", chat_id=chat_id, to="bo")
    result = await has_had(anna, "consult_result")
    assert (result["result"], result["to"], result["name"]) == ("accepted", "bo", "Bo")
    told = await visitor.expect("state", transferred=True)
    assert told["state"] == "active"
    await bo.send(type="note_get", chat_id=chat_id)
    assert (await bo.expect("note"))["text"] == "vill prata arabiska"
    await anna.send(type="note_get", chat_id=chat_id)
    assert (await anna.expect("error"))["code"] == "not_your_chat"
    await bo.send(type="message", chat_id=chat_id, text="Hej, jag heter Bo.")
    assert (await visitor.expect("message"))["text"] == "Hej, jag heter Bo."
    assert [f for f in visitor.seen if f.get("transferred")] == [told]
    assert consult_keys(raw_redis) == []
    await bo.send(type="consult_answer", chat_id=chat_id, accept=True)
    assert (await bo.expect("error"))["code"] == "not_allowed_now"


async def test_a_declined_consult_leaves_the_chat_where_it_was(pair: Pair) -> None:
    """Anna hears the no; she still holds the chat and the visitor saw nothing."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, visitor = await pair.chat_for(anna)
    await consult(anna, chat_id)
    await bo.expect("consult_request")
    await bo.send(type="consult_answer", chat_id=chat_id, accept=False)
    assert (await anna.expect("consult_result"))["result"] == "declined"
    await bo.expect("consult_withdrawn", reason="answered")
    await anna.send(type="message", chat_id=chat_id, text="Jag är kvar.")
    assert (await visitor.expect("message"))["text"] == "Jag är kvar."
    assert [f for f in visitor.seen if f.get("transferred")] == []
    await bo.send(type="consult_answer", chat_id=chat_id, accept=False)
    assert (await bo.expect("error"))["code"] == "not_allowed_now"
    await consult(anna, chat_id)  # a new consult is possible once the first is answered
    await anna.expect("consult_sent")


async def test_a_consult_lapses_after_the_timeout(pair: Pair, raw_redis: redis.Redis) -> None:
    """Past NEXUS_CONSULT_TIMEOUT_S the sweep ends it: Anna keeps the chat, Bo's card goes,
    and a late yes is refused."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, _ = await pair.chat_for(anna)
    await consult(anna, chat_id)
    await bo.expect("consult_request")
    services = pair.b.app[SERVICES]
    assert await pair.b.app[WARM_TRANSFER].sweep() == 0  # not due yet
    real = services.clock_ms
    services.clock_ms = lambda: real() + 60_001
    try:
        await bo.send(type="consult_answer", chat_id=chat_id, accept=True)
        assert (await bo.expect("error"))["code"] == "not_allowed_now"  # lapsed, unswept
        assert await pair.b.app[WARM_TRANSFER].sweep() in (0, 1)  # 0: the loop came first
    finally:
        services.clock_ms = real
    assert (await anna.expect("consult_result"))["result"] == "timeout"
    await has_had(bo, "consult_withdrawn", reason="timeout")
    assert consult_keys(raw_redis) == []
    await anna.send(type="keep_open", chat_id=chat_id)
    await anna.expect("idle_cleared")  # still Anna's


async def test_the_holder_can_cancel_a_consult(pair: Pair) -> None:
    """consult_cancel withdraws Bo's card; a second cancel has nothing to cancel."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, _ = await pair.chat_for(anna)
    await consult(anna, chat_id)
    await bo.expect("consult_request")
    await anna.send(type="consult_cancel", chat_id=chat_id)
    assert (await anna.expect("consult_result"))["result"] == "cancelled"
    await bo.expect("consult_withdrawn", reason="cancelled")
    await anna.send(type="consult_cancel", chat_id=chat_id)
    assert (await anna.expect("error"))["code"] == "not_allowed_now"
    await bo.send(type="consult_answer", chat_id=chat_id, accept=True)
    assert (await bo.expect("error"))["code"] == "not_allowed_now"


@pytest.mark.parametrize("leaves", ["closes", "pauses"])
async def test_a_colleague_who_leaves_mid_consult_ends_it(pair: Pair, leaves: str) -> None:
    """Bo closing his last console or pausing: Anna hears colleague_unavailable, keeps it."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, _ = await pair.chat_for(anna)
    await consult(anna, chat_id)
    await bo.expect("consult_request")
    if leaves == "closes":
        await bo.close()
    else:
        await bo.send(type="presence", presence="paused")
    assert (await anna.expect("consult_result"))["result"] == "colleague_unavailable"
    if leaves == "pauses":
        await bo.expect("consult_withdrawn", reason="colleague_unavailable")
    await anna.send(type="keep_open", chat_id=chat_id)
    await anna.expect("idle_cleared")


async def test_a_chat_that_ends_mid_consult_takes_the_consult_with_it(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """The visitor leaves: Bo's card goes and no consult key is left in Redis."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, visitor = await pair.chat_for(anna)
    await consult(anna, chat_id, note="känsligt")
    await bo.expect("consult_request")
    assert len(consult_keys(raw_redis)) == 2  # the consult and the index
    await visitor.send(type="end")
    await bo.expect("consult_withdrawn", chat_id=chat_id, reason="chat_ended")
    await anna.expect("chat_ended")
    assert consult_keys(raw_redis) == []
    await bo.send(type="consult_answer", chat_id=chat_id, accept=True)
    assert (await bo.expect("error"))["code"] == "not_allowed_now"


async def test_consult_keys_carry_ttls_and_the_note_is_sealed(
    pair: Pair, raw_redis: redis.Redis
) -> None:
    """The consult hash and index expire on their own; the note is not stored in clear."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, _ = await pair.chat_for(anna)
    await consult(anna, chat_id, note="hemlig anteckning")
    await bo.expect("consult_request")
    for key in consult_keys(raw_redis):
        assert raw_redis.ttl(key) > 0
    stored = raw_redis.hgetall(f"nx:chat:{chat_id}:consult")
    assert stored["to"] == "bo" and "hemlig" not in stored["note"]


async def test_consult_refusals(pair: Pair) -> None:
    """Unknown, disabled, paused and full colleagues, yourself, twice at once, another's
    chat, and a cold transfer while consulting: each a clear error, nothing changed."""
    anna = await pair.console(pair.a, "anna")
    bo = await pair.console(pair.b, "bo")
    cem = await pair.console(pair.b, "cem")
    chat_id, visitor = await pair.chat_for(anna)
    for to, code in [("nobody", "target_unavailable"), ("dan", "target_unavailable"),
                     ("anna", "invalid_field")]:  # fmt: skip
        await consult(anna, chat_id, to=to)
        error = await anna.expect("error")
        assert (error["code"], error["chat_id"]) == (code, chat_id)
    cem_chat, _ = await pair.chat_for(cem)  # Cem (capacity 1) is now full
    await consult(anna, chat_id, to="cem")
    assert (await anna.expect("error"))["code"] == "target_at_capacity"
    await bo.send(type="presence", presence="paused")
    await bo.expect("presence")
    await consult(anna, chat_id, to="bo")
    assert (await anna.expect("error"))["code"] == "target_unavailable"
    await bo.send(type="presence", presence="available")
    await bo.expect("presence")
    await consult(anna, chat_id, to="bo")
    await anna.expect("consult_sent")
    await consult(anna, chat_id, to="bo")
    assert (await anna.expect("error"))["code"] == "not_allowed_now"  # twice at once
    await anna.send(type="transfer", chat_id=chat_id, to="", reason="other")
    assert (await anna.expect("error"))["code"] == "not_allowed_now"
    await consult(cem, chat_id, to="bo")
    assert (await cem.expect("error"))["code"] == "not_your_chat"
    await cem.send(type="consult_cancel", chat_id=chat_id)
    assert (await cem.expect("error"))["code"] == "not_your_chat"
    await cem.send(type="consult_answer", chat_id=chat_id, accept=True)
    assert (await cem.expect("error"))["code"] == "not_allowed_now"  # not asked
    await bo.send(type="consult_answer", chat_id=cem_chat, accept=True)
    assert (await bo.expect("error"))["code"] == "not_allowed_now"  # no consult there
    await bo.send(type="consult_answer", chat_id=chat_id, accept=True)  # still pending
    await bo.expect("chat_opened", chat_id=chat_id)
    await visitor.expect("state", transferred=True)


async def test_a_colleague_who_filled_up_meanwhile_cannot_accept_but_can_decline(
    pair: Pair,
) -> None:
    """Bo took another chat after the request and is full: his yes is target_at_capacity,
    the consult stays pending, and his no still ends it."""
    anna, bo = await pair.console(pair.a, "anna"), await pair.console(pair.b, "bo")
    chat_id, _ = await pair.chat_for(anna)
    await pair.chat_for(bo)
    await consult(anna, chat_id)
    await bo.expect("consult_request")
    await pair.chat_for(bo)  # Bo (capacity 2) is now full
    await bo.send(type="consult_answer", chat_id=chat_id, accept=True)
    assert (await bo.expect("error"))["code"] == "target_at_capacity"
    await bo.send(type="consult_answer", chat_id=chat_id, accept=False)
    assert (await anna.expect("consult_result"))["result"] == "declined"
