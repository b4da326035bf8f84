"""Open-loop load on a rig: fixed rates, the Redis cost of a message, and a stepped search.

Messages are due at fixed times (rate R: one every 1/R s, alternating direction, round robin
over the chats) and latency is measured from the due time to the arrival at the far side, so
a sender held up by a slow server still counts the delay. A message that has not arrived when
its step is over (after a drain timeout) counts as infinitely late.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from redis.asyncio import Redis

from .plan import P99_BUDGET_MS, BenchPlan
from .processes import CpuMeter
from .redis_cost import calls_per_message, command_calls, watch_round_trips
from .rigs import Rig
from .tally import message_text

START_DELAY_NS = 20_000_000
SLEEP_THRESHOLD_NS = 1_000_000
RECOVERY_TIMEOUT_S = 20.0


def log(message: str) -> None:
    print(f"  {message}", flush=True)


async def offer_load(rig: Rig, rate_per_s: float, duration_s: float) -> tuple[int, int]:
    """Send ``rate_per_s`` × ``duration_s`` messages on schedule; returns their id range."""
    ledger = rig.ledger
    total = max(1, round(rate_per_s * duration_s))
    interval_ns = 1e9 / rate_per_s
    start_ns = time.monotonic_ns() + START_DELAY_NS
    first = ledger.count
    for k in range(total):
        due_ns = start_ns + int(k * interval_ns)
        ahead_ns = due_ns - time.monotonic_ns()
        if ahead_ns > SLEEP_THRESHOLD_NS:
            await asyncio.sleep(ahead_ns / 1e9)
        direction = k % 2
        pair = (k // 2) % rig.pairs
        msg_id = ledger.new_message(direction, due_ns)
        await rig.send(pair, direction, msg_id, message_text(msg_id, due_ns))
    return first, ledger.count


async def drain(rig: Rig, first: int, end: int, timeout_s: float) -> bool:
    """Wait until every message in ``first``..``end`` arrived; False on timeout."""
    deadline = time.monotonic() + timeout_s
    while rig.ledger.outstanding(first, end):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def measure(rig: Rig, rate_per_s: int, duration_s: float, plan: BenchPlan) -> dict[str, Any]:
    """One step at a constant rate: latency per direction, and whether it kept up."""
    refused_before = sum(rig.ledger.refused.values())
    cpu = CpuMeter(rig.pids)
    cpu.start()
    first, end = await offer_load(rig, rate_per_s, duration_s)
    drained = await drain(rig, first, end, plan.drain_timeout_s)
    cpu_use = cpu.stop(end - first)
    summary = rig.ledger.window(first, end)
    refused = sum(rig.ledger.refused.values()) - refused_before
    p99 = float(summary["both"]["p99_ms"])
    ok = drained and refused == 0 and p99 < P99_BUDGET_MS
    log(
        f"{rig.name}: {rate_per_s:>5} msg/s  p50 {summary['both']['p50_ms']:>7} ms  "
        f"p99 {p99:>8} ms  {'ok' if ok else 'over budget'}"
    )
    if not drained:  # let the backlog clear so the next step starts clean
        await drain(rig, first, end, RECOVERY_TIMEOUT_S)
    return {
        "rate_per_s": rate_per_s,
        "messages": end - first,
        "drained": drained,
        "refused": refused,
        "within_budget": ok,
        **summary,
        "cpu": cpu_use,
    }


class RateSearch:
    """The stepped search for the highest rate whose p99 stays under the budget: double from
    the first step recorded (``search_start_per_s`` unless another is recorded first) until a
    step fails (or the cap), then bisect between the last good and the first bad rate
    ``search_refinements`` times (to a 50 msg/s grid)."""

    def __init__(self, plan: BenchPlan) -> None:
        self.plan = plan
        self.rate: int | None = plan.search_start_per_s
        self.good = 0
        self.bad = 0
        self.refinements_left = plan.search_refinements
        self.steps: list[dict[str, Any]] = []

    def record(self, step: dict[str, Any]) -> None:
        self.steps.append(step)
        rate = int(step["rate_per_s"])
        if step["within_budget"]:
            self.good = rate
        else:
            self.bad = rate
        if not self.bad:
            doubled = rate * 2
            self.rate = doubled if doubled <= self.plan.search_max_per_s else None
            return
        middle = round((self.good + self.bad) / 2 / 50) * 50
        if self.refinements_left <= 0 or middle in (self.good, self.bad):
            self.rate = None
            return
        self.refinements_left -= 1
        self.rate = middle

    def result(self) -> dict[str, Any]:
        return {
            "max_rate_per_s": self.good,
            "first_failing_rate_per_s": self.bad or None,
            "capped_at_per_s": None if self.bad else self.plan.search_max_per_s,
            "steps": [
                {k: s[k] for k in ("rate_per_s", "within_budget", "drained")}
                | {"p99_ms": s["both"]["p99_ms"], "retried": s.get("retried", False)}
                for s in self.steps
            ],
        }


async def redis_round_trips(rig: Rig, redis_url: str, plan: BenchPlan) -> dict[str, Any]:
    """Round trips per message from a MONITOR window at a modest rate, counting only the
    Redis connections of the rig's server (by client name: the other server stays up)."""

    async def monitored() -> int:
        first, end = await offer_load(rig, plan.monitor_rate_per_s, plan.monitor_window_s)
        await drain(rig, first, end, plan.drain_timeout_s)
        return end - first

    seen, messages = await watch_round_trips(redis_url, monitored())
    return {
        "round_trips_per_message": seen.per_message(messages, rig.redis_client_name),
        "commands_in_scripts_per_message": seen.script_commands_per_message(
            messages, rig.redis_client_name
        ),
        "round_trips_measured_at_per_s": plan.monitor_rate_per_s,
    }


