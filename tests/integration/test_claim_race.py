"""Many counsellors on two instances race for the same chats: no chat is taken twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import redis

from chat_server.store.chats import ChatStore
from chat_server.store.connection import connect
from chat_server.store.keys import Keys
from chat_server.store.scripts import Scripts
from tests.support.servers import (
    free_port,
    make_settings,
    open_console,
    running_server,
    start_visitor,
    write_staff,
)


async def test_store_level_race_has_no_double_claims(
    redis_url: str, raw_redis: redis.Redis
) -> None:
    """200 concurrent claims by 40 counsellors over 2 clients for 60 chats: each chat once."""
    clients = [connect(redis_url) for _ in range(2)]
    stores = [ChatStore(c, Keys(), Scripts(c), 600) for c in clients]
    chat_ids = {(await stores[0].create_chat(now_ms=i)).chat_id for i in range(60)}

    async def claim(n: int) -> str | None:
        try:
            return await stores[n % 2].claim(f"c{n % 40}", capacity=2, now_ms=1000)
        except Exception as refused:  # queue_empty / at_capacity are expected answers
            assert getattr(refused, "code", "") in ("queue_empty", "at_capacity")
            return None

    results = await asyncio.gather(*(claim(n) for n in range(200)))
    won = [r for r in results if r]
    assert len(won) == len(set(won)) == 60
    assert set(won) == chat_ids
    per_counsellor = Counter(raw_redis.hget(f"nx:chat:{c}", "counsellor") for c in won)
    assert max(per_counsellor.values()) <= 2
    assert raw_redis.zcard("nx:queue") == 0
    for client in clients:
        await client.aclose()


async def test_consoles_on_two_instances_race_for_one_chat(redis_url: str, tmp_path: Path) -> None:
    """Six consoles on two instances press 'take' on the same chat at once: one wins."""
    staff = tmp_path / "staff.json"
    write_staff(staff, {f"c{i}": {"capacity": 2} for i in range(6)})
    async with (
        running_server(make_settings(redis_url, staff, free_port())) as a,
        running_server(make_settings(redis_url, staff, free_port())) as b,
    ):
        visitor, _ = await start_visitor(a)
        consoles = [await open_console(a if i % 2 else b, f"c{i}") for i in range(6)]
        queue = await consoles[0].expect("queue", waiting=1)
        chat_id = queue["chats"][0]["chat_id"]
        await asyncio.gather(*(c.send(type="take", chat_id=chat_id) for c in consoles))
        answers = await asyncio.gather(*(c.expect_any(("chat_opened", "error")) for c in consoles))
        assert sorted(a["type"] for a in answers) == ["chat_opened"] + ["error"] * 5
        assert {a["code"] for a in answers if a["type"] == "error"} == {"not_allowed_now"}
        await visitor.expect("state", state="active")
        for client in (visitor, *consoles):
            await client.close()
