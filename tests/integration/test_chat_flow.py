"""The whole chat path over real WebSockets on a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import redis
import websockets

from chat_server.web.appkeys import SERVICES
from tests.support.servers import RunningServer, open_console, open_visitor, start_visitor


async def test_visitor_and_counsellor_complete_a_chat(server: RunningServer) -> None:
    """A visitor waits, a counsellor takes the chat, they talk, the visitor ends it."""
    visitor, welcome = await start_visitor(server, topic="", language="sv")
    assert welcome["state"] == "waiting" and len(welcome["token"]) >= 22
    queued = await visitor.expect("queue")
    assert (queued["position"], queued["waiting"]) == (1, 1)
    assert queued["estimate_s"] is None and queued["overflow"] is True  # nobody on duty yet

    console = await open_console(server, "anna")
    await console.send(type="take")
    opened = await console.expect("chat_opened")
    chat_id = opened["chat_id"]
    assert opened["alias"].startswith("Besökare ")
    await visitor.expect("state", state="active")

    await visitor.send(type="message", text="Hej, jag behöver prata", client_id="v1")
    echo = await visitor.expect("message", client_id="v1")  # the echo is the acknowledgement
    got = await console.expect("message", sender="visitor")
    assert got["text"] == "Hej, jag behöver prata" and got["seq"] == echo["seq"]
    assert "client_id" not in got  # the sender's counter is echoed to the sender only
    assert echo["text"] == "Hej, jag behöver prata" and echo["sender"] == "visitor"
    assert sum(1 for f in visitor.seen if f["type"] == "ack") == 0  # the echo is the ack

    await console.send(type="message", chat_id=chat_id, text="Hej, jag finns här", client_id="k1")
    await console.expect("message", client_id="k1", sender="counsellor")
    reply = await visitor.expect("message", sender="counsellor")
    assert reply["text"] == "Hej, jag finns här"

    await visitor.send(type="end")
    ended = await visitor.expect("ended")
    assert ended["by"] == "visitor"
    survey = await visitor.expect("feedback")  # a one-time token for the anonymous survey
    async with aiohttp.ClientSession() as http:
        answer = {"token": survey["token"], "helped": 5, "contact_again": "yes"}
        async with http.post(f"{server.url}/api/feedback", json=answer,
                             headers={"Origin": server.url}) as response:
            assert response.status in (200, 204)
        async with http.post(f"{server.url}/api/feedback", json=answer,
                             headers={"Origin": server.url}) as replay:
            assert replay.status >= 400  # single use
    closed = await console.expect("chat_ended", chat_id=chat_id)
    assert closed["reason"] == "visitor_ended"
    await console.close()


async def test_a_message_written_while_waiting_reaches_the_counsellor(
    server: RunningServer,
) -> None:
    """What a visitor writes in the queue is replayed to the counsellor who takes the chat."""
    visitor, _ = await start_visitor(server)
    await visitor.send(type="message", text="skrivet i kön", client_id="a")
    await visitor.expect("message", client_id="a")
    console = await open_console(server, "bo")
    await console.send(type="take")
    await console.expect("chat_opened")
    early = await console.expect("message", sender="visitor")
    assert early["text"] == "skrivet i kön" and early["seq"] == 1
    await visitor.close()
    await console.close()


async def test_counsellor_ends_and_every_key_of_the_chat_is_gone(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """Ending a chat deletes its hash, stream and token at once; the visitor is told."""
    visitor, welcome = await start_visitor(server)
    console = await open_console(server, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.send(type="message", text="något", client_id="x")
    await visitor.expect("message", client_id="x")
    assert any(chat_id in key for key in raw_redis.scan_iter("nx:*"))

    await console.send(type="end", chat_id=chat_id)
    ended = await visitor.expect("ended")
    assert ended["by"] == "counsellor"
    await console.expect("chat_ended", chat_id=chat_id)
    leftovers = [k for k in raw_redis.scan_iter("nx:*") if chat_id in k or k.startswith("nx:tok:")]
    assert leftovers == []
    assert raw_redis.zcard("nx:queue") == 0
    assert raw_redis.scard("nx:staff:anna:chats") == 0

    # The token is dead now: resuming gets a clear answer and close code.
    late = await open_visitor(server)
    await late.send(type="resume", token=welcome["token"], last_seq=0)
    error = await late.expect("error")
    assert error["code"] == "chat_not_found"
    await asyncio.wait_for(late.ws.wait_closed(), 5)
    assert late.ws.close_code == 4404
    await console.close()


async def test_resume_delivers_what_was_missed_without_duplicates(server: RunningServer) -> None:
    """After a dropped connection the visitor resumes with the last seq and misses nothing."""
    visitor, welcome = await start_visitor(server)
    console = await open_console(server, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.expect("state", state="active")
    await visitor.send(type="message", text="ett", client_id="1")
    first_seq = (await visitor.expect("message", client_id="1"))["seq"]
    await visitor.ws.close()  # the connection drops

    for text in ("två", "tre", "fyra"):
        await console.send(type="message", chat_id=chat_id, text=text)
        await console.expect("message", text=text)
    back = await open_visitor(server)
    await back.send(type="resume", token=welcome["token"], last_seq=first_seq)
    resumed = await back.expect("welcome")
    assert resumed == {"type": "welcome", "state": "active", "resumed": True}
    texts = [(await back.expect("message"))["text"] for _ in range(3)]
    assert texts == ["två", "tre", "fyra"]
    await console.send(type="message", chat_id=chat_id, text="fem")
    live = await back.expect("message")
    assert live["text"] == "fem"
    seqs = [f["seq"] for f in back.seen if f["type"] == "message"]
    assert len(seqs) == len(set(seqs)) == 4
    await back.close()
    await console.close()


async def test_queue_positions_follow_the_queue(server: RunningServer) -> None:
    """Three visitors see positions 1-3; when the first is taken the others move up."""
    visitors = []
    for _ in range(3):
        visitor, _ = await start_visitor(server)
        visitors.append(visitor)
    for place, visitor in enumerate(visitors, start=1):
        await visitor.expect("queue", position=place)  # joins behind: the total may lag 5 s
    console = await open_console(server, "anna")
    await console.send(type="take")
    await console.expect("chat_opened")
    await visitors[1].expect("queue", position=1, waiting=2)
    await visitors[2].expect("queue", position=2, waiting=2)
    for visitor in visitors:
        await visitor.close()
    await console.close()


async def test_an_urgent_chat_is_served_first(server: RunningServer) -> None:
    """A visitor who is not safe now goes ahead of those who came earlier."""
    calm, _ = await start_visitor(server)
    urgent, _ = await start_visitor(server, urgent=True)
    await urgent.expect("queue", position=1)
    console = await open_console(server, "anna")
    await console.send(type="take")
    await console.expect("chat_opened")
    await urgent.expect("state", state="active")
    await calm.expect("queue", position=1, waiting=1)
    await calm.close()
    await urgent.close()
    await console.close()


async def test_two_instances_are_one_service(redis_url: str, staff_file) -> None:  # type: ignore[no-untyped-def]
    """A visitor on instance A chats with a counsellor on instance B through Redis alone."""
    from tests.support.servers import free_port, make_settings, running_server

    async with (
        running_server(make_settings(redis_url, staff_file, free_port())) as a,
        running_server(make_settings(redis_url, staff_file, free_port())) as b,
    ):
        visitor, _ = await start_visitor(a)
        console = await open_console(b, "bo")
        queue = await console.expect("queue", waiting=1)
        await console.send(type="take", chat_id=queue["chats"][0]["chat_id"])
        chat_id = (await console.expect("chat_opened"))["chat_id"]
        await visitor.expect("state", state="active")
        await visitor.send(type="message", text="från A")
        assert (await console.expect("message", sender="visitor"))["text"] == "från A"
        await console.send(type="message", chat_id=chat_id, text="från B")
        assert (await visitor.expect("message", sender="counsellor"))["text"] == "från B"
        await console.send(type="end", chat_id=chat_id)
        await visitor.expect("ended")
        await console.close()


async def test_wrong_origin_is_refused_before_the_upgrade(server: RunningServer) -> None:
    """A visitor socket from a foreign page gets HTTP 403 and no WebSocket."""
    try:
        await open_visitor(server, origin="https://evil.example")
    except websockets.exceptions.InvalidStatus as refused:
        assert refused.response.status_code == 403
    else:
        raise AssertionError("a foreign origin was accepted")


async def test_a_take_before_the_new_chats_feed_listens_still_reaches_the_visitor(
    server: RunningServer,
) -> None:
    """A chat taken between its creation and the visitor's subscription (here: at once, inside
    create_chat) still shows the visitor it is active: the new feed reads the history."""
    services = server.app[SERVICES]
    create_chat = services.chats.create_chat

    async def create_and_take(**fields: Any) -> Any:
        new = await create_chat(**fields)
        await services.chats.claim("anna", capacity=3, now_ms=services.clock_ms(),
                                   chat_id=new.chat_id)  # fmt: skip
        return new

    services.chats.create_chat = create_and_take  # type: ignore[method-assign]
    try:
        visitor, welcome = await start_visitor(server, topic="", language="sv")
        assert welcome["state"] == "waiting"
        await visitor.expect("state", state="active")
    finally:
        services.chats.create_chat = create_chat  # type: ignore[method-assign]
    await visitor.close()
