"""The visitor's "Någon kommer": the counsellor is told, a reloaded console still knows, and
the visitor hears nothing back."""

from __future__ import annotations

import redis

from tests.support.servers import Client, RunningServer, open_console, start_visitor


async def active_chat(server: RunningServer) -> tuple[Client, Client, str]:
    visitor, _ = await start_visitor(server)
    console = await open_console(server, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.expect("state", state="active")
    return visitor, console, chat_id


async def test_not_alone_reaches_the_console_and_survives_a_reload(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """on: the console gets visitor_not_alone, the hash keeps the flag (TTL untouched), a
    reconnecting console's hello carries it; off: on false, and the next hello has none."""
    visitor, console, chat_id = await active_chat(server)
    key = f"nx:chat:{chat_id}"
    ttl_before = raw_redis.ttl(key)
    heard = len(visitor.seen)
    await visitor.send(type="not_alone", on=True)
    notice = await console.expect("visitor_not_alone")
    assert notice == {"type": "visitor_not_alone", "chat_id": chat_id, "on": True}
    assert raw_redis.hget(key, "not_alone") == "1"
    assert 0 < raw_redis.ttl(key) <= ttl_before

    await console.close()
    again = await open_console(server, "anna")
    (hello,) = [f for f in again.seen if f["type"] == "hello"]
    (entry,) = [c for c in hello["chats"] if c["chat_id"] == chat_id]
    assert entry["not_alone"] is True

    await visitor.send(type="not_alone", on=False)
    assert (await again.expect("visitor_not_alone"))["on"] is False
    assert raw_redis.hget(key, "not_alone") == "0"
    await visitor.send(type="message", text="nu är jag ensam", client_id="c1")
    await visitor.expect("message", client_id="c1")
    assert [f["type"] for f in visitor.seen[heard:]] == ["message"]  # not_alone: no answer
    await again.close()
    third = await open_console(server, "anna")
    (hello,) = [f for f in third.seen if f["type"] == "hello"]
    assert "not_alone" not in hello["chats"][0]
    for client in (visitor, third):
        await client.close()


async def test_not_alone_on_an_ended_chat_is_chat_not_found(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """The chat's keys are gone (it lapsed): chat_not_found, and no bare hash is left."""
    visitor, _ = await start_visitor(server)
    (chat_key,) = [k for k in raw_redis.scan_iter("nx:chat:*") if k.count(":") == 2]
    raw_redis.delete(chat_key)
    await visitor.send(type="not_alone", on=True)
    assert (await visitor.expect("error"))["code"] == "chat_not_found"
    assert not raw_redis.exists(chat_key)
    await visitor.close()


async def test_not_alone_with_a_bad_on_is_invalid_field(server: RunningServer) -> None:
    """'on' must be true or false; without it the frame is missing a field."""
    visitor, console, _ = await active_chat(server)
    await visitor.send(type="not_alone", on="yes")
    assert (await visitor.expect("error"))["code"] == "invalid_field"
    await visitor.send(type="not_alone")
    assert (await visitor.expect("error"))["code"] == "missing_field"
    await visitor.send(type="message", text="hej", client_id="c1")
    await console.expect("message", text="hej")  # nothing reached the console before it
    assert not [f for f in console.seen if f["type"] == "visitor_not_alone"]
    for client in (visitor, console):
        await client.close()
