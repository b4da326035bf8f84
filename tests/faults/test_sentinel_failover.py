"""Redis high availability: a primary, a replica and three Sentinels from the ops files.

The primary is SIGKILLed mid-chat. The Sentinels promote the replica, the app finds it through
them (no restart, no new WebSocket), and every message acknowledged before the failover is on
the new primary because each chat write waited for the replica (REDIS_WAIT_REPLICAS=1).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from pathlib import Path

import pytest

from chat_server.redis_settings import ReplicaWait
from chat_server.store import connection
from chat_server.store.connection import call_script, connect
from tests.faults.clients import open_chat
from tests.faults.instances import launch_server, stored_texts, wait_ready
from tests.support.redis_nodes import INSPECTOR, start_data_node, start_sentinel_setup

pytestmark = pytest.mark.slow

SET_AND_READ = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
ANNOUNCED_WITHIN_S = 1.5
FAILED_OVER_WITHIN_S = 15.0
MESSAGES_EACH_WAY = 5


async def test_a_write_waits_for_the_replica_and_a_missing_replica_is_reported(
    tmp_path: Path, passwords: dict[str, str], caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """With a replica wait, a script's result comes back only once the replica holds the
    write; a stopped replica delays it by the timeout, then it is returned and logged."""
    primary = start_data_node(tmp_path / "primary", passwords)
    replica = start_data_node(tmp_path / "replica", passwords, replica_of=primary)
    app = connect(primary.url("nexus", passwords["nexus"]))
    replica_reader = replica.client(INSPECTOR, passwords[INSPECTOR])
    try:
        script = app.register_script(SET_AND_READ)
        wait = ReplicaWait(replicas=1, timeout_ms=3000)
        assert await call_script(app, script, keys=["nx:w"], args=["1"], wait=wait) == "1"

        assert replica.process is not None
        replica.process.send_signal(signal.SIGSTOP)
        pending = asyncio.create_task(
            call_script(app, script, keys=["nx:w"], args=["2"], wait=wait)
        )
        await asyncio.sleep(0.5)
        assert not pending.done(), "the write came back before the replica had it"
        replica.process.send_signal(signal.SIGCONT)
        assert await asyncio.wait_for(pending, 5) == "2"
        assert replica_reader.get("nx:w") == "2"

        monkeypatch.setattr(connection, "_last_replica_warning_s", 0.0)
        replica.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        short = ReplicaWait(replicas=1, timeout_ms=200)
        with caplog.at_level(logging.WARNING, logger="chat_server.store.connection"):
            assert await call_script(app, script, keys=["nx:w"], args=["3"], wait=short) == "3"
        assert time.monotonic() - started >= 0.2
        assert "reached 0 of 1 replicas" in caplog.text
    finally:
        if replica.process is not None:
            replica.process.send_signal(signal.SIGCONT)
        replica_reader.close()
        await app.aclose()
        primary.kill()
        replica.kill()


@pytest.mark.usefixtures("sentinel_wiring")
async def test_the_chat_continues_after_the_primary_fails_over(
    tmp_path: Path, staff_file: Path, passwords: dict[str, str]
) -> None:
    """Killing the primary mid-chat: visitor and counsellor are told, the replica takes over,
    acknowledged messages are all there, and the same sockets carry the chat on."""
    setup = start_sentinel_setup(tmp_path / "redis", passwords)
    server = launch_server(tmp_path / "app", "app", {
        **setup.app_env(),
        "REDIS_WAIT_REPLICAS": "1",
        "REDIS_WAIT_TIMEOUT_MS": "1000",
        "NEXUS_STAFF_FILE": str(staff_file),
    })  # fmt: skip
    try:
        await wait_ready(server)
        visitor, console, chat_id = await open_chat(server.url)
        for i in range(MESSAGES_EACH_WAY):
            await visitor.send(type="message", text=f"besökare {i}", client_id=f"v-{i}")
            await console.send(type="message", chat_id=chat_id, text=f"rådgivare {i}",
                               client_id=f"c-{i}")  # fmt: skip
        await visitor.wait_for(lambda: len(visitor.acks) == MESSAGES_EACH_WAY + 1, 5, "acks")
        await console.wait_for(lambda: len(console.acks) == MESSAGES_EACH_WAY + 1, 5, "acks")
        primary_stats = setup.primary.client(INSPECTOR, passwords[INSPECTOR])
        waits = primary_stats.info("commandstats").get("cmdstat_wait", {}).get("calls", 0)
        primary_stats.close()
        assert waits >= 2 * (MESSAGES_EACH_WAY + 1), "chat writes do not wait for the replica"

        setup.primary.kill()
        await visitor.wait_for(lambda: visitor.services[-1:] == ["unavailable"],
                               ANNOUNCED_WITHIN_S, "the visitor to be told")  # fmt: skip
        await console.wait_for(lambda: console.services[-1:] == ["unavailable"],
                               ANNOUNCED_WITHIN_S, "the counsellor to be told")  # fmt: skip
        await visitor.wait_for(lambda: visitor.services[-1:] == ["ok"], FAILED_OVER_WITHIN_S,
                               "the service to come back on the new primary")  # fmt: skip
        await console.wait_for(lambda: console.services[-1:] == ["ok"], 2, "the console")
        new_primary = setup.replica.client(INSPECTOR, passwords[INSPECTOR])
        assert new_primary.info("replication")["role"] == "master"
        assert setup.replica.port in setup.named_primary_ports()
        assert any(c["name"] == "nexus-chat" for c in new_primary.client_list())
        stored = stored_texts(new_primary, chat_id)
        new_primary.close()
        acknowledged = ["hej", "hej, välkommen"] + [
            f"{who} {i}" for i in range(MESSAGES_EACH_WAY) for who in ("besökare", "rådgivare")
        ]
        assert sorted(stored) == sorted(acknowledged)

        await visitor.send(type="message", text="är ni kvar?", client_id="v-after")
        await console.wait_for(
            lambda: any(m["text"] == "är ni kvar?" for m in console.chat_messages(chat_id).values()),
            5, "the visitor's message after the failover",
        )  # fmt: skip
        await console.send(type="message", chat_id=chat_id, text="ja, vi är kvar",
                           client_id="c-after")  # fmt: skip
        await visitor.wait_for(lambda: "ja, vi är kvar" in visitor.texts_from("counsellor"), 5,
                               "the counsellor's answer after the failover")  # fmt: skip
        assert visitor.dropped_at == [] and console.dropped_at == []
        assert "Traceback" not in server.printed()
        await visitor.close()
        await console.close()
    finally:
        server.stop()
        setup.kill_all()
