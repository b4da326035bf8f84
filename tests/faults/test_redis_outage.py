"""Redis is SIGKILLed mid-chat and started again, empty, on the same port.

One real `nexus-chat serve` process against a data node running ops/redis.conf. The outage must
be announced within a second, be visible on the probes, cost almost no CPU, and heal by itself
within ten seconds: pub/sub resubscribed, Lua scripts loaded again, new chats served. The chat
that was open is gone with the dataset, and the visitor is told so when resuming.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.faults.clients import open_chat
from tests.faults.instances import ServerProcess, launch_server, probe, wait_ready
from tests.support.redis_nodes import INSPECTOR, RedisNode

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("health_routes")]

ANNOUNCED_WITHIN_S = 1.0
RECOVERED_WITHIN_S = 10.0
CPU_WINDOW_S = 3.0
MAX_CPU_SHARE = 0.1  # of one core, while Redis is away


async def health(server: ServerProcess) -> dict[str, object]:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
        assert response.status == 200, "liveness must not depend on Redis"
        body: dict[str, object] = await response.json()
        return body


async def test_redis_outage_is_announced_survived_and_healed(
    tmp_path: Path, staff_file: Path, redis_node: RedisNode, passwords: dict[str, str]
) -> None:
    """Killing Redis is announced within 1 s and costs no CPU; an empty Redis is used again
    within 10 s without a restart; the lost chat answers chat_not_found on resume."""
    server = launch_server(tmp_path / "app", "app", {
        "REDIS_URL": redis_node.url("nexus", passwords["nexus"]),
        "NEXUS_STAFF_FILE": str(staff_file),
    })  # fmt: skip
    try:
        await wait_ready(server)
        visitor, console, chat_id = await open_chat(server.url)

        killed_at = time.monotonic()
        redis_node.kill()
        await visitor.wait_for(lambda: visitor.services[-1:] == ["unavailable"],
                               ANNOUNCED_WITHIN_S, "the visitor to be told")  # fmt: skip
        await console.wait_for(lambda: console.services[-1:] == ["unavailable"],
                               ANNOUNCED_WITHIN_S - (time.monotonic() - killed_at),
                               "the counsellor to be told")  # fmt: skip
        assert await probe(server.url, "/readyz") == 503
        assert (await health(server))["redis"] is False

        # Writing during the outage is refused clearly, and the connections stay open.
        await visitor.send(type="message", text="är ni kvar?", client_id="v2")
        await visitor.wait_for(lambda: "unavailable" in visitor.errors, 5, "an error frame")
        cpu_before = server.cpu_seconds()
        await asyncio.sleep(CPU_WINDOW_S)
        cpu_used = server.cpu_seconds() - cpu_before
        assert cpu_used <= MAX_CPU_SHARE * CPU_WINDOW_S, f"{cpu_used:.2f}s CPU while Redis was away"
        assert visitor.connected and console.connected and visitor.dropped_at == []

        redis_node.start()  # same port and configuration, empty: nothing is persisted
        restarted_at = time.monotonic()
        await visitor.wait_for(lambda: visitor.services[-1:] == ["ok"], RECOVERED_WITHIN_S,
                               "the visitor to hear the service is back")  # fmt: skip
        await console.wait_for(lambda: console.services[-1:] == ["ok"], RECOVERED_WITHIN_S,
                               "the counsellor to hear the service is back")  # fmt: skip
        assert await probe(server.url, "/readyz") == 200
        assert time.monotonic() - restarted_at < RECOVERED_WITHIN_S
        assert (await health(server))["redis"] is True

        # The subscription made before the outage works again: a nudge on the old chat's
        # channel reaches the visitor who is still connected.
        inspector = redis_node.client(INSPECTOR, passwords[INSPECTOR])
        typing = {"kind": "typing", "from": "counsellor", "active": True}
        inspector.publish(f"nx:ch:chat:{chat_id}", json.dumps(typing))
        await visitor.wait_for(lambda: visitor.frames[-1] == {"type": "typing", "active": True},
                               2, "the typing nudge")  # fmt: skip

        # The open chat was lost with the dataset; the visitor is told so when resuming.
        assert inspector.exists(f"nx:chat:{chat_id}") == 0
        ws_base = server.url.replace("http://", "ws://")
        async with connect(f"{ws_base}/ws/visitor", origin=Origin(server.url)) as ws:
            await ws.send(json.dumps({"type": "resume", "token": visitor.token,
                                      "last_seq": visitor.last_seq}))  # fmt: skip
            refusal = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert refusal["type"] == "error" and refusal["code"] == "chat_not_found"

        # New chats work: Lua scripts are loaded again (NOSCRIPT), nudges flow both ways.
        # Staff sessions lived in Redis too, so anna signs in again.
        await visitor.close()
        await console.close()
        visitor, console, new_chat = await open_chat(server.url)
        assert new_chat != chat_id
        assert "v1" in visitor.acks and "c1" in console.acks
        assert "Traceback" not in server.printed()
        await visitor.close()
        await console.close()
        inspector.close()
    finally:
        server.stop()
