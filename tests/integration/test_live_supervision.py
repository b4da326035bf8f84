"""Live supervision over real WebSockets and Redis: monitoring, whispering, joining, leaving,
the counsellor always seeing the monitors (across instances), the audit trail, the refusals,
and nothing left behind when a chat ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
import redis

from chat_server.web.audit_trail import AUDIT
from chat_server.web.console_settings import ConsoleSettings
from tests.integration.test_console_features import Desk, desk_on
from tests.support.servers import Client, RunningServer, free_port, make_settings, start_visitor

MARKER = "PLANTED-VISITOR-TEXT-7Q"


@pytest_asyncio.fixture
async def desk(redis_url: str, staff_file: Path) -> AsyncIterator[Desk]:
    async with desk_on(make_settings(redis_url, staff_file, free_port()), ConsoleSettings()) as d:
        yield d


async def visitor_chat(desk: Desk, console: Client) -> tuple[Client, str]:
    """A visitor starts a chat and ``console`` takes it; the visitor and the chat id."""
    visitor, _ = await start_visitor(desk.server)
    desk.clients.append(visitor)
    await console.send(type="take")
    chat_id = str((await console.expect("chat_opened"))["chat_id"])
    await visitor.expect("state", state="active")
    return visitor, chat_id


async def audit_events(server: RunningServer, kinds: set[str], count: int) -> list[dict[str, str]]:
    """The monitoring events of the audit log, oldest first, once ``count`` are written."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        page = server.app[AUDIT].page(limit=200).events
        found = [e for e in reversed(page) if e["kind"] in kinds]
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.02)


async def test_monitor_whisper_join_and_leave(desk: Desk, raw_redis: redis.Redis) -> None:
    """Sara monitors Anna's chat read-only, whispers, joins (the visitor is told and reads
    her as supervisor), leaves; Anna sees every change; the audit names both, no text."""
    anna, sara = await desk.console("anna"), await desk.console("sara")
    visitor, chat_id = await visitor_chat(desk, anna)
    await visitor.send(type="message", text=MARKER)
    await anna.expect("message", sender="visitor")
    await sara.send(type="chats_active")
    listed = (await sara.expect("chats_active"))["chats"]
    assert [(c["chat_id"], c["counsellor"], c["name"], c["monitors"]) for c in listed] == [
        (chat_id, "anna", "Anna", 0)
    ]
    await sara.send(type="monitor", chat_id=chat_id)
    opened = await sara.expect("monitor_opened")
    assert (opened["counsellor"], opened["name"], opened["joined"]) == ("anna", "Anna", False)
    assert (await sara.expect("message", sender="visitor"))["text"] == MARKER  # history
    shown = await anna.expect("monitors", chat_id=chat_id)
    assert shown["monitors"] == [{"user": "sara", "name": "Sara", "joined": False}]

    await visitor.send(type="message", text="är du kvar?")
    assert (await sara.expect("message", sender="visitor"))["text"] == "är du kvar?"
    await sara.send(type="message", chat_id=chat_id, text="hej", client_id="m1")
    refused = await sara.expect("error")
    assert (refused["code"], refused["client_id"]) == ("not_your_chat", "m1")
    for frame in ({"type": "end"}, {"type": "typing"}, {"type": "transfer", "reason": "other"},
                  {"type": "note", "text": "x"}):  # fmt: skip
        await sara.send(**frame, chat_id=chat_id)
        assert (await sara.expect("error"))["code"] == "not_your_chat", frame

    await sara.send(type="backchannel", chat_id=chat_id, text="Fråga om hon är trygg i kväll.")
    whisper = await anna.expect("backchannel", role="supervisor")
    assert whisper["text"] == "Fråga om hon är trygg i kväll."

    await sara.send(type="join", chat_id=chat_id)
    assert (await visitor.expect("supervisor"))["joined"] is True
    assert (await anna.expect("supervisor", chat_id=chat_id))["joined"] is True
    joined = await anna.expect("monitors", chat_id=chat_id)
    assert joined["monitors"] == [{"user": "sara", "name": "Sara", "joined": True}]
    await sara.send(type="message", chat_id=chat_id, text="Jag är handledare här.", client_id="m2")
    own = await sara.expect("message", sender="supervisor")
    assert own["client_id"] == "m2"
    seen = await visitor.expect("message", sender="supervisor")
    assert seen["text"] == "Jag är handledare här." and "client_id" not in seen
    assert "client_id" not in await anna.expect("message", sender="supervisor")
    sealed = [f["text"] for _, f in raw_redis.xrange(f"nx:chat:{chat_id}:log")]
    assert not any("handledare" in text for text in sealed)  # stored sealed, like all text

    await sara.send(type="leave", chat_id=chat_id)
    assert (await visitor.expect("supervisor"))["joined"] is False
    assert (await anna.expect("monitors", chat_id=chat_id))["monitors"][0]["joined"] is False
    await sara.send(type="message", chat_id=chat_id, text="igen", client_id="m3")
    assert (await sara.expect("error"))["code"] == "not_your_chat"

    await sara.send(type="monitor_stop", chat_id=chat_id)
    assert (await sara.expect("monitor_stopped"))["reason"] == "stopped"
    assert (await anna.expect("monitors", chat_id=chat_id))["monitors"] == []
    events = await audit_events(desk.server, {"monitor_start", "monitor_end", "join"}, 3)
    assert [(e["kind"], e["actor"], e["target"]) for e in events] == [
        ("monitor_start", "sara", "anna"), ("join", "sara", "anna"), ("monitor_end", "sara", "anna")
    ]  # fmt: skip
    assert {e["alias"] for e in events} == {opened["alias"]}
    for path in desk.server.settings.audit_dir.iterdir():
        assert MARKER.encode() not in path.read_bytes()


