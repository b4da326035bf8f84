"""Every bad frame gets a documented answer; the connection and other chats keep working."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.servers import RunningServer, open_console, open_visitor, start_visitor


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "malformed_json"),
        ("[1, 2]", "not_an_object"),
        ('{"text": "no type"}', "missing_field"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "message"}', "missing_field"),
        ('{"type": "message", "text": 42}', "invalid_field"),
        ('{"type": "message", "text": "   "}', "invalid_field"),
        (json.dumps({"type": "message", "text": "x" * 2001}), "text_too_long"),
        ('{"type": "start"}', "not_allowed_now"),
    ],
)
async def test_bad_frame_gets_an_error_and_the_chat_goes_on(
    server: RunningServer, frame: str, code: str
) -> None:
    """The error names the problem and the next good message still goes through."""
    visitor, _ = await start_visitor(server)
    await visitor.ws.send(frame)
    error = await visitor.expect("error")
    assert error["code"] == code and error["message"]
    await visitor.send(type="message", text="fortfarande här", client_id="ok")
    assert (await visitor.expect("message", client_id="ok"))["seq"] == 1
    await visitor.close()


async def test_binary_frame_gets_an_error(server: RunningServer) -> None:
    """Binary frames are not part of the protocol: error, connection stays open."""
    visitor, _ = await start_visitor(server)
    await visitor.ws.send(b"\x00\x01binary")
    assert (await visitor.expect("error"))["code"] == "binary_not_supported"
    await visitor.send(type="message", text="text works", client_id="t")
    await visitor.expect("message", client_id="t")
    await visitor.close()


async def test_oversized_frame_closes_with_1009_and_nothing_else_breaks(
    server: RunningServer,
) -> None:
    """A frame over the frame limit closes that connection with 1009; another chat is fine."""
    other, _ = await start_visitor(server)
    big, welcome = await start_visitor(server)
    await big.ws.send("x" * (server.settings.max_frame_bytes + 1))
    with pytest.raises(ConnectionClosed):
        while True:
            await big.recv()
    assert big.ws.close_code == 1009
    await other.send(type="message", text="opåverkad", client_id="o")
    await other.expect("message", client_id="o")
    # The oversized sender's chat still exists: resuming it works.
    again = await open_visitor(server)
    await again.send(type="resume", token=welcome["token"], last_seq=0)
    assert (await again.expect("welcome"))["resumed"] is True
    await again.close()
    await other.close()


async def test_first_frame_must_be_start_or_resume(server: RunningServer) -> None:
    """A message before the hello gets an error and close code 4400."""
    visitor = await open_visitor(server)
    await visitor.send(type="message", text="hej")
    assert (await visitor.expect("error"))["code"] == "not_allowed_now"
    await asyncio.wait_for(visitor.ws.wait_closed(), 5)
    assert visitor.ws.close_code == 4400


async def test_silent_connection_is_closed_after_the_hello_timeout(
    server: RunningServer,
) -> None:
    """No hello within the timeout: close code 4408."""
    object.__setattr__(server.settings, "hello_timeout_s", 0.3)
    visitor = await open_visitor(server)
    await asyncio.wait_for(visitor.ws.wait_closed(), 5)
    assert visitor.ws.close_code == 4408


async def test_unknown_token_gets_4404(server: RunningServer) -> None:
    """A made-up or expired token: error frame chat_not_found, close 4404."""
    visitor = await open_visitor(server)
    await visitor.send(type="resume", token="A" * 32, last_seq=0)
    assert (await visitor.expect("error"))["code"] == "chat_not_found"
    await asyncio.wait_for(visitor.ws.wait_closed(), 5)
    assert visitor.ws.close_code == 4404


async def test_flood_is_limited_and_reported(server: RunningServer) -> None:
    """Past the burst, messages are refused with rate_limited (never silently dropped)."""
    visitor, _ = await start_visitor(server)
    burst = server.settings.visitor_msg_burst
    for i in range(burst + 3):
        await visitor.send(type="message", text=f"m{i}", client_id=str(i))
    answers = [await visitor.expect_any(("message", "error")) for _ in range(burst + 3)]
    acks = [a for a in answers if a["type"] == "message"]
    limited = [a for a in answers if a["type"] == "error"]
    assert len(acks) == burst
    assert len(limited) == 3 and {e["code"] for e in limited} == {"rate_limited"}
    # Each refusal names the refused message, so the widget can give its text back.
    assert sorted(e["client_id"] for e in limited) == sorted(str(i) for i in range(burst, burst + 3))
    await visitor.close()


async def test_too_many_errors_close_the_connection(server: RunningServer) -> None:
    """A client that sends only garbage is closed with 4429 after the documented count."""
    visitor, _ = await start_visitor(server)
    for _ in range(server.settings.max_protocol_errors + 1):
        await visitor.ws.send("garbage")
    with pytest.raises(ConnectionClosed):
        while True:
            await visitor.recv()
    assert visitor.ws.close_code == 4429


async def test_message_to_an_ended_chat_is_refused(server: RunningServer) -> None:
    """A counsellor writing to a chat that has ended gets chat_not_found."""
    visitor, _ = await start_visitor(server)
    console = await open_console(server, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.send(type="end")
    await console.expect("chat_ended")
    await console.send(type="message", chat_id=chat_id, text="hallå?")
    assert (await console.expect("error"))["code"] == "chat_not_found"
    await console.close()


async def test_counsellor_cannot_touch_another_counsellors_chat(server: RunningServer) -> None:
    """Writing to, typing in or ending someone else's chat: not_your_chat; nothing changes."""
    visitor, _ = await start_visitor(server)
    anna = await open_console(server, "anna")
    bo = await open_console(server, "bo")
    await anna.send(type="take")
    chat_id = (await anna.expect("chat_opened"))["chat_id"]
    await bo.send(type="message", chat_id=chat_id, text="intrång")
    assert (await bo.expect("error"))["code"] == "not_your_chat"
    await bo.send(type="end", chat_id=chat_id)
    assert (await bo.expect("error"))["code"] == "not_your_chat"
    await bo.send(type="typing", chat_id=chat_id, active=True)
    assert (await bo.expect("error"))["code"] == "not_your_chat"
    await bo.send(type="take", chat_id=chat_id)
    assert (await bo.expect("error"))["code"] == "not_allowed_now"
    await anna.send(type="message", chat_id=chat_id, text="still mine", client_id="a")
    await anna.expect("message", client_id="a")
    assert [f for f in visitor.seen if f.get("text") == "intrång"] == []
    for client in (visitor, anna, bo):
        await client.close()


