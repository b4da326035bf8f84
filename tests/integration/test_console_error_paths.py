"""The console's error paths: clear refusals that name the frame, nothing lost, no silence."""

from __future__ import annotations

import io
from pathlib import Path

import redis
from websockets.asyncio.client import connect
from websockets.typing import Origin

from chat_server.domain.console_protocol import QUEUE_PAGE_SIZE
from chat_server.services import Services
from chat_server.web.appkeys import SERVICES
from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    login,
    make_settings,
    open_console,
    running_server,
    start_visitor,
)

LONE_SURROGATE = '"\\ud800"'  # a valid JSON escape that no UTF-8 string (so no Redis key) holds


async def take_one(server: RunningServer, console: Client) -> tuple[Client, str]:
    visitor, _ = await start_visitor(server)
    await console.send(type="take")
    return visitor, (await console.expect("chat_opened"))["chat_id"]


async def test_a_chat_id_that_is_not_valid_unicode_is_refused_in_every_feature_frame(
    server: RunningServer, log_capture: io.StringIO
) -> None:
    """note, note_get, backchannel(_get), raise_hand, chat_done: invalid_field, console stays."""
    console = await open_console(server, "anna")
    for kind in ("note_get", "backchannel_get", "raise_hand", "chat_done", "note", "backchannel"):
        await console.ws.send(f'{{"type":"{kind}","chat_id":{LONE_SURROGATE},"text":"x"}}')
        error = await console.expect("error")
        assert error["code"] == "invalid_field", kind
        assert "chat_id" not in error  # what cannot name a chat is not echoed
    visitor, chat_id = await take_one(server, console)  # the same console still works
    await console.send(type="note_get", chat_id=chat_id)
    assert (await console.expect("note"))["chat_id"] == chat_id
    assert "Traceback" not in log_capture.getvalue()
    await visitor.close()
    await console.close()


async def test_refusals_carry_the_chat_id_and_client_id_of_the_refused_frame(
    server: RunningServer,
) -> None:
    """Racing several takes, or writing to several chats, a console can tell which failed."""
    console = await open_console(server, "anna")
    await console.send(type="take", chat_id="0123abcd")
    gone = await console.expect("error")
    assert (gone["code"], gone["chat_id"]) == ("chat_not_found", "0123abcd")
    await console.send(type="accept", chat_id="feed01")
    assert (await console.expect("error"))["chat_id"] == "feed01"
    await console.send(type="message", chat_id="feed02", text="hej", client_id="k9")
    refused = await console.expect("error")
    assert (refused["chat_id"], refused["client_id"]) == ("feed02", "k9")
    await console.send(type="bogus")  # no chat_id: still the type is what is wrong
    assert (await console.expect("error"))["code"] == "unknown_type"
    await console.close()


async def test_both_consoles_of_a_counsellor_follow_and_answer_across_instances(
    redis_url: str, staff_file: Path
) -> None:
    """A chat taken on one tab opens on the other (another instance); either can write."""
    async with (
        running_server(make_settings(redis_url, staff_file, free_port())) as a,
        running_server(make_settings(redis_url, staff_file, free_port())) as b,
    ):
        first, second = await open_console(a, "anna"), await open_console(b, "anna")
        visitor, chat_id = await take_one(a, first)
        assert (await second.expect("chat_opened"))["chat_id"] == chat_id
        await second.send(type="message", chat_id=chat_id, text="Från andra fliken", client_id="t2")
        echo = await second.expect("message", client_id="t2")
        assert echo["text"] == "Från andra fliken" and echo["sender"] == "counsellor"
        assert (await first.expect("message", seq=echo["seq"]))["text"] == "Från andra fliken"
        assert (await visitor.expect("message", sender="counsellor"))["text"] == "Från andra fliken"
        await first.send(type="transfer", chat_id=chat_id, to="", reason="other")
        assert (await first.expect("chat_released"))["chat_id"] == chat_id
        assert (await second.expect("chat_released"))["chat_id"] == chat_id
        for client in (visitor, first, second):
            await client.close()