def _p99(step: dict[str, Any]) -> float:
    return float(step["both"]["p99_ms"])


def median_step(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The repetition with the median p99, with every repetition's p99 and the CPU other
    processes used meanwhile (a burst of someone else's work shows up there)."""
    ranked = sorted(steps, key=_p99)
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    chosen["repeats"] = [
        {
            "p99_ms": s["both"]["p99_ms"],
            "other_processes_core_share": s["cpu"]["other_processes"]["core_share"],
            "steal_core_share": s["cpu"]["steal"]["core_share"],
        }
        for s in steps
    ]
    return chosen


async def measure_with_commands(
    rig: Rig, redis: Redis, rate_per_s: int, duration_s: float, plan: BenchPlan
) -> dict[str, Any]:
    """A step, with the Redis commands executed per message meanwhile (``INFO commandstats``:
    every client's, scripts' commands included)."""
    before = await command_calls(redis)
    step = await measure(rig, rate_per_s, duration_s, plan)
    step["redis_commands"] = calls_per_message(before, await command_calls(redis), step["messages"])
    return step


async def run_side_by_side(
    rigs: list[Rig], redis: Redis, redis_url: str, plan: BenchPlan
) -> dict[str, dict[str, Any]]:
    """The latency figures of every rig, step by step in turn, so that noise from other work
    on the machine falls on all of them alike: a warm-up, each fixed rate ``fixed_repeats``
    times in alternating order (the median repetition counts), a MONITOR window each, then
    the stepped searches interleaved (a failed search step is tried once more)."""
    out: dict[str, dict[str, Any]] = {r.name: {"fixed": [], "redis": {}} for r in rigs}
    # The connections built so far live to the end: keep them out of the collector's full
    # passes, which would otherwise pause this client and show up as latency.
    gc.collect()
    gc.freeze()
    for rig in rigs:
        # At the highest fixed rate: connection pools, compressors and caches grow to their
        # working size here rather than inside the first measured step.
        await measure(rig, max(plan.fixed_rates_per_s), plan.warmup_s, plan)
    turn = 0
    for rate in plan.fixed_rates_per_s:
        repeats: dict[str, list[dict[str, Any]]] = {r.name: [] for r in rigs}
        for _ in range(plan.fixed_repeats):
            for rig in rigs if turn % 2 == 0 else rigs[::-1]:
                step = await measure_with_commands(rig, redis, rate, plan.fixed_duration_s, plan)
                repeats[rig.name].append(step)
            turn += 1
        for rig in rigs:
            chosen = median_step(repeats[rig.name])
            out[rig.name]["fixed"].append(chosen)
            out[rig.name]["redis"]["commands_per_message"] = chosen.pop("redis_commands")
            out[rig.name]["redis"]["commands_measured_at_per_s"] = rate
    for rig in rigs:
        out[rig.name]["redis"] |= await redis_round_trips(rig, redis_url, plan)
    searches = {rig.name: RateSearch(plan) for rig in rigs}
    for rig in rigs:  # the highest fixed rate is the search's first step
        searches[rig.name].record(out[rig.name]["fixed"][-1])
    while any(s.rate for s in searches.values()):
        for rig in rigs:
            search = searches[rig.name]
            if search.rate:
                step = await measure(rig, search.rate, plan.search_step_s, plan)
                if not step["within_budget"]:  # a burst of other work must not end the search
                    step = await measure(rig, search.rate, plan.search_step_s, plan)
                    step["retried"] = True
                search.record(step)
    for rig in rigs:
        out[rig.name]["search"] = searches[rig.name].result()
    return out
