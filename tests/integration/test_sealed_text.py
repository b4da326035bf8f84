"""Chat text never in clear in Redis: not in a key, not on pub/sub, not in MONITOR; keys
rotate with old chats readable, and an instance without a chat's key loses nothing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from chat_server.config import Settings
from chat_server.crypto import generate_key
from chat_server.store.sealing import MessageKeyring, key_id
from tests.integration.test_privacy import dump_key
from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    open_console,
    open_visitor,
    running_server,
    start_visitor,
)

VISITOR_TEXT = "KANARIEFAGEL-9001 han tog min telefon"
COUNSELLOR_TEXT = "KANARIEFAGEL-9002 vi kan hjälpa dig"
NOTE_TEXT = "KANARIEFAGEL-9003 anteckning"
STAFF_TEXT = "KANARIEFAGEL-9004 fråga till handledare"
MARKERS = (VISITOR_TEXT, COUNSELLOR_TEXT, NOTE_TEXT, STAFF_TEXT)


@contextlib.asynccontextmanager
async def redis_eavesdropper(url: str) -> AsyncIterator[list[str]]:
    """Everything MONITOR shows and every pub/sub message of the service, as text."""
    heard: list[str] = []
    monitor_client, pubsub_client = Redis.from_url(url), Redis.from_url(url)
    pubsub = pubsub_client.pubsub()
    await pubsub.psubscribe("nx:*")

    async def monitor() -> None:
        async with monitor_client.monitor() as feed:
            async for command in feed.listen():
                heard.append(str(command))

    async def listen() -> None:
        async for message in pubsub.listen():
            heard.append(str(message))

    tasks = [asyncio.create_task(monitor()), asyncio.create_task(listen())]
    try:
        yield heard
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, redis.RedisError):
                await task
        await pubsub.aclose()
        await monitor_client.aclose()
        await pubsub_client.aclose()


async def a_full_chat(server: RunningServer) -> tuple[Client, Client, str]:
    """Both sides write, the counsellor notes and asks a supervisor; returns the clients."""
    visitor, _ = await start_visitor(server)
    console = await open_console(server, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.send(type="message", text=VISITOR_TEXT, client_id="v")
    assert (await console.expect("message", sender="visitor"))["text"] == VISITOR_TEXT
    await console.send(type="message", chat_id=chat_id, text=COUNSELLOR_TEXT, client_id="c")
    assert (await visitor.expect("message", sender="counsellor"))["text"] == COUNSELLOR_TEXT
    await console.send(type="note", chat_id=chat_id, text=NOTE_TEXT)
    await console.expect("note", saved=True)
    await console.send(type="backchannel", chat_id=chat_id, text=STAFF_TEXT)
    assert (await console.expect("backchannel"))["text"] == STAFF_TEXT
    return visitor, console, chat_id


async def test_redis_sees_only_ciphertext_of_an_open_chat(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """Every key and value, a pub/sub subscriber and MONITOR: no planted text, while the
    clients read it all in clear (history replayed to a second console included)."""
    async with redis_eavesdropper(server.settings.redis_url) as heard:
        visitor, console, chat_id = await a_full_chat(server)
        await console.send(type="note_get", chat_id=chat_id)
        assert (await console.expect("note", saved=False))["text"] == NOTE_TEXT
        await console.send(type="backchannel_get", chat_id=chat_id)
        history = await console.expect("backchannel_history")
        assert [e["text"] for e in history["entries"]] == [STAFF_TEXT]
        again = await open_console(server, "anna")  # replays the chat's history from Redis
        assert (await again.expect("message", sender="visitor"))["text"] == VISITOR_TEXT
        stored = "".join(k + dump_key(raw_redis, k) for k in raw_redis.scan_iter("*"))
        assert chat_id in stored and raw_redis.hget(f"nx:chat:{chat_id}", "salt")
        assert any(chat_id in line for line in heard)  # the eavesdroppers did hear the chat
        for marker in MARKERS:
            assert marker not in stored
            assert not [line for line in heard if marker in line]
        await console.send(type="end", chat_id=chat_id)
        await visitor.expect("ended")
    assert not raw_redis.exists(f"nx:chat:{chat_id}")  # the salt went with the chat
    for client in (visitor, console, again):
        await client.close()


async def test_a_rotated_key_keeps_old_chats_readable_and_seals_new_ones(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """Instance A (key 1) starts a chat; C (key 2 only) cannot read it and says so, losing
    nothing; B (key 2, key 1 kept as old) reads it all and seals new chats under key 2."""
    key_one, key_two = generate_key(), generate_key()

    def instance(*keys: str) -> Settings:
        ring = MessageKeyring.from_settings(keys[0], ",".join(keys[1:]))
        return make_settings(redis_url, staff_file, free_port(), message_keys=ring)

    async with (
        running_server(instance(key_one)) as a,
        running_server(instance(key_two, key_one)) as b,
        running_server(instance(key_two)) as c,
    ):
        visitor, welcome = await start_visitor(a)
        await visitor.send(type="message", text=VISITOR_TEXT, client_id="v1")
        await visitor.expect("message", client_id="v1")
        (old_chat,) = chats(raw_redis)

        blind = await open_console(c, "anna")  # takes the chat, but cannot read it here
        await blind.send(type="take")
        refused = await blind.expect("error")
        assert (refused["code"], refused["chat_id"]) == ("unavailable", old_chat)
        await blind.ws.wait_closed()
        assert blind.ws.close_code == 4503
        lost = await open_visitor(c)  # the visitor resumes there: the same answer (and the
        await lost.send(type="resume", token=welcome["token"], last_seq=0)  # older tab: 4409)
        assert (await lost.expect("error"))["code"] == "unavailable"
        await lost.ws.wait_closed()
        assert lost.ws.close_code == 4503
        visitor = await open_visitor(b)  # and then on an instance with the key
        await visitor.send(type="resume", token=welcome["token"], last_seq=0)
        assert (await visitor.expect("message", client_id="v1"))["text"] == VISITOR_TEXT

        console = await open_console(b, "anna")  # the old key still opens it: nothing lost
        assert (await console.expect("message", sender="visitor"))["text"] == VISITOR_TEXT
        await console.send(type="message", chat_id=old_chat, text=COUNSELLOR_TEXT)
        assert (await visitor.expect("message", sender="counsellor"))["text"] == COUNSELLOR_TEXT
        new_visitor, _ = await start_visitor(b)
        kid = {chat: raw_redis.hget(f"nx:chat:{chat}", "kid") for chat in chats(raw_redis)}
        assert kid[old_chat] == key_id(base64.urlsafe_b64decode(key_one))
        assert set(kid.values()) == {kid[old_chat], key_id(base64.urlsafe_b64decode(key_two))}
        for client in (visitor, new_visitor, console):
            await client.close()


def chats(raw_redis: redis.Redis) -> list[str]:
    """The ids of the chats in Redis (their hashes)."""
    return [key.split(":")[2] for key in raw_redis.scan_iter("nx:chat:*") if key.count(":") == 2]


MALFORMED_NUDGES = ("{not json", "[1, 2]", '"msg"', '{"kind": "msg", "seq": 99}')


async def test_a_malformed_chat_nudge_is_ignored_and_loses_nothing(
    server: RunningServer, raw_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Garbage on a chat's channel (not JSON, not an object, a message without its token)
    is ignored with a warning by both feeds; the next message arrives in order."""
    visitor, console, chat_id = await a_full_chat(server)
    seq = int(raw_redis.hget(f"nx:chat:{chat_id}", "seq")) + 1
    with caplog.at_level(logging.WARNING):
        for nudge in MALFORMED_NUDGES:
            assert raw_redis.publish(f"nx:ch:chat:{chat_id}", nudge) == 1
        await visitor.send(type="message", text=VISITOR_TEXT, client_id="after")
        echo = await visitor.expect("message", client_id="after")
        arrived = await console.expect("message", sender="visitor")
    assert (echo["seq"], arrived["seq"], arrived["text"]) == (seq, seq, VISITOR_TEXT)
    ignored = [r for r in caplog.records if r.getMessage() == "ignored a malformed chat nudge"]
    assert len(ignored) == 2 * len(MALFORMED_NUDGES)  # the visitor's feed and the console's
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    for client in (visitor, console):
        await client.close()