async def test_a_write_from_a_console_that_did_not_follow_the_chat_is_answered(
    server: RunningServer,
) -> None:
    """A chat claimed for anna elsewhere without telling her consoles (an instance that died
    between the claim and the nudge): her write is stored, and answered with the chat."""
    console = await open_console(server, "anna")
    visitor, _ = await start_visitor(server)
    services: Services = server.app[SERVICES]
    chat_id = await services.chats.claim("anna", capacity=2, now_ms=services.clock_ms())
    await console.send(type="message", chat_id=chat_id, text="Hej igen", client_id="s1")
    assert (await console.expect("chat_opened"))["chat_id"] == chat_id
    assert (await console.expect("message", client_id="s1"))["text"] == "Hej igen"
    assert (await visitor.expect("message", sender="counsellor"))["text"] == "Hej igen"
    await visitor.close()
    await console.close()


async def test_every_waiting_chat_can_be_listed_and_taken(server: RunningServer) -> None:
    """The queue frame lists 50; queue_page lists the rest; chat 53 is taken by its id."""
    visitors = [(await start_visitor(server))[0] for _ in range(QUEUE_PAGE_SIZE + 5)]
    console = await open_console(server, "anna", presence="available")
    queue = await console.expect("queue", waiting=QUEUE_PAGE_SIZE + 5)
    assert len(queue["chats"]) == QUEUE_PAGE_SIZE
    await console.send(type="queue_page", offset=QUEUE_PAGE_SIZE)
    page = await console.expect("queue_page")
    assert (page["offset"], page["waiting"], len(page["chats"])) == (50, 55, 5)
    listed = {c["chat_id"] for c in queue["chats"]} | {c["chat_id"] for c in page["chats"]}
    assert len(listed) == QUEUE_PAGE_SIZE + 5
    third_from_last = page["chats"][2]["chat_id"]
    await console.send(type="take", chat_id=third_from_last)
    assert (await console.expect("chat_opened"))["chat_id"] == third_from_last
    for client in (*visitors, console):
        await client.close()


async def test_the_hello_keeps_a_paused_counsellor_paused(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """A console that says hello paused is paused from its first moment: no offer before
    it chooses to be available (then the waiting chat is offered at once)."""
    visitor, _ = await start_visitor(server)
    console = await open_console(server, "anna", presence="paused")
    hello = next(f for f in console.seen if f["type"] == "hello")
    assert hello["presence"] == "paused"
    assert raw_redis.hget("nx:staff:anna:presence", "presence") == "paused"
    assert not [f for f in console.seen if f["type"] == "offer"]
    await console.send(type="presence", presence="available")
    assert (await console.expect("offer"))["alias"].startswith("Besökare")
    await visitor.close()
    await console.close()


async def test_a_console_must_open_with_hello(server: RunningServer) -> None:
    """Any other first frame is refused (not_allowed_now) and the socket closes 4400."""
    session_id = await login(server, "anna")
    ws = await connect(
        f"{server.ws_url}/ws/console", origin=Origin(server.url),
        additional_headers={"Cookie": f"__Host-nexus_session={session_id}"},
    )  # fmt: skip
    console = Client(ws)
    await console.send(type="take")
    assert (await console.expect("error"))["code"] == "not_allowed_now"
    await ws.wait_closed()
    assert ws.close_code == 4400


async def test_the_frame_limit_counts_a_whole_fragmented_message(server: RunningServer) -> None:
    """Fragments each under NEXUS_MAX_FRAME_BYTES but over it together: close 1009."""
    console = await open_console(server, "anna")
    half = server.settings.max_frame_bytes // 2 + 1
    await console.ws.send(['{"type":"note","text":"', "n" * half, "n" * half, '"}'])
    await console.ws.wait_closed()
    assert console.ws.close_code == 1009
