"""A flood of chat starts against flood control, while real visitors arrive (the bench's
``flood`` phase: ``ops/bench/run --only flood``).

Bots run in a child process of their own (``python -m chat_server.bench.flood``), so their
hashing does not slow the real visitors' client: each bot connection sends ``start``, solves
every ``challenge`` with hashlib (as a real attacker's script would, much faster than a phone)
and sends it again, then drops the chat and starts over. Meanwhile real visitors arrive one
by one in this process and we time how long each takes from opening the socket to
``welcome`` (the queue), solving included.

Figures: starts admitted per minute against the configured rate, the difficulty reached, the
bots' hash rate, and each real visitor's time to the queue and solve time. The admitted rate
is bounded by the bots' hash rate x 60 / 2**max_bits: the cap that keeps a phone's solve near
a second also caps what one attacker's core is held to (docs/performance.md, *Floods*).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from ..domain import flood
from .processes import Child

ANSWER_TIMEOUT_S = 30.0
PHONE_HASHES_PER_S = 30_000  # assumed for a mid-range phone (docs/widget.md)


async def _answer(ws: ClientConnection) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S))
        if frame.get("type") in ("welcome", "challenge"):
            return frame


async def enter_queue(url: str, origin: str, solver: Any) -> dict[str, Any]:
    """One visitor: open, start, solve challenges until welcome. Returns timings (s), the
    bits solved and the hashes tried."""
    began = time.perf_counter()
    solve_s, bits, hashes = 0.0, 0, 0
    async with connect(url, origin=Origin(origin), open_timeout=ANSWER_TIMEOUT_S) as ws:
        await ws.send(json.dumps({"type": "start", "language": "sv"}))
        frame = await _answer(ws)
        while frame["type"] == "challenge":
            t0 = time.perf_counter()
            solution = await solver(frame["challenge"], frame["bits"])
            solve_s += time.perf_counter() - t0
            bits, hashes = int(frame["bits"]), hashes + int(solution) + 1
            await ws.send(
                json.dumps({"type": "start", "challenge": frame["challenge"], "solution": solution})
            )
            frame = await _answer(ws)
        return {"to_queue_s": time.perf_counter() - began, "solve_s": solve_s, "bits": bits,
                "hashes": hashes}  # fmt: skip


async def _in_loop(challenge: str, bits: int) -> str:
    return flood.solve(challenge, bits)  # blocks the bots' loop: the bots are one core


async def _bots(url: str, origin: str, conns: int, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    admitted, bits_seen, hashes, failures = 0, Counter[int](), 0, 0
    started = time.perf_counter()
    late = 0  # admitted in the second half, when the difficulty has adapted

    async def bot() -> None:
        nonlocal admitted, hashes, failures, late
        while time.monotonic() < deadline:
            try:
                entered = await enter_queue(url, origin, _in_loop)
            except Exception:  # refused, closed or timed out: a bot simply tries again
                failures += 1
                await asyncio.sleep(0.01)
                continue
            admitted += 1
            late += time.perf_counter() - started > seconds / 2
            bits_seen[entered["bits"]] += 1
            hashes += entered["hashes"]

    await asyncio.gather(*(bot() for _ in range(conns)))
    elapsed = time.perf_counter() - started
    return {"admitted": admitted, "late": late, "elapsed_s": elapsed, "bits": dict(bits_seen),
            "hashes": hashes, "failures": failures}  # fmt: skip


async def run_flood(server: Child, plan_seconds: float, conns: int, visitors: int,
                    rate_per_min: int) -> dict[str, Any]:  # fmt: skip
    """The flood phase against ``server`` (started with flood control at ``rate_per_min``)."""
    url = f"{server.ws_url}/ws/visitor"
    argv = [sys.executable, "-m", "chat_server.bench.flood", url, server.url,
            str(conns), str(plan_seconds)]  # fmt: skip
    bots = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE)
    real: list[dict[str, Any]] = []
    pause = plan_seconds / (visitors + 1)

    async def solver(challenge: str, bits: int) -> str:
        return await asyncio.to_thread(flood.solve, challenge, bits)

    for _ in range(visitors):
        await asyncio.sleep(pause)  # spread the real visitors over the flood
        real.append(await enter_queue(url, server.url, solver))
    out, _ = await bots.communicate()
    fleet = json.loads(out)
    minutes = fleet["elapsed_s"] / 60
    max_bits = max(fleet["bits"], key=int, default="0")
    return {
        "configured_per_min": rate_per_min,
        "bot_connections": conns,
        "seconds": round(fleet["elapsed_s"], 1),
        "admitted_per_min": round(fleet["admitted"] / minutes, 1),
        "admitted_per_min_second_half": round(fleet["late"] / (minutes / 2), 1),
        "bits_reached": int(max_bits),
        "bits_histogram": fleet["bits"],
        "bot_hashes_per_s": round(fleet["hashes"] / fleet["elapsed_s"]),
        "bot_failures": fleet["failures"],
        "real_visitors": [
            {
                "to_queue_s": round(v["to_queue_s"], 3),
                "solve_s": round(v["solve_s"], 3),
                "bits": v["bits"],
                "phone_solve_s_estimate": round(2 ** v["bits"] / PHONE_HASHES_PER_S, 2),
            }
            for v in real
        ],
    }


@dataclass(frozen=True, slots=True)
class FloodPlan:
    rate_per_min: int = 60
    seconds: float = 30.0
    bot_connections: int = 8
    real_visitors: int = 5


FULL_FLOOD = FloodPlan()
QUICK_FLOOD = FloodPlan(rate_per_min=20, seconds=5.0, bot_connections=4, real_visitors=2)


def flood_table(f: dict[str, Any]) -> str:
    """The flood phase's figures for the terminal."""
    times = [v["to_queue_s"] for v in f["real_visitors"]]
    lines = [
        f"Flood: {f['bot_connections']} bot connections (one core, hashlib) for "
        f"{f['seconds']} s against flood control at {f['configured_per_min']} starts/min",
        f"  admitted {f['admitted_per_min']} starts/min ({f['admitted_per_min_second_half']} in "
        f"the second half); difficulty reached {f['bits_reached']} "
        f"bits (starts per bits: {f['bits_histogram']}); bots hashed {f['bot_hashes_per_s']}/s, "
        f"failures {f['bot_failures']}",
        f"  real visitors to the queue: max {max(times, default=0):.3f} s over {len(times)}",
    ]
    for v in f["real_visitors"]:
        lines.append(
            f"    {v['to_queue_s']:.3f} s to the queue, solve {v['solve_s']:.3f} s at {v['bits']} "
            f"bits (a phone: about {v['phone_solve_s_estimate']} s)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The bots' child process: ``python -m chat_server.bench.flood URL ORIGIN CONNS SECONDS``
    prints their tally as JSON. The phase itself runs in ``ops/bench/run`` (``--only flood``)."""
    parser = argparse.ArgumentParser(prog="python -m chat_server.bench.flood")
    parser.add_argument("url")
    parser.add_argument("origin")
    parser.add_argument("conns", type=int)
    parser.add_argument("seconds", type=float)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_bots(args.url, args.origin, args.conns, args.seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
