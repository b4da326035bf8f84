"""What one relayed message costs in Redis: commands executed and client round trips.

``INFO commandstats`` counts every command Redis executed, including those run inside a Lua
script, so its deltas say how much work a message causes. Round trips (requests a client
waited for) are counted from ``MONITOR``, which tags commands run by a script as ``lua``: an
``EVALSHA`` is one round trip however many commands it runs, and a MULTI…EXEC transaction
sent as one pipeline is one round trip too. MONITOR slows Redis down, so it only watches a
short window apart from the latency figures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import MonitorCommandInfo

# Commands the benchmark itself sends while measuring; not part of the server's cost.
OWN_COMMANDS = frozenset({"info", "monitor", "hello", "client"})


async def command_calls(redis: Redis) -> dict[str, int]:
    """Calls per command since Redis started (lower-case command names)."""
    info: dict[str, Any] = await redis.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(stats["calls"])
        for name, stats in info.items()
        if name.startswith("cmdstat_")
    }


def calls_per_message(
    before: dict[str, int], after: dict[str, int], messages: int
) -> dict[str, float]:
    """Executed commands per relayed message, by command and in ``total``."""
    deltas = {
        name: after.get(name, 0) - before.get(name, 0)
        for name in after
        if name not in OWN_COMMANDS and after.get(name, 0) > before.get(name, 0)
    }
    per = {name: round(n / max(1, messages), 3) for name, n in sorted(deltas.items())}
    per["total"] = round(sum(deltas.values()) / max(1, messages), 3)
    return per


@dataclass
class RoundTrips:
    """Client requests seen by MONITOR, per client connection, a MULTI…EXEC block counted
    once; the commands a script ran are put down to the client whose EVALSHA ran it."""

    requests: dict[str, Counter[str]] = field(default_factory=dict)
    in_script: dict[str, Counter[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    """Client address → the name it gave Redis (CLIENT SETNAME), from CLIENT LIST."""
    _open_transactions: set[str] = field(default_factory=set)
    _script_client: str = ""

    def see(self, info: MonitorCommandInfo) -> None:
        name = info["command"].split(" ", 1)[0].lower()
        if info["client_type"] == "lua":
            self.in_script.setdefault(self._script_client, Counter())[name] += 1
            return
        client = f"{info['client_address']}:{info['client_port']}"
        if client in self._open_transactions:
            if name in ("exec", "discard"):
                self._open_transactions.discard(client)
            return
        requests = self.requests.setdefault(client, Counter())
        if name == "multi":
            self._open_transactions.add(client)
            requests["multi/exec"] += 1
        elif name not in OWN_COMMANDS:
            requests[name] += 1
            if name in ("evalsha", "eval"):
                self._script_client = client

    def _of(self, table: dict[str, Counter[str]], name_prefix: str) -> Counter[str]:
        total: Counter[str] = Counter()
        for client, counts in table.items():
            if self.names.get(client, "").startswith(name_prefix):
                total.update(counts)
        return total

    def per_message(self, messages: int, name_prefix: str = "") -> dict[str, float]:
        """Round trips per message by clients whose name starts with ``name_prefix``."""
        return _per(self._of(self.requests, name_prefix), messages)

    def script_commands_per_message(self, messages: int, name_prefix: str = "") -> dict[str, float]:
        return _per(self._of(self.in_script, name_prefix), messages)


def _per(counts: Counter[str], messages: int) -> dict[str, float]:
    per = {name: round(n / max(1, messages), 3) for name, n in sorted(counts.items())}
    per["total"] = round(sum(counts.values()) / max(1, messages), 3)
    return per


async def watch_round_trips(redis_url: str, work: Awaitable[int]) -> tuple[RoundTrips, int]:
    """Run ``work`` (which returns how many messages it relayed) under MONITOR."""
    seen = RoundTrips()
    client = Redis.from_url(redis_url, decode_responses=True)
    ready = asyncio.Event()

    async def read() -> None:
        async with client.monitor() as monitor:
            ready.set()
            while True:
                with contextlib.suppress(ValueError, AttributeError):
                    seen.see(await monitor.next_command())

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(ready.wait(), 5)
        messages = await work
        await asyncio.sleep(0.2)  # the last commands' lines are still on their way
        seen.names = {str(c["addr"]): str(c.get("name", "")) for c in await client.client_list()}
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await client.aclose()
    return seen, messages
