"""A resume takes a chat over from an older connection, on this instance or another one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis

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

REPLACED = 4409
GONE_TTL_S = 30  # short, so a wrongly "gone" chat would show in its TTL at once


async def closed_with(client: Client, timeout_s: float = 5.0) -> int | None:
    """The close code the server sent ``client``, once the connection has closed."""
    await asyncio.wait_for(client.ws.wait_closed(), timeout_s)
    return client.ws.close_code


async def resume(server: RunningServer, token: str, last_seq: int = 0) -> Client:
    client = await open_visitor(server)
    await client.send(type="resume", token=token, last_seq=last_seq)
    await client.expect("welcome", resumed=True)
    return client


async def test_a_resume_on_the_same_instance_closes_the_older_connection(
    server: RunningServer,
) -> None:
    """The older socket of the same chat gets 4409; the newer one goes on chatting."""
    old, welcome = await start_visitor(server)
    new = await resume(server, welcome["token"])
    assert await closed_with(old) == REPLACED
    await new.send(type="message", text="här nu", client_id="n1")
    assert (await new.expect("message", client_id="n1"))["text"] == "här nu"
    await new.close()


async def test_a_resume_on_another_instance_closes_the_older_connection(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis
) -> None:
    """With two instances, the older socket on A gets 4409 when the visitor resumes on B,
    and A does not mark the chat as left: no short TTL, no 'offline' to the counsellor."""
    settings = {"visitor_gone_ttl_s": GONE_TTL_S}
    async with (
        running_server(make_settings(redis_url, staff_file, free_port(), **settings)) as a,
        running_server(make_settings(redis_url, staff_file, free_port(), **settings)) as b,
    ):
        old, welcome = await start_visitor(a)
        console = await open_console(b, "anna")
        await console.send(type="take")
        chat_id = (await console.expect("chat_opened"))["chat_id"]
        await old.expect("state", state="active")

        new = await resume(b, welcome["token"], last_seq=1)
        assert await closed_with(old) == REPLACED
        await console.expect("visitor_presence", online=True)
        await asyncio.sleep(0.5)  # time for A to have marked the chat gone, had it done so
        assert raw_redis.ttl(f"nx:chat:{chat_id}") > GONE_TTL_S
        assert not [
            f for f in console.seen if f["type"] == "visitor_presence" and not f["online"]
        ]
        await new.send(type="message", text="från B", client_id="b1")
        assert (await console.expect("message", sender="visitor"))["text"] == "från B"
        await new.close()
        await console.close()


async def test_the_newer_connection_is_not_replaced_by_its_own_resume(
    redis_url: str, staff_file: Path
) -> None:
    """A connection hears its own resume announced and stays open."""
    async with (
        running_server(make_settings(redis_url, staff_file, free_port())) as a,
        running_server(make_settings(redis_url, staff_file, free_port())) as b,
    ):
        old, welcome = await start_visitor(a)
        await old.close()
        new = await resume(b, welcome["token"])
        await asyncio.sleep(0.3)
        await new.send(type="message", text="kvar", client_id="k")
        assert (await new.expect("message", client_id="k"))["text"] == "kvar"
        assert new.ws.close_code is None
        await new.close()
