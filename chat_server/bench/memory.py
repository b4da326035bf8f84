"""Memory per idle visitor connection: server RSS growth and Redis ``used_memory`` growth.

Visitors connect, ``start`` a chat and then sit in the queue doing nothing, which is what a
busy evening looks like for the server. A first batch warms the server up (imports, caches,
allocator arenas) and is the baseline; each later point is measured once the server has gone
quiet (its queue updates to the waiting visitors done), and divided by the visitors added
since the baseline.
"""

from __future__ import annotations

import asyncio
import math
import resource
import time
from typing import Any

from redis.asyncio import Redis

from .crowd import Crowd, grow
from .latency import log
from .processes import Child, cpu_seconds, rss_kib

WARMUP_VISITORS = 100
QUIET_CORE_SHARE = 0.05
QUIET_PROBE_S = 0.5
QUIET_TIMEOUT_S = 30.0
FD_MARGIN = 1000  # this process's other sockets and files


def _reason_to_skip(
    target: int, current: int, measured: list[dict[str, Any]], max_ramp_s: float, deadline: float
) -> str:
    """Why the point ``target`` cannot be measured here, or '' if it can."""
    soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if target + FD_MARGIN > soft_limit:
        return f"open-file limit {soft_limit} is too low for {target} connections"
    done = [p for p in measured if "skipped" not in p]
    if not done:
        return ""
    # Each join costs the server work for every visitor already waiting (queue updates), so
    # the pace falls as the crowd grows: scale the last stretch's pace by the ratio of the
    # mean crowd sizes of the next stretch and the last one.
    last = done[-1]
    last_start = done[-2]["connections"] if len(done) > 1 else WARMUP_VISITORS
    growth = (target + current) / max(1, last_start + current)
    estimate_s = (target - current) / max(float(last["connects_per_s"]), 1.0) * growth
    if estimate_s > max_ramp_s:
        return f"reaching it would take about {estimate_s:.0f} s (budget {max_ramp_s:.0f} s)"
    if time.monotonic() + estimate_s > deadline:
        return f"reaching it would take about {estimate_s:.0f} s, past the run's time budget"
    return ""


async def used_memory_kib(redis: Redis) -> float:
    info: dict[str, Any] = await redis.info("memory")
    return int(info["used_memory"]) / 1024


async def wait_until_quiet(pid: int, min_wait_s: float) -> float:
    """Wait ``min_wait_s``, then until ``pid`` uses under 5 % of a core; returns seconds."""
    started = time.monotonic()
    await asyncio.sleep(min_wait_s)
    while time.monotonic() - started < QUIET_TIMEOUT_S:
        before = cpu_seconds(pid)
        await asyncio.sleep(QUIET_PROBE_S)
        if (cpu_seconds(pid) - before) / QUIET_PROBE_S < QUIET_CORE_SHARE:
            break
    return time.monotonic() - started


async def measure_idle_memory(
    server: Child,
    kind: str,
    redis: Redis,
    points: tuple[int, ...],
    *,
    concurrency: int,
    settle_s: float,
    compression: bool = True,
    max_ramp_s: float = math.inf,
    deadline: float = math.inf,
) -> dict[str, Any]:
    """Grow a crowd of idle visitors on ``server`` through ``points``; KiB per connection.

    A point is skipped (and says why) when this process may not open that many files, or
    when the last ramp's pace says reaching it would take longer than ``max_ramp_s`` or end
    after ``deadline`` (monotonic)."""
    crowd = Crowd()
    await grow(crowd, server, kind, WARMUP_VISITORS, concurrency=concurrency)
    await wait_until_quiet(server.pid, settle_s)
    base_rss, base_redis = rss_kib(server.pid), await used_memory_kib(redis)
    measured: list[dict[str, Any]] = []
    try:
        for target in points:
            skipped = _reason_to_skip(target, len(crowd.visitors), measured, max_ramp_s, deadline)
            if skipped:
                measured.append({"connections": target, "skipped": skipped})
                log(f"{kind}: {target:>6} idle visitors skipped: {skipped}")
                continue
            frames_before, before = crowd.frames_received, len(crowd.visitors)
            ramp_s = await grow(
                crowd, server, kind, target, concurrency=concurrency, compression=compression
            )
            quiet_s = await wait_until_quiet(server.pid, settle_s)
            added = len(crowd.visitors) - WARMUP_VISITORS
            rss, used = rss_kib(server.pid), await used_memory_kib(redis)
            server_per = (rss - base_rss) / added
            redis_per = (used - base_redis) / added
            measured.append(
                {
                    "connections": len(crowd.visitors),
                    "server_rss_kib": rss,
                    "server_kib_per_connection": round(server_per, 1),
                    "redis_used_memory_kib": round(used),
                    "redis_kib_per_connection": round(redis_per, 2),
                    "total_kib_per_connection": round(server_per + redis_per, 1),
                    "ramp_s": round(ramp_s, 1),
                    "connects_per_s": round((len(crowd.visitors) - before) / max(ramp_s, 1e-9)),
                    "quiet_after_s": round(quiet_s, 1),
                    "frames_to_idle_visitors": crowd.frames_received - frames_before,
                }
            )
            log(
                f"{kind}: {len(crowd.visitors):>6} idle visitors  "
                f"server {server_per:6.1f} KiB + redis {redis_per:5.2f} KiB each  "
                f"(ramp {ramp_s:.1f} s)"
            )
    finally:
        refusals = dict(crowd.refusals)
        attempts = crowd.attempts
        await crowd.abort_all()
    return {
        "compression": compression,
        "warmup_connections": WARMUP_VISITORS,
        "baseline_rss_kib": base_rss,
        "baseline_redis_kib": round(base_redis),
        "points": measured,
        "start_attempts": attempts,
        "refusals": refusals,
    }
