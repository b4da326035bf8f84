"""Command line of the benchmark: ``python -m chat_server.bench [--quick] [--json PATH]``."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from .flood import flood_table
from .plan import FULL, QUICK, with_spike_visitors
from .report import sealing_line, spike_table, table
from .runner import PHASES, run_bench


def _points(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(",") if p.strip())


def _phases(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in PHASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"phases are {', '.join(PHASES)}; not {unknown}")
    return names


def _finite(value: Any) -> Any:
    """JSON has no infinity: a message that never arrived is reported as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chat_server.bench",
        description="Load and benchmark nexus-chat side by side with a bare relay.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run under a minute")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path("bench-results.json"),
        help="where to write the results (default: bench-results.json)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        choices=(1, 2),
        default=1,
        help="server instances sharing Redis in the latency and claim phases "
        "(2: visitors on one, counsellors on the other)",
    )
    parser.add_argument(
        "--memory-points",
        type=_points,
        metavar="N,N,...",
        help="idle-connection counts to measure (default 1000,5000,10000)",
    )
    parser.add_argument(
        "--uncompressed-points",
        type=_points,
        metavar="N,N,...",
        help="the same without permessage-deflate (default 1000,5000)",
    )
    parser.add_argument(
        "--server-src",
        type=Path,
        metavar="DIR",
        help="run the chat_server package of another checkout (A/B runs)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record py-spy profiles of the server into DIR (pip install py-spy)",
    )
    parser.add_argument(
        "--spike-visitors",
        type=int,
        metavar="N",
        help="visitors in the spike phase, at the plan's arrival rate (default 5000, "
        "300 with --quick)",
    )
    parser.add_argument(
        "--only",
        type=_phases,
        metavar="PHASE,...",
        default=PHASES,
        help=f"run only these phases (of {','.join(PHASES)}); the summary table needs all",
    )
    args = parser.parse_args(argv)
    plan = replace(QUICK if args.quick else FULL, instances=args.instances)
    if args.spike_visitors:
        plan = with_spike_visitors(plan, args.spike_visitors)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.memory_points:
        plan = replace(
            plan, memory_points=args.memory_points, max_ramp_s=math.inf, run_budget_s=math.inf
        )
    if args.uncompressed_points:
        plan = replace(
            plan,
            uncompressed_memory_points=args.uncompressed_points,
            max_ramp_s=math.inf,
            run_budget_s=math.inf,
        )
    results = asyncio.run(
        run_bench(plan, server_src=args.server_src, profile_dir=args.profile, only=args.only)
    )
    args.json.write_text(json.dumps(_finite(results), indent=2, ensure_ascii=False) + "\n")
    print()
    try:
        print(table(results))
    except (KeyError, IndexError, TypeError) as missing:
        print(f"(no table: figure {missing} is missing)")
        if "sealing" in results:
            print(sealing_line(results))
    if "spike" in results:
        print()
        print(spike_table(results["spike"]))
    if "flood" in results:
        print()
        print(flood_table(results["flood"]))
    for error in results["errors"]:
        print(f"FAILED {error['phase']}: {error['error']}")
    print(f"\nresults written to {args.json}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