async def test_monitoring_ends_with_the_chat_and_leaves_nothing(
    desk: Desk, raw_redis: redis.Redis
) -> None:
    """The chat ends: the monitor gets chat_ended (no outcome to give) and monitor_stopped,
    the monitors hash is gone with every other key of the chat, and the end is audited."""
    anna, sara = await desk.console("anna"), await desk.console("sara")
    _, chat_id = await visitor_chat(desk, anna)
    await sara.send(type="monitor", chat_id=chat_id)
    await sara.expect("monitor_opened")
    await anna.expect("monitors", chat_id=chat_id)
    assert 0 < raw_redis.pttl(f"nx:chat:{chat_id}:monitors") <= raw_redis.pttl(f"nx:chat:{chat_id}")
    await sara.send(type="join", chat_id=chat_id)
    await anna.expect("monitors", chat_id=chat_id)
    await anna.send(type="end", chat_id=chat_id, outcome=["support_talk"])
    ended = await sara.expect("chat_ended", chat_id=chat_id)
    assert ended["outcome_pending"] is False
    assert (await sara.expect("monitor_stopped"))["reason"] == "chat_ended"
    assert raw_redis.keys(f"nx:chat:{chat_id}*") == []
    await sara.send(type="backchannel", chat_id=chat_id, text="hallå")
    assert (await sara.expect("error"))["code"] == "chat_not_found"
    kinds = [e["kind"] for e in await audit_events(desk.server, {"monitor_end"}, 1)]
    assert kinds == ["monitor_end"]


