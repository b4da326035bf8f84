"""Late outcomes: a chat the visitor ended waits for its counsellor's outcome codes, which are
counted once (or as "unspecified" when the grace period runs out), on real servers and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web

from chat_server.app import create_app
from chat_server.store.outcomes import OUTCOME_GRACE_S, LateOutcome
from chat_server.web.appkeys import SERVICES
from chat_server.web.security import PrivacyAccessLogger
from chat_server.web.supervision import SUPERVISION, Supervision
from tests.integration.supervisor_helpers import FAST_CONFIG
from tests.support.servers import (
    Client,
    RunningServer,
    free_port,
    make_settings,
    open_console,
    start_visitor,
)

GRACE_MS = OUTCOME_GRACE_S * 1000
PENDING_SET = "nx:late-outcomes"


@dataclass
class ClockedServer(RunningServer):
    supervision: Supervision
    clock: Callable[[], int]


class Clock:
    """Wall-clock milliseconds plus an offset a test moves forward (the grace period)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms


@contextlib.asynccontextmanager
async def clocked_server(
    redis_url: str, staff_file: Path, clock: Clock
) -> AsyncIterator[ClockedServer]:
    """The real app (statistics wired by create_app) on a real port, on ``clock``."""
    settings = make_settings(redis_url, staff_file, free_port()).with_overrides(
        supervisor=FAST_CONFIG
    )
    app = create_app(settings, clock_ms=clock)
    runner = web.AppRunner(app, access_log_class=PrivacyAccessLogger)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    try:
        yield ClockedServer(settings, app, app[SUPERVISION], clock)
    finally:
        await runner.cleanup()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def server(redis_url: str, staff_file: Path, clock: Clock) -> AsyncIterator[ClockedServer]:
    async with clocked_server(redis_url, staff_file, clock) as running:
        yield running


def counters(raw_redis: redis.Redis) -> dict[str, int]:
    """Every statistics day's counters summed (a chat counts on the day it was offered)."""
    total: dict[str, int] = {}
    for key in raw_redis.scan_iter("nx:stats:day:*"):
        for name, count in raw_redis.hgetall(key).items():
            if not str(name).startswith("_"):
                total[str(name)] = total.get(str(name), 0) + int(count)
    return total


def outcomes(raw_redis: redis.Redis) -> dict[str, int]:
    return {k: v for k, v in counters(raw_redis).items() if k.startswith("outcome:")}


async def visitor_ends_a_chat(
    server: RunningServer, console: Client, *, quick: bool = False
) -> str:
    """A visitor is answered by ``console`` and then ends the chat; returns its id once the
    console has heard of the end (the frame is checked to ask for the outcome)."""
    visitor, _ = await start_visitor(server, topic="honour", language="sv")
    await console.send(type="take")
    chat_id = str((await console.expect("chat_opened"))["chat_id"])
    await visitor.send(type="end", quick=quick)
    await visitor.expect("ended")
    await visitor.close()
    ended = await console.expect("chat_ended", chat_id=chat_id)
    assert ended["outcome_pending"] is True
    assert ended["reason"] == ("quick_exit" if quick else "visitor_ended")
    return chat_id


