"""A counsellor ends an abusive chat at once; it is counted as its own outcome."""

from __future__ import annotations

import asyncio

import redis

from chat_server.domain.outcomes import ENDED_ABUSIVE, GROUP_ENDING, outcomes_for_console
from tests.integration.test_late_outcomes import ClockedServer, clock, outcomes, server
from tests.support.servers import open_console, start_visitor

__all__ = ["clock", "server"]  # the fixtures


def test_the_picker_offers_ending_as_abusive_in_its_own_group() -> None:
    """The console's outcome list has the code, Swedish label first."""
    (choice,) = [o for o in outcomes_for_console() if o["code"] == ENDED_ABUSIVE]
    assert choice == {"code": "ended_abusive", "group": GROUP_ENDING,
                      "sv": "Avslutad: missbruk av chatten", "en": "Ended: misuse of the chat"}  # fmt: skip


async def test_ending_as_abusive_ends_the_chat_at_once_and_counts_on_its_own(
    server: ClockedServer, raw_redis: redis.Redis
) -> None:
    """The visitor gets the usual 'ended' by the counsellor; the statistics count
    outcome:ended_abusive and nothing of the chat remains."""
    anna = await open_console(server, "anna")
    visitor, _ = await start_visitor(server)
    await anna.send(type="take")
    chat_id = (await anna.expect("chat_opened"))["chat_id"]
    await anna.send(type="end", chat_id=chat_id, outcome=[ENDED_ABUSIVE])
    ended = await visitor.expect("ended")
    assert (ended["by"], ended["reason"]) == ("counsellor", "counsellor_ended")
    assert (await anna.expect("chat_ended", chat_id=chat_id))["outcome_pending"] is False
    for _ in range(200):  # the end hook counts just after the end is announced
        if outcomes(raw_redis):
            break
        await asyncio.sleep(0.01)
    assert outcomes(raw_redis) == {"outcome:ended_abusive": 1}
    assert list(raw_redis.scan_iter(f"nx:chat:{chat_id}*")) == []
    await anna.close()
    await visitor.close()