async def test_closing_the_supervisors_console_ends_monitoring_across_instances(
    desk: Desk, redis_url: str, staff_file: Path
) -> None:
    """Sara monitors from another instance; Anna sees her at once and when Anna's console
    reconnects; Sara's console closing takes her off (a joined Sara leaves visibly)."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with desk_on(settings, ConsoleSettings()) as other:
        anna = await desk.console("anna")
        visitor, chat_id = await visitor_chat(desk, anna)
        sara = await other.console("sara")
        await sara.send(type="monitor", chat_id=chat_id)
        await sara.expect("monitor_opened")
        assert (await anna.expect("monitors", chat_id=chat_id))["monitors"][0]["user"] == "sara"
        again = await desk.console("anna")  # a second tab: told after its hello's chats
        await again.expect("monitors", chat_id=chat_id)
        await sara.send(type="join", chat_id=chat_id)
        await visitor.expect("supervisor", joined=True)
        await sara.close()
        assert (await visitor.expect("supervisor"))["joined"] is False
        assert (await anna.expect("monitors", chat_id=chat_id, monitors=[]))["monitors"] == []


async def test_a_chat_handed_to_its_monitor_becomes_theirs(desk: Desk) -> None:
    """Anna transfers the chat Sara monitors to Sara: Sara stops monitoring, holds it, and
    writes as its counsellor."""
    anna, sara = await desk.console("anna"), await desk.console("sara")
    visitor, chat_id = await visitor_chat(desk, anna)
    await sara.send(type="presence", presence="available")
    await sara.expect("presence")
    await sara.send(type="monitor", chat_id=chat_id)
    await sara.expect("monitor_opened")
    await anna.send(type="transfer", chat_id=chat_id, to="sara", reason="other")
    await sara.expect("chat_opened", chat_id=chat_id)
    assert (await sara.expect("monitor_stopped", chat_id=chat_id))["reason"] == "stopped"
    await sara.send(type="message", chat_id=chat_id, text="Nu är det jag.", client_id="k1")
    assert (await visitor.expect("message", sender="counsellor"))["text"] == "Nu är det jag."
    await anna.expect("chat_released", chat_id=chat_id)


async def test_refusals_lose_nothing(desk: Desk) -> None:
    """A counsellor cannot list, monitor or join; nobody monitors a waiting, ended or own
    chat; join, leave, stop and whisper need monitoring; the chat carries on unharmed."""
    anna, bo, sara = (
        await desk.console("anna"),
        await desk.console("bo"),
        await desk.console("sara"),
    )
    visitor, chat_id = await visitor_chat(desk, anna)

    async def refused(client: Client, **frame: Any) -> str:
        await client.send(**frame)
        return str((await client.expect("error"))["code"])

    assert await refused(bo, type="chats_active") == "supervisors_only"
    assert await refused(bo, type="monitor", chat_id=chat_id) == "supervisors_only"
    assert await refused(bo, type="join", chat_id=chat_id) == "supervisors_only"
    assert await refused(sara, type="join", chat_id=chat_id) == "not_monitoring"
    assert await refused(sara, type="leave", chat_id=chat_id) == "not_monitoring"
    assert await refused(sara, type="monitor_stop", chat_id=chat_id) == "not_monitoring"
    assert await refused(sara, type="backchannel", chat_id=chat_id, text="psst") == "not_monitoring"
    assert await refused(sara, type="monitor", chat_id="0" * 32) == "chat_not_found"
    assert await refused(sara, type="monitor") == "missing_field"
    assert await refused(sara, type="monitor", chat_id="../x") == "invalid_field"
    waiting, _ = await start_visitor(desk.server)
    desk.clients.append(waiting)
    queued = (await sara.expect("queue", waiting=1))["chats"][0]["chat_id"]
    assert await refused(sara, type="monitor", chat_id=queued) == "not_allowed_now"
    await sara.send(type="presence", presence="available")
    await sara.send(type="take", chat_id=queued)
    await sara.expect("chat_opened", chat_id=queued)
    assert await refused(sara, type="monitor", chat_id=queued) == "not_allowed_now"  # her own
    await sara.send(type="monitor", chat_id=chat_id)
    await sara.expect("monitor_opened")
    assert await refused(sara, type="monitor", chat_id=chat_id) == "not_allowed_now"  # again
    assert await refused(sara, type="leave", chat_id=chat_id) == "not_allowed_now"  # not joined
    assert not [f for f in bo.seen if f.get("type") == "monitors"]
    await visitor.send(type="message", text="fortfarande här")
    assert (await anna.expect("message", sender="visitor"))["text"] == "fortfarande här"
    await anna.send(type="end", chat_id=chat_id)
    await sara.expect("monitor_stopped", reason="chat_ended")
    assert await refused(sara, type="monitor", chat_id=chat_id) == "chat_not_found"
