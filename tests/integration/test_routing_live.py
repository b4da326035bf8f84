"""Routing on a real Redis: offers, accept and decline, timeouts, skills, transfer, backup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    open_console,
    running_server,
    start_visitor,
    write_staff,
)

TEAM = {
    "anna": {"languages": ["sv", "en"], "topics": ["violence_close"], "capacity": 2},
    "bo": {"languages": ["sv", "ar"], "topics": ["honour"], "capacity": 2},
    "cem": {"languages": ["sv"], "topics": [], "capacity": 1, "backup": True},
    "sara": {"languages": ["sv"], "role": "supervisor", "capacity": 0},
}


@pytest_asyncio.fixture
async def routed(redis_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    staff = tmp_path / "staff.json"
    write_staff(staff, TEAM)
    settings = make_settings(
        redis_url, staff, free_port(), offer_timeout_s=1, relax_after_s=1, backup_after_s=2,
        routing_tick_s=0.2,
    )  # fmt: skip
    async with running_server(settings) as server:
        yield server


async def on_duty(server: RunningServer, *names: str) -> list[Client]:
    return [await open_console(server, name) for name in names]


async def close_all(*clients: Client) -> None:
    for client in clients:
        await client.close()


async def test_a_chat_is_offered_and_accepted(routed: RunningServer) -> None:
    """The one counsellor on duty gets an offer; accepting opens the chat for both sides."""
    (anna,) = await on_duty(routed, "anna")
    visitor, _ = await start_visitor(routed, language="sv", topic="violence_close")
    offer = await anna.expect("offer")
    assert offer["alias"].startswith("Besökare ") and offer["match"] == "exact"
    assert offer["expires_in_s"] == 1 and "token" not in offer
    await anna.send(type="accept", chat_id=offer["chat_id"])
    assert (await anna.expect("chat_opened"))["chat_id"] == offer["chat_id"]
    await visitor.expect("state", state="active")
    await close_all(visitor, anna)


async def test_skills_decide_who_gets_the_offer(routed: RunningServer) -> None:
    """An Arabic chat about honour-related violence goes to the counsellor with both skills."""
    anna, bo = await on_duty(routed, "anna", "bo")
    visitor, _ = await start_visitor(routed, language="ar", topic="honour")
    offer = await bo.expect("offer")
    assert offer["match"] == "exact" and offer["language"] == "ar"
    assert [f for f in anna.seen if f["type"] == "offer"] == []
    await close_all(visitor, anna, bo)


async def test_skills_relax_after_the_wait(routed: RunningServer) -> None:
    """With nobody speaking the language, the chat reaches anyone after 2 × relax_after_s."""
    (anna,) = await on_duty(routed, "anna")
    visitor, _ = await start_visitor(routed, language="ar")
    offer = await anna.expect("offer", timeout=6)
    assert offer["match"] == "any"
    assert offer["language"] == "ar"
    await close_all(visitor, anna)


async def test_declined_offer_goes_to_the_next_counsellor(routed: RunningServer) -> None:
    """A decline passes the chat on at once, and the decliner is not asked again first."""
    anna, bo = await on_duty(routed, "anna", "bo")
    visitor, _ = await start_visitor(routed)
    first = await anna.expect("offer")
    chat_id = first["chat_id"]
    await anna.send(type="decline", chat_id=chat_id)
    assert (await anna.expect("offer_withdrawn"))["reason"] == "declined"
    second = await bo.expect("offer", chat_id=chat_id)
    await bo.send(type="accept", chat_id=second["chat_id"])
    await bo.expect("chat_opened")
    await close_all(visitor, anna, bo)


async def test_an_offer_left_unanswered_moves_on_and_pauses_the_counsellor(
    routed: RunningServer,
) -> None:
    """After the offer timeout the counsellor is paused and the next one gets the chat."""
    anna, bo = await on_duty(routed, "anna", "bo")
    visitor, _ = await start_visitor(routed, topic="violence_close")
    offer = await anna.expect("offer")
    withdrawn = await anna.expect("offer_withdrawn", timeout=4)
    assert withdrawn == {
        "type": "offer_withdrawn",
        "chat_id": offer["chat_id"],
        "reason": "timeout",
    }
    assert (await anna.expect("presence"))["presence"] == "paused"
    await bo.expect("offer", chat_id=offer["chat_id"], timeout=4)
    # Accepting the expired offer now is refused with a clear code; the chat is not lost.
    await anna.send(type="presence", presence="available")
    await anna.expect("presence", presence="available")
    await anna.send(type="decline", chat_id=offer["chat_id"])
    assert (await anna.expect("error"))["code"] == "not_allowed_now"
    await close_all(visitor, anna, bo)


async def test_auto_accept_assigns_without_a_click(routed: RunningServer) -> None:
    """A counsellor with auto-accept gets the chat opened directly."""
    (anna,) = await on_duty(routed, "anna")
    await anna.send(type="auto_accept", enabled=True)
    await anna.expect("auto_accept", enabled=True)
    visitor, _ = await start_visitor(routed)
    opened = await anna.expect("chat_opened")
    await visitor.expect("state", state="active")
    assert opened["alias"].startswith("Besökare ")
    await close_all(visitor, anna)


async def take_offer(console: Client) -> str:
    offer = await console.expect("offer")
    await console.send(type="accept", chat_id=offer["chat_id"])
    await console.expect("chat_opened")
    return str(offer["chat_id"])


async def test_transfer_to_a_colleague_keeps_the_conversation(routed: RunningServer) -> None:
    """Anna hands the chat to Bo for language; Bo sees the history; the visitor is told."""
    (anna,) = await on_duty(routed, "anna")
    visitor, _ = await start_visitor(routed)
    chat_id = await take_offer(anna)
    await visitor.send(type="message", text="مرحبا", client_id="1")
    await anna.expect("message", sender="visitor")
    (bo,) = await on_duty(routed, "bo")
    await anna.send(type="transfer", chat_id=chat_id, to="bo", reason="language")
    released = await anna.expect("chat_released")
    assert released == {"type": "chat_released", "chat_id": chat_id, "to": "bo"}
    opened = await bo.expect("chat_opened", chat_id=chat_id)
    assert opened["reason"] == "language" and opened["transferred_from"] == "anna"
    history = await bo.expect("message", sender="visitor")
    assert history["text"] == "مرحبا"
    told = await visitor.expect("state", transferred=True)
    assert told["state"] == "active" and told["reason"] == "language"
    await bo.send(type="message", chat_id=chat_id, text="أهلا", client_id="b")
    assert (await visitor.expect("message", sender="counsellor"))["text"] == "أهلا"
    await anna.send(type="message", chat_id=chat_id, text="still here?")
    assert (await anna.expect("error"))["code"] == "not_your_chat"
    await close_all(visitor, anna, bo)


async def test_transfer_back_to_the_queue_goes_to_someone_else(routed: RunningServer) -> None:
    """Back to the queue with a reason: the visitor waits again; the next offer skips Anna."""
    (anna,) = await on_duty(routed, "anna")
    visitor, _ = await start_visitor(routed)
    chat_id = await take_offer(anna)
    (bo,) = await on_duty(routed, "bo")
    await anna.send(type="transfer", chat_id=chat_id, to="", reason="topic")
    await anna.expect("chat_released")
    told = await visitor.expect("state", transferred=True)
    assert told["state"] == "waiting"
    await visitor.expect("queue", position=1)
    await bo.expect("offer", chat_id=chat_id)
    offers_to_anna = [f for f in anna.seen if f["type"] == "offer" and f["chat_id"] == chat_id]
    assert len(offers_to_anna) == 1  # the first offer only, not again after handing it back
    await close_all(visitor, anna, bo)


@pytest.mark.parametrize(
    ("target", "code"),
    [("nobody", "target_unavailable"), ("cem", "target_unavailable"), ("anna", "invalid_field")],
)
async def test_transfer_to_someone_who_cannot_take_it(
    routed: RunningServer, target: str, code: str
) -> None:
    """Unknown or offline colleagues, or oneself, are refused; the chat stays put."""
    (anna,) = await on_duty(routed, "anna")
    visitor, _ = await start_visitor(routed)
    chat_id = await take_offer(anna)
    await anna.send(type="transfer", chat_id=chat_id, to=target, reason="other")
    assert (await anna.expect("error"))["code"] == code
    await anna.send(type="message", chat_id=chat_id, text="kvar", client_id="k")
    await anna.expect("message", client_id="k")
    await close_all(visitor, anna)


async def test_transfer_to_a_full_colleague_is_refused(routed: RunningServer) -> None:
    """Cem (capacity 1) already holds a chat: a transfer to him is refused."""
    anna, cem = await on_duty(routed, "anna", "cem")
    await cem.send(type="presence", presence="available")
    first, _ = await start_visitor(routed)
    second, _ = await start_visitor(routed)
    await cem.send(type="take")
    cems = (await cem.expect("chat_opened"))["chat_id"]
    offer = await anna.expect("offer")
    while offer["chat_id"] == cems:
        offer = await anna.expect("offer")
    chat_id = offer["chat_id"]
    await anna.send(type="accept", chat_id=chat_id)
    await anna.expect("chat_opened", chat_id=chat_id)
    await anna.send(type="transfer", chat_id=chat_id, to="cem", reason="other")
    assert (await anna.expect("error"))["code"] == "target_at_capacity"
    await close_all(first, second, anna, cem)


async def test_backup_counsellor_is_offered_only_after_the_threshold(
    routed: RunningServer,
) -> None:
    """Cem (backup) gets nothing at first, then an alert and an offer once waits pass 2 s."""
    (cem,) = await on_duty(routed, "cem")
    visitor, _ = await start_visitor(routed)
    await asyncio.sleep(1.0)
    assert [f for f in cem.seen if f["type"] in ("offer", "backup_alert")] == []
    alert = await cem.expect("backup_alert", timeout=5)
    assert alert["longest_wait_s"] >= 2
    await cem.expect("offer", timeout=5)
    await close_all(visitor, cem)


async def test_waiting_visitor_gets_an_estimate_once_someone_is_on_duty(
    routed: RunningServer,
) -> None:
    """No one on duty: no estimate and a callback offer; with Anna paused-in, an estimate."""
    visitor, _ = await start_visitor(routed)
    first = await visitor.expect("queue")
    assert first["estimate_s"] is None and first["overflow"] is True
    (anna,) = await on_duty(routed, "anna")
    await anna.send(type="presence", presence="available")
    update: dict[str, Any] = await visitor.expect("queue", timeout=5)
    while update["estimate_s"] is None:
        update = await visitor.expect("queue", timeout=5)
    assert update["estimate_s"] >= 60 and update["overflow"] is False
    await close_all(visitor, anna)
