"""After a full day of chats, the statistics hold counts and nothing that could name anyone."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import redis
from redis.asyncio import Redis

from chat_server.domain.stats import is_counter_field
from chat_server.store.stats import issue_feedback_token
from chat_server.supervisor_config import SupervisorConfig
from tests.integration.supervisor_helpers import SupervisedServer, supervised_server
from tests.integration.test_stats_store import ms
from tests.support.servers import free_port, make_settings, open_console, start_visitor

MARKER_TEXT = "KANARIEFAGEL-5512 min man hotar mig"
MARKER_PHONE = "070-123 45 67"
TOPICS = ("violence_close", "honour", "worried_other", "professional", "older_person")


async def run_day(server: SupervisedServer) -> set[str]:
    """Real chats through the app, scripted chats around the clock, callbacks and survey
    answers; returns every identifying string that was in play."""
    secrets: set[str] = {MARKER_TEXT, MARKER_PHONE, "anna", "Anna"}
    console = await open_console(server, "anna")
    for i in range(4):
        visitor, welcome = await start_visitor(server, topic=TOPICS[i], language="sv")
        secrets |= {
            welcome["token"],
            welcome["alias"],
            hashlib.sha256(welcome["token"].encode()).hexdigest(),
        }
        await visitor.send(type="message", text=f"{MARKER_TEXT} ring {MARKER_PHONE}", client_id="c")
        await visitor.expect("message", client_id="c")
        if i == 3:  # this one gives up in the queue
            await visitor.send(type="end")
            await visitor.expect("ended")
            continue
        await console.send(type="take")
        chat_id = (await console.expect("chat_opened"))["chat_id"]
        secrets.add(chat_id)
        await console.send(type="message", chat_id=chat_id, text=f"Svar till {MARKER_PHONE}")
        await console.send(type="end", chat_id=chat_id, outcome=["support_talk"])
        await visitor.expect("ended")
        await visitor.close()
    await console.close()
    stats = server.supervision.stats
    for hour in range(24):
        start = ms(2024, 5, 6, hour, 7)
        await stats.record_chat_end(
            enqueued_ms=start, answered_ms=start + hour * 9_000 if hour % 3 else 0,
            ended_ms=start + 700_000, topic=TOPICS[hour % len(TOPICS)], language="ar",
            urgent=hour % 4 == 0, reason="counsellor_ended" if hour % 3 else "visitor_ended",
            outcomes=("referral_police",),
        )  # fmt: skip
        await stats.record_callback("requested", now_ms=start)
    client = Redis.from_url(server.settings.redis_url, decode_responses=True)
    for helped in (5, 4, 2):
        token = await issue_feedback_token(client, "nx:")
        secrets |= {token, hashlib.sha256(token.encode()).hexdigest()}
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{server.url}/api/feedback", json={"token": token, "helped": helped},
                headers={"Origin": server.url},
            ) as response,
        ):  # fmt: skip
            assert response.status == 204
    await client.aclose()
    await server.supervision.rollup.flush()
    return secrets


def dump(raw_redis: redis.Redis, key: str) -> Any:
    kind = raw_redis.type(key)
    if kind == "hash":
        return raw_redis.hgetall(key)
    if kind == "zset":
        return raw_redis.zrange(key, 0, -1, withscores=True)
    if kind == "list":
        return raw_redis.lrange(key, 0, -1)
    if kind == "set":
        return sorted(raw_redis.smembers(key))
    return raw_redis.get(key)


async def test_statistics_and_metrics_hold_only_counts(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, tmp_path: Path,
    log_capture: io.StringIO,
) -> None:  # fmt: skip
    """No chat id, token, alias, text, phone number or name in Redis stats, files or metrics."""
    metrics_port = free_port()
    config = SupervisorConfig(stats_dir=tmp_path / "rollups", metrics_port=metrics_port)
    async with supervised_server(
        make_settings(redis_url, staff_file, free_port()), config
    ) as server:
        secrets = await run_day(server)
        # The live view samples the queue on its own timer or 0.1 s after a nudge; the day
        # can be over sooner than that, so take this slot's sample here instead of waiting.
        await server.supervision.monitor.refresh()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{metrics_port}/metrics") as response,
        ):
            metrics_text = await response.text()

    stats_keys = sorted(raw_redis.scan_iter("nx:stats:*")) + sorted(
        raw_redis.scan_iter("nx:feedback:*")
    )
    assert "nx:stats:day:2024-05-06" in stats_keys and "nx:stats:queue" in stats_keys
    stored = {key: dump(raw_redis, key) for key in stats_keys}
    files = {p.name: p.read_text() for p in (tmp_path / "rollups").iterdir()}
    assert "2024-05-06.json" in files
    haystacks = {
        "redis": json.dumps(stored, ensure_ascii=False),
        "files": json.dumps(files, ensure_ascii=False),
        "metrics": metrics_text,
        "logs": log_capture.getvalue(),
    }
    for where, text in haystacks.items():
        found = [
            s for s in secrets if s in text and not (where == "logs" and s in ("anna", "Anna"))
        ]
        assert not found, f"{where} holds {found}"

    for key, value in stored.items():
        if key.startswith("nx:stats:day:"):
            assert all(is_counter_field(f) or f == "_merged" for f in value), key
            assert all(re.fullmatch(r"[0-9]+", n) for n in value.values()), key
        elif key == "nx:stats:queue":
            assert all(re.fullmatch(r"[0-9]+:[0-9]+", member) for member, _ in value)
    for name, text in files.items():
        body = json.loads(text)
        assert set(body) == {"version", "date", "counters"} and name == f"{body['date']}.json"
        assert all(is_counter_field(f) and type(n) is int for f, n in body["counters"].items())
    # Survey tokens handed out at the end of answered chats: only a hash of a random token,
    # the value "1", and a short life; nothing that points back to the chat.
    for key in raw_redis.keys("nx:feedback:*"):
        assert re.fullmatch(r"nx:feedback:[0-9a-f]{64}", key)
        assert raw_redis.get(key) == "1" and 0 < raw_redis.ttl(key) <= 3600
    assert json.loads(files["2024-05-06.json"])["counters"]["chats_offered"] == 24
