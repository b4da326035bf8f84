"""A chat's keys (hash, stream, token) live on while messages come, renewed at most once a
minute by post_event.lua, and anything else that sets their TTL (touch_chat.lua: the visitor
went away or came back) makes the next message renew them again. Real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
import redis
from redis.asyncio import Redis

from chat_server.domain.models import Sender
from chat_server.store.chats import ChatStore
from chat_server.store.connection import connect
from chat_server.store.keys import Keys
from chat_server.store.scripts import Scripts

CHAT_TTL_S = 600
SHORT_S = 100  # a TTL set from outside, well below CHAT_TTL_S


@pytest_asyncio.fixture
async def chats(redis_url: str) -> AsyncIterator[ChatStore]:
    client: Redis = connect(redis_url)
    yield ChatStore(client, Keys(), Scripts(client), CHAT_TTL_S)
    await client.aclose()


def chat_keys(raw_redis: redis.Redis, chat_id: str) -> list[str]:
    token_hash = raw_redis.hget(f"nx:chat:{chat_id}", "tok")
    return [f"nx:chat:{chat_id}", f"nx:chat:{chat_id}:log", f"nx:tok:{token_hash}"]


def ttls(raw_redis: redis.Redis, chat_id: str) -> list[int]:
    return [raw_redis.ttl(key) for key in chat_keys(raw_redis, chat_id)]


def shorten(raw_redis: redis.Redis, chat_id: str) -> None:
    for key in chat_keys(raw_redis, chat_id):
        raw_redis.expire(key, SHORT_S)


async def post(chats: ChatStore, chat_id: str, now_ms: int) -> None:
    await chats.post(chat_id, sender=Sender.VISITOR, text="hej", now_ms=now_ms)


async def test_a_message_renews_every_key_of_the_chat(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    chat_id = (await chats.create_chat(now_ms=1_000)).chat_id
    await post(chats, chat_id, 1_000)  # the stream exists from here on
    shorten(raw_redis, chat_id)
    await post(chats, chat_id, 70_000)
    assert all(CHAT_TTL_S - 5 < ttl <= CHAT_TTL_S for ttl in ttls(raw_redis, chat_id))


async def test_the_renewal_happens_at_most_once_a_minute(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    chat_id = (await chats.create_chat(now_ms=1_000)).chat_id
    await post(chats, chat_id, 1_000)
    shorten(raw_redis, chat_id)
    await post(chats, chat_id, 31_000)  # half a minute later: left as it is
    assert all(0 < ttl <= SHORT_S for ttl in ttls(raw_redis, chat_id))
    await post(chats, chat_id, 61_000)  # a minute after the last renewal
    assert all(CHAT_TTL_S - 5 < ttl <= CHAT_TTL_S for ttl in ttls(raw_redis, chat_id))


async def test_a_ttl_set_elsewhere_is_followed_by_a_renewal(
    chats: ChatStore, raw_redis: redis.Redis
) -> None:
    """The visitor goes (a short TTL) and comes back: the next message, seconds after the
    last renewal, still renews; so does one after a resume."""
    chat_id = (await chats.create_chat(now_ms=1_000)).chat_id
    await post(chats, chat_id, 1_000)
    assert await chats.set_ttl(chat_id, SHORT_S, gone_ms=2_000) is not None
    assert all(0 < ttl <= SHORT_S for ttl in ttls(raw_redis, chat_id))
    await post(chats, chat_id, 3_000)
    assert all(CHAT_TTL_S - 5 < ttl <= CHAT_TTL_S for ttl in ttls(raw_redis, chat_id))
    assert await chats.set_ttl(chat_id, SHORT_S) is not None  # back online, then shortened
    await post(chats, chat_id, 4_000)
    assert all(CHAT_TTL_S - 5 < ttl <= CHAT_TTL_S for ttl in ttls(raw_redis, chat_id))
