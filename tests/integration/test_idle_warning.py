"""Before a quiet chat lapses both sides are warned, and either can keep it open.

Time is not waited for: the test shortens the chat's TTL in Redis (what half an hour of
silence would have left) and runs the instance's idle check itself.
"""

from __future__ import annotations

import redis
from websockets.protocol import State

from chat_server.services import Services
from chat_server.web.appkeys import SERVICES
from tests.support.servers import Client, RunningServer, open_console, start_visitor

ALMOST_LAPSED_MS = 40_000  # inside the default warning window (300 s)


async def active_chat(server: RunningServer) -> tuple[Client, Client, str]:
    visitor, _ = await start_visitor(server)
    console = await open_console(server, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.expect("state", state="active")
    return visitor, console, chat_id


async def check(server: RunningServer) -> None:
    services: Services = server.app[SERVICES]
    assert services.idle_watch is not None
    await services.idle_watch.check()


async def test_both_sides_are_warned_once_and_the_visitor_keeps_the_chat_open(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """A chat about to lapse: idle_warning to the visitor and the console (once); the
    visitor's still_here renews it, and the console hears that it is cleared."""
    visitor, console, chat_id = await active_chat(server)
    await check(server)  # a fresh chat: nothing to say
    raw_redis.pexpire(f"nx:chat:{chat_id}", ALMOST_LAPSED_MS)
    await check(server)
    warning = await visitor.expect("idle_warning")
    assert 0 < warning["lapses_in_s"] <= ALMOST_LAPSED_MS // 1000
    assert (await console.expect("idle_warning"))["chat_id"] == chat_id
    await check(server)  # warned once is enough
    await visitor.send(type="still_here")
    await visitor.expect("idle_cleared")
    assert raw_redis.pttl(f"nx:chat:{chat_id}") > server.settings.idle_warning_s * 1000
    await check(server)
    assert (await console.expect("idle_cleared"))["chat_id"] == chat_id
    assert [f["type"] for f in visitor.seen].count("idle_warning") == 1
    assert [f["type"] for f in console.seen].count("idle_warning") == 1
    await visitor.close()
    await console.close()


async def test_the_counsellor_can_keep_the_chat_open_too(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """keep_open renews the chat for everyone; a colleague cannot keep another's chat."""
    visitor, console, chat_id = await active_chat(server)
    raw_redis.pexpire(f"nx:chat:{chat_id}", ALMOST_LAPSED_MS)
    await check(server)
    await visitor.expect("idle_warning")
    await console.expect("idle_warning")
    colleague = await open_console(server, "bo")
    await colleague.send(type="keep_open", chat_id=chat_id)
    refused = await colleague.expect("error")
    assert (refused["code"], refused["chat_id"]) == ("not_your_chat", chat_id)
    await console.send(type="keep_open", chat_id=chat_id)
    assert (await console.expect("idle_cleared"))["chat_id"] == chat_id
    await check(server)
    await visitor.expect("idle_cleared")
    for client in (visitor, console, colleague):
        await client.close()


async def test_still_here_on_a_chat_that_lapsed_is_chat_not_found(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """The chat's keys are gone (it lapsed): a clear error, the connection stays open."""
    visitor, welcome = await start_visitor(server)
    assert welcome["token"]
    (chat_key,) = [k for k in raw_redis.scan_iter("nx:chat:*") if k.count(":") == 2]
    raw_redis.delete(chat_key)
    await visitor.send(type="still_here")
    assert (await visitor.expect("error"))["code"] == "chat_not_found"
    assert visitor.ws.state is State.OPEN  # an error frame, not a close
    await visitor.close()
