"""Privacy is tested, not promised: planted markers never reach a log; keys always expire."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import redis
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.support.servers import (
    TEST_MESSAGE_KEY,
    RunningServer,
    free_port,
    open_console,
    raw_request,
    start_visitor,
)

MARKER_IP = "203.0.113.77"
MARKER_UA = "MarkerAgent/9.9 (canary)"
MARKER_TEXT = "KANARIEFAGEL-7731 hemligt"
MARKER_SOURCE_IP = "127.0.0.2"


def assert_no_visitor_key_without_ttl(raw_redis: redis.Redis) -> None:
    for key in raw_redis.scan_iter("nx:*"):
        ttl = raw_redis.ttl(key)
        assert ttl > 0, f"{key} has no TTL ({ttl})"


async def run_marked_chat(server: RunningServer, raw_redis: redis.Redis) -> str:
    """A complete chat with markers in headers and text; returns the token it used."""
    ws = await connect(
        f"{server.ws_url}/ws/visitor",
        origin=Origin(server.url),
        additional_headers={"X-Forwarded-For": MARKER_IP, "X-Real-IP": MARKER_IP},
        user_agent_header=MARKER_UA,
        local_addr=(MARKER_SOURCE_IP, 0),  # a loopback source address that appears nowhere else
    )
    from tests.support.servers import Client

    visitor = Client(ws)
    await visitor.send(type="start")
    token = (await visitor.expect("welcome"))["token"]
    console = await open_console(server, "anna")
    await console.send(type="take")
    chat_id = (await console.expect("chat_opened"))["chat_id"]
    await visitor.send(type="message", text=MARKER_TEXT, client_id="m")
    await visitor.expect("message", client_id="m")
    got = await console.expect("message", sender="visitor")
    assert got["text"] == MARKER_TEXT
    assert MARKER_IP not in json.dumps(console.seen) and MARKER_UA not in json.dumps(console.seen)
    assert token not in json.dumps(console.seen)
    assert_no_visitor_key_without_ttl(raw_redis)
    # While the chat lives, its stream holds the message sealed: the text is nowhere in Redis.
    holders = [k for k in raw_redis.scan_iter("nx:*") if MARKER_TEXT in dump_key(raw_redis, k)]
    assert holders == [] and raw_redis.xlen(f"nx:chat:{chat_id}:log") >= 1
    async with aiohttp.ClientSession() as http:
        await http.get(f"{server.url}/healthz?ip={MARKER_IP}", headers={"User-Agent": MARKER_UA})
    await console.send(type="end", chat_id=chat_id)
    await visitor.expect("ended")
    await visitor.close()
    await console.close()
    return token


def dump_key(raw_redis: redis.Redis, key: str) -> str:
    kind = raw_redis.type(key)
    if kind == "string":
        return str(raw_redis.get(key))
    if kind == "hash":
        return json.dumps(raw_redis.hgetall(key))
    if kind == "stream":
        return json.dumps(raw_redis.xrange(key))
    if kind == "zset":
        return json.dumps(raw_redis.zrange(key, 0, -1))
    if kind == "set":
        return json.dumps(sorted(raw_redis.smembers(key)))
    return ""


def assert_redis_clean(raw_redis: redis.Redis, *markers: str) -> None:
    everything = "".join(dump_key(raw_redis, k) + k for k in raw_redis.scan_iter("*"))
    everything += json.dumps(raw_redis.slowlog_get(128), default=str)
    everything += json.dumps(raw_redis.client_list(), default=str)
    for marker in markers:
        assert marker not in everything


async def test_markers_never_reach_the_logs_and_redis_forgets_the_chat(
    server: RunningServer, raw_redis: redis.Redis, log_capture: io.StringIO
) -> None:
    """IP, user agent, text and token are in no log line; after the end, not in Redis."""
    token = await run_marked_chat(server, raw_redis)
    printed = log_capture.getvalue()
    assert "GET /healthz 200" in printed  # the access log ran and was captured
    for marker in (MARKER_IP, MARKER_UA, MARKER_TEXT, token, MARKER_SOURCE_IP):
        assert marker not in printed
    assert_redis_clean(raw_redis, MARKER_IP, MARKER_UA, MARKER_TEXT, token, MARKER_SOURCE_IP)
    assert [k for k in raw_redis.scan_iter("nx:chat:*")] == []
    assert [k for k in raw_redis.scan_iter("nx:tok:*")] == []


async def test_every_key_has_a_ttl_and_an_abandoned_chat_vanishes(
    server: RunningServer, raw_redis: redis.Redis
) -> None:
    """A waiting visitor who goes away leaves keys that expire within the grace period."""
    object.__setattr__(server.settings, "visitor_gone_ttl_s", 1)
    visitor, _ = await start_visitor(server)
    await visitor.send(type="message", text="hej", client_id="a")
    await visitor.expect("message", client_id="a")
    assert_no_visitor_key_without_ttl(raw_redis)
    assert any(raw_redis.scan_iter("nx:chat:*"))
    await visitor.close()
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and any(raw_redis.scan_iter("nx:chat:*")):
        await asyncio.sleep(0.2)
    assert list(raw_redis.scan_iter("nx:chat:*")) == []
    assert list(raw_redis.scan_iter("nx:tok:*")) == []


def test_server_process_prints_no_visitor_data(
    redis_url: str, staff_file: Path, raw_redis: redis.Redis, tmp_path: Path
) -> None:
    """The real `nexus-chat serve` process: its stdout and stderr hold none of the markers."""
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "NEXUS_MESSAGE_KEY": TEST_MESSAGE_KEY,
        "NEXUS_PORT": str(port),
        "NEXUS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NEXUS_STAFF_FILE": str(staff_file),
        "NEXUS_LOG_LEVEL": "DEBUG",
    }
    out = (tmp_path / "server.out").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "chat_server", "serve"], env=env, stdout=out, stderr=out
    )
    try:
        settings_url = f"http://127.0.0.1:{port}"
        asyncio.run(_chat_against(settings_url, raw_redis))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)
        out.close()
    printed = (tmp_path / "server.out").read_text()
    assert "GET /ws/visitor 101" in printed
    assert "Error handling request from" in printed  # aiohttp's logger reported the bad request
    for marker in (MARKER_IP, MARKER_UA, MARKER_TEXT, MARKER_SOURCE_IP):
        assert marker not in printed


async def _chat_against(url: str, raw_redis: redis.Redis) -> None:
    from chat_server.config import load_settings
    from tests.support.servers import RunningServer as Server

    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            await asyncio.sleep(0.1)
    fake = Server(load_settings({"NEXUS_PUBLIC_URL": url, "REDIS_URL": "unused"}), app=None)  # type: ignore[arg-type]
    await run_marked_chat(fake, raw_redis)
    # A request aiohttp cannot parse, from the marked source: its server logger reports it.
    port = int(url.rsplit(":", 1)[1])
    await raw_request(port, b"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", MARKER_SOURCE_IP)