async def test_capacity_is_enforced(server: RunningServer) -> None:
    """A counsellor with capacity 2 cannot take a third chat."""
    visitors = [(await start_visitor(server))[0] for _ in range(3)]
    console = await open_console(server, "anna")
    for _ in range(2):
        await console.send(type="take")
        await console.expect("chat_opened")
    await console.send(type="take")
    assert (await console.expect("error"))["code"] == "at_capacity"
    for client in (*visitors, console):
        await client.close()


async def test_unknown_presence_and_console_garbage(server: RunningServer) -> None:
    """The console gets errors for bad frames and keeps working."""
    console = await open_console(server, "anna")
    await console.ws.send("{bad")
    assert (await console.expect("error"))["code"] == "malformed_json"
    await console.send(type="presence", presence="asleep")
    assert (await console.expect("error"))["code"] == "invalid_field"
    await console.send(type="take")
    assert (await console.expect("error"))["code"] == "queue_empty"
    await console.send(type="presence", presence="paused")
    assert (await console.expect("presence"))["presence"] == "paused"
    await console.send(type="take")
    assert (await console.expect("error"))["code"] == "not_allowed_now"
    await console.close()


async def test_too_long_text_error_names_the_client_message(server: RunningServer) -> None:
    """A too-long message is refused with its client_id, so the client can keep the text."""
    visitor, _ = await start_visitor(server)
    await visitor.send(type="message", text="y" * 2001, client_id="long-1")
    error = await visitor.expect("error")
    assert (error["code"], error["client_id"]) == ("text_too_long", "long-1")
    await visitor.close()