async def wait_for_pending(raw_redis: redis.Redis, chat_id: str) -> None:
    """The end hook runs just after the console hears of the end; wait until it has."""
    for _ in range(100):
        if raw_redis.exists(f"nx:late-outcome:{chat_id}"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the chat's outcome never became pending")


async def test_visitor_end_waits_then_counts_the_counsellors_outcome_once(
    server: ClockedServer, raw_redis: redis.Redis
) -> None:
    """No outcome is counted at the visitor's end; the counsellor's is counted once."""
    anna = await open_console(server, "anna")
    chat_id = await visitor_ends_a_chat(server, anna)
    await wait_for_pending(raw_redis, chat_id)
    counted = counters(raw_redis)
    assert counted["chats_answered"] == 1 and counted["end_reason:visitor_ended"] == 1
    assert outcomes(raw_redis) == {}

    await anna.send(type="outcome", chat_id=chat_id, outcome=["support_talk", "referral_nexus"])
    assert (await anna.expect_any(("outcome_saved", "error")))["type"] == "outcome_saved"
    assert outcomes(raw_redis) == {"outcome:support_talk": 1, "outcome:referral_nexus": 1}

    await anna.send(type="outcome", chat_id=chat_id, outcome=["information"])
    refused = await anna.expect_any(("outcome_saved", "error"))
    assert (refused["type"], refused["code"]) == ("error", "chat_not_found")
    assert outcomes(raw_redis) == {"outcome:support_talk": 1, "outcome:referral_nexus": 1}
    assert counters(raw_redis)["chats_answered"] == 1
    await anna.close()


async def test_an_outcome_sent_at_once_waits_for_the_end_hook(
    server: ClockedServer, raw_redis: redis.Redis
) -> None:
    """An `outcome` sent the moment `chat_ended` arrives, before the end hooks have made the
    outcome wait (a slow hook runs first here), is saved, not refused."""

    async def slow_hook(*_args: object) -> None:
        await asyncio.sleep(0.3)

    server.app[SERVICES].end_hooks.insert(0, slow_hook)
    anna = await open_console(server, "anna")
    for _ in range(3):
        chat_id = await visitor_ends_a_chat(server, anna, quick=True)
        await anna.send(type="outcome", chat_id=chat_id, outcome=["emergency_112"])
        saved = await anna.expect_any(("outcome_saved", "error"))
        assert saved == {"type": "outcome_saved", "chat_id": chat_id}
    assert outcomes(raw_redis) == {"outcome:emergency_112": 3}
    await anna.close()


async def test_only_the_chats_counsellor_may_give_valid_codes(
    server: ClockedServer, raw_redis: redis.Redis
) -> None:
    """Another counsellor gets not_your_chat, unknown codes invalid_field; nothing is counted
    until the right counsellor saves, and an empty list counts as unspecified."""
    anna = await open_console(server, "anna")
    bo = await open_console(server, "bo")
    chat_id = await visitor_ends_a_chat(server, anna)
    await wait_for_pending(raw_redis, chat_id)

    await bo.send(type="outcome", chat_id=chat_id, outcome=["support_talk"])
    assert (await bo.expect("error"))["code"] == "not_your_chat"
    await anna.send(type="outcome", chat_id=chat_id, outcome=["support_talk", "made_up"])
    assert (await anna.expect("error"))["code"] == "invalid_field"
    await anna.send(type="outcome", chat_id=chat_id)
    assert (await anna.expect("error"))["code"] == "missing_field"
    await anna.send(type="outcome", chat_id="0123abcd", outcome=[])
    assert (await anna.expect("error"))["code"] == "chat_not_found"
    assert outcomes(raw_redis) == {}

    await anna.send(type="outcome", chat_id=chat_id, outcome=[])
    await anna.expect("outcome_saved", chat_id=chat_id)
    assert outcomes(raw_redis) == {"outcome:unspecified": 1}
    await anna.close()
    await bo.close()


async def test_a_counsellor_ended_chat_is_counted_as_before(
    server: ClockedServer, raw_redis: redis.Redis
) -> None:
    """The counsellor's own end counts its outcomes at once and leaves nothing pending."""
    anna = await open_console(server, "anna")
    visitor, _ = await start_visitor(server)
    await anna.send(type="take")
    chat_id = (await anna.expect("chat_opened"))["chat_id"]
    await anna.send(type="end", chat_id=chat_id, outcome=["information"])
    ended = await anna.expect("chat_ended", chat_id=chat_id)
    assert ended["outcome_pending"] is False and ended["by"] == "counsellor"
    await visitor.expect("ended")
    for _ in range(100):
        if outcomes(raw_redis):
            break
        await asyncio.sleep(0.02)
    assert outcomes(raw_redis) == {"outcome:information": 1}
    assert list(raw_redis.scan_iter("nx:late-outcome*")) == []
    await anna.send(type="outcome", chat_id=chat_id, outcome=["support_talk"])
    assert (await anna.expect("error"))["code"] == "chat_not_found"
    assert outcomes(raw_redis) == {"outcome:information": 1}
    await anna.close()
    await visitor.close()


async def test_pending_keys_expire_hold_no_visitor_data_and_go_when_settled(
    server: ClockedServer, raw_redis: redis.Redis
) -> None:
    """The pending hash holds only the counsellor and the day; every key has a TTL; settling
    deletes the hash and the id."""
    anna = await open_console(server, "anna")
    chat_id = await visitor_ends_a_chat(server, anna)
    await wait_for_pending(raw_redis, chat_id)
    key = f"nx:late-outcome:{chat_id}"
    assert raw_redis.hgetall(key) == {
        "counsellor": "anna",
        "day": server.supervision.stats.today().isoformat(),
    }
    for name in raw_redis.scan_iter("nx:*"):
        assert raw_redis.ttl(name) > 0, f"{name} has no TTL"
    assert OUTCOME_GRACE_S < raw_redis.ttl(key) <= OUTCOME_GRACE_S + 86400
    assert 0 < raw_redis.ttl(PENDING_SET) <= OUTCOME_GRACE_S + 86400
    deadline = raw_redis.zscore(PENDING_SET, chat_id)
    assert deadline is not None and abs(deadline - (server.clock() + GRACE_MS)) < 10_000

    await anna.send(type="outcome", chat_id=chat_id, outcome=["safety_planning"])
    await anna.expect("outcome_saved", chat_id=chat_id)
    assert not raw_redis.exists(key)
    assert raw_redis.zscore(PENDING_SET, chat_id) is None
    await anna.close()


async def test_the_grace_period_ends_in_unspecified_once(
    server: ClockedServer, raw_redis: redis.Redis, clock: Clock
) -> None:
    """After the grace period the roll-up's sweep counts `outcome:unspecified` once; the
    counsellor can no longer save, and a second sweep counts nothing."""
    anna = await open_console(server, "anna")
    chat_id = await visitor_ends_a_chat(server, anna)
    await wait_for_pending(raw_redis, chat_id)
    stats = server.supervision.stats
    assert await stats.settle_overdue_outcomes() == 0  # not yet due
    await server.supervision.rollup.flush()
    assert outcomes(raw_redis) == {}

    clock.offset_ms = GRACE_MS + 1000
    await server.supervision.rollup.flush()
    assert outcomes(raw_redis) == {"outcome:unspecified": 1}
    assert raw_redis.zcard(PENDING_SET) == 0
    assert await stats.settle_overdue_outcomes() == 0
    await anna.send(type="outcome", chat_id=chat_id, outcome=["support_talk"])
    assert (await anna.expect("error"))["code"] == "chat_not_found"
    assert outcomes(raw_redis) == {"outcome:unspecified": 1}
    archived = server.supervision.archive.read(stats.today(clock() - GRACE_MS - 1000))
    assert archived.get("outcome:unspecified") == 1  # the same flush rolled the day up
    await anna.close()


async def test_two_instances_settling_at_once_count_each_chat_once(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, clock: Clock
) -> None:
    """Counsellor saves on one instance race expiry sweeps on another: each chat once."""
    async with (
        clocked_server(redis_url, staff_file, clock) as first,
        clocked_server(redis_url, staff_file, clock) as second,
    ):
        now = clock()
        chat_ids = [f"{i:032x}" for i in range(1, 41)]
        for chat_id in chat_ids:
            await first.supervision.stats.record_chat_end(
                enqueued_ms=now - 60_000, answered_ms=now - 50_000, ended_ms=now, topic="",
                language="", urgent=False, reason="visitor_ended",
                outcomes=LateOutcome(chat_id, "anna"),
            )  # fmt: skip
        later = now + GRACE_MS + 1
        results: list[Any] = await asyncio.gather(
            *(
                first.supervision.stats.settle_outcome(c, ["support_talk"], counsellor="anna")
                for c in chat_ids
            ),
            second.supervision.stats.settle_overdue_outcomes(later),
            first.supervision.stats.settle_overdue_outcomes(later),
        )
        saved = results[: len(chat_ids)].count("saved")
        swept = results[-2] + results[-1]
        assert saved + swept == len(chat_ids)
        counted = outcomes(raw_redis)
        assert counted.get("outcome:support_talk", 0) == saved
        assert counted.get("outcome:unspecified", 0) == swept
        assert counters(raw_redis)["chats_answered"] == len(chat_ids)
        assert raw_redis.zcard(PENDING_SET) == 0
        assert list(raw_redis.scan_iter("nx:late-outcome:*")) == []


async def test_two_consoles_of_one_counsellor_save_once(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, clock: Clock
) -> None:
    """Anna's consoles on two instances both save: one outcome_saved, one chat_not_found."""
    async with (
        clocked_server(redis_url, staff_file, clock) as first,
        clocked_server(redis_url, staff_file, clock) as second,
    ):
        here = await open_console(first, "anna")
        chat_id = await visitor_ends_a_chat(first, here)
        await wait_for_pending(raw_redis, chat_id)
        there = await open_console(second, "anna")
        await asyncio.gather(
            here.send(type="outcome", chat_id=chat_id, outcome=["information"]),
            there.send(type="outcome", chat_id=chat_id, outcome=["support_talk"]),
        )
        answers = [await c.expect_any(("outcome_saved", "error")) for c in (here, there)]
        assert sorted(a["type"] for a in answers) == ["error", "outcome_saved"]
        assert [a["code"] for a in answers if a["type"] == "error"] == ["chat_not_found"]
        assert sum(outcomes(raw_redis).values()) == 1
        await here.close()
        await there.close()


async def test_a_console_opened_later_lists_its_pending_outcomes(
    server: ClockedServer, raw_redis: redis.Redis, clock: Clock
) -> None:
    """After a reload (a new console connection) Anna asks which outcomes she may still
    give: her chat is listed with its deadline, Bo's list is empty; once saved, or once the
    grace period is over, it is listed no more."""
    anna = await open_console(server, "anna")
    chat_id = await visitor_ends_a_chat(server, anna)
    later = await visitor_ends_a_chat(server, anna)
    await wait_for_pending(raw_redis, chat_id)
    await wait_for_pending(raw_redis, later)
    await anna.close()

    reloaded = await open_console(server, "anna")
    await reloaded.send(type="outcomes_pending")
    listed = (await reloaded.expect("outcomes_pending"))["chats"]
    assert [c["chat_id"] for c in listed] == [chat_id, later]
    first = listed[0]
    assert first["alias"].startswith("Besökare ")
    assert first["deadline_ms"] == raw_redis.zscore(PENDING_SET, chat_id)
    assert first["deadline_ms"] - first["ended_ms"] == GRACE_MS

    bo = await open_console(server, "bo")
    await bo.send(type="outcomes_pending")
    assert (await bo.expect("outcomes_pending"))["chats"] == []

    await reloaded.send(type="outcome", chat_id=chat_id, outcome=["information"])
    await reloaded.expect("outcome_saved", chat_id=chat_id)
    await reloaded.send(type="outcomes_pending")
    assert [c["chat_id"] for c in (await reloaded.expect("outcomes_pending"))["chats"]] == [later]

    clock.offset_ms = GRACE_MS + 1_000  # past the deadline, before any sweep settles it
    await reloaded.send(type="outcomes_pending")
    assert (await reloaded.expect("outcomes_pending"))["chats"] == []
    for console in (reloaded, bo):
        await console.close()
