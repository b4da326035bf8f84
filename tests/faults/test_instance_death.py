"""A server instance is SIGKILLed mid-chat behind nginx (ops/nginx.conf), next to a second one.

The visitor and the counsellor are both placed on the instance that will die (the one whose
port gained nginx's connection, per /proc/net/tcp). Both keep writing while it is killed; they
reconnect through the same address like the widget and the console do, land on the survivor,
and every message the server acknowledged reaches the other side exactly once (by seq).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.faults.clients import (
    ReconnectingConsole,
    ResumingVisitor,
    console_connector,
    login,
    visitor_connector,
)
from tests.faults.instances import (
    ServerProcess,
    established_peers,
    start_deployment,
    stored_texts,
)
from tests.support.nginx import client_ssl_context, require_nginx
from tests.support.redis_nodes import INSPECTOR, RedisNode

pytestmark = pytest.mark.slow

RECONNECTED_WITHIN_S = 5.0
WRITES_EACH_WAY = 20
WRITE_INTERVAL_S = 0.1
PLACEMENT_ATTEMPTS = 10


async def placed_on(servers: list[ServerProcess], open_client: Callable[[], Awaitable[None]]
                    ) -> ServerProcess:  # fmt: skip
    """Open a client through nginx and return the instance that got its connection."""
    before = {server.port: established_peers(server.port) for server in servers}
    await open_client()
    gained = [s for s in servers if established_peers(s.port) - before[s.port]]
    assert len(gained) == 1, f"cannot tell which instance got the connection: {gained}"
    return gained[0]


def text_of(client_id: str) -> str:
    return f"meddelande {client_id}"


async def keep_writing(client: ResumingVisitor | ReconnectingConsole, prefix: str,
                       **frame: Any) -> list[str]:  # fmt: skip
    """Send WRITES_EACH_WAY messages, waiting for a connection whenever there is none (as a
    person would); returns the client ids of those handed to a connection."""
    handed_over = []
    for index in range(WRITES_EACH_WAY):
        await client.wait_for(lambda: client.connected, RECONNECTED_WITHIN_S + 1, "a connection")
        client_id = f"{prefix}-{index}"
        if await client.send(type="message", text=text_of(client_id), client_id=client_id,
                             **frame):  # fmt: skip
            handed_over.append(client_id)
        await asyncio.sleep(WRITE_INTERVAL_S)
    return handed_over


async def test_clients_of_a_killed_instance_resume_on_the_other_without_loss_or_duplicates(
    tmp_path: Path, staff_file: Path, redis_node: RedisNode, passwords: dict[str, str]
) -> None:
    """SIGKILL of the instance holding both ends of a chat: they reconnect to the other within
    5 s, and every acknowledged message arrives exactly once after de-duplication by seq."""
    require_nginx()
    deployment = await start_deployment(tmp_path, {
        "REDIS_URL": redis_node.url("nexus", passwords["nexus"]),
        "NEXUS_STAFF_FILE": str(staff_file),
        # The visitor writes ten a second here; the usual limit (1/s) would refuse most.
        "NEXUS_VISITOR_MSGS_PER_S": "50",
        "NEXUS_VISITOR_MSG_BURST": "50",
    })  # fmt: skip
    public, wss, ssl = deployment.public_url, deployment.ws_url, client_ssl_context()
    try:
        visitor = ResumingVisitor(visitor_connector(wss, public, ssl=ssl))
        doomed = await placed_on(deployment.servers, visitor.open)
        # Signed in straight at an instance: a login through nginx would leave an idle
        # keep-alive connection that the console's upgrade could reuse, hiding its placement.
        session_id = await login(deployment.servers[0].url, "anna", origin=public)
        for _ in range(PLACEMENT_ATTEMPTS):
            console = ReconnectingConsole(console_connector(wss, public, session_id, ssl=ssl))
            if await placed_on(deployment.servers, console.open) is doomed:
                break
            await console.close()
        else:
            pytest.fail("the console never landed on the visitor's instance")
        chat_id = await console.take()

        writers = asyncio.gather(
            keep_writing(visitor, "besökare"),
            keep_writing(console, "rådgivare", chat_id=chat_id),
        )
        await asyncio.sleep(WRITES_EACH_WAY * WRITE_INTERVAL_S / 2)
        killed_at = time.monotonic()
        doomed.kill()
        await writers

        for client in (visitor, console):
            assert client.dropped_at, "the client was not on the killed instance"
            assert client.connected_at[-1] - killed_at <= RECONNECTED_WITHIN_S
        assert visitor.errors == [], "the server refused something the visitor did"

        console_sent = {c: seq for c, seq in console.acks.items() if c.startswith("rådgivare")}
        visitor_sent = {c: seq for c, seq in visitor.acks.items() if c.startswith("besökare")}
        assert console_sent and visitor_sent

        def seen_by_console() -> dict[int, dict[str, Any]]:
            return console.chat_messages(chat_id)

        await visitor.wait_for(lambda: set(console_sent.values()) <= set(visitor.messages), 5,
                               "the counsellor's acknowledged messages")  # fmt: skip
        await console.wait_for(lambda: set(visitor_sent.values()) <= set(seen_by_console()), 5,
                               "the visitor's acknowledged messages")  # fmt: skip
        for client_id, seq in console_sent.items():
            assert visitor.messages[seq]["text"] == text_of(client_id)
        for client_id, seq in visitor_sent.items():
            assert seen_by_console()[seq]["text"] == text_of(client_id)

        # Nothing was stored twice: one seq per text, in both views and in Redis.
        inspector = redis_node.client(INSPECTOR, passwords[INSPECTOR])
        stored = stored_texts(inspector, chat_id)
        inspector.close()
        for texts in (stored, [m["text"] for m in visitor.messages.values()],
                      [m["text"] for m in seen_by_console().values()]):  # fmt: skip
            assert max(Counter(texts).values()) == 1
        assert {text_of(c) for c in [*console_sent, *visitor_sent]} <= set(stored)
        await visitor.close()
        await console.close()
    finally:
        deployment.stop()
