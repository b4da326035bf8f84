"""A deterministic A/B of the server's cost per relayed message: instructions under callgrind.

Wall-clock CPU on a shared machine scatters by more than the differences we look for, and
``perf stat`` has no hardware counters here. Valgrind's callgrind counts the instructions a
process executes, which is the same whatever else runs. For each side (a checkout of
``chat_server``, optionally with extra import paths, e.g. a directory holding ``hiredis``):

1. a private ``redis-server`` and one ``python -m chat_server serve`` of that checkout under
   ``valgrind --tool=callgrind --instr-atstart=no`` (the start-up runs uninstrumented);
2. ``--chats`` visitors, taken by one console (the real protocol, real sockets), and
   ``--warmup`` messages to fill the caches;
3. instrumentation on (``callgrind_control -i on``), then ``--messages`` messages, one at a
   time, alternating visitor → counsellor and back, each awaited at the far side and as the
   writer's echo (a closed loop, so the work done does not depend on timing), then a dump.

It prints instructions per relayed message for each side and the difference to the first,
the Redis commands per message, and the top functions by inclusive cost
(``callgrind_annotate --inclusive=yes``; written in full under ``--out``). Python frames
show as the interpreter's C functions; the Python-level picture comes from comparing sides
that differ by one change.

    python -m chat_server.bench.sealing_ab parent=/tmp/ab-parent sealed=/tmp/ab-sealed \\
        fixed=. hiredis=.,/tmp/hiredis-lib [--quick]

A full run (4 chats, 400 messages per side) takes about a minute per side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from ..store.embedded import EmbeddedRedis
from . import processes as proc
from .redis_cost import calls_per_message, command_calls
from .rigs import NexusRig, nexus_rig
from .runner import write_bot_staff
from .tally import COUNSELLOR_TO_VISITOR, VISITOR_TO_COUNSELLOR, message_text
from .wsclient import login, wait_for

READY_TIMEOUT_S = 300.0
TOP_DELTAS = 25
NO_HIREDIS = "-hiredis"
NAME_CHARS = 110
FRAME_TIMEOUT_S = 60.0
FIXED_DUE_NS = 10**18  # the text's timestamp part: every message the same length
_ROW = re.compile(r"^\s*(?P<ir>[\d,]+) \([^)]*\)\s+(?P<name>.*\S)\s*$")
_GLUE = re.compile(r"libpython|_asyncio|^\?\?\?:0x|\[\?\?\?\]|^[^\[]*$")
QUIET_ENV = {
    # Timers that would do work in proportion to wall time (slower under valgrind) are
    # pushed out of the measured window; hash randomisation is fixed.
    "NEXUS_SWEEP_INTERVAL_S": "3600",
    "NEXUS_ROUTING_TICK_S": "3600",
    "PYTHONHASHSEED": "0",
}


@dataclass(frozen=True)
class Side:
    label: str
    src: Path
    extra_paths: tuple[Path, ...] = ()
    without_hiredis: bool = False

    @classmethod
    def parse(cls, text: str) -> Side:
        """``label=src[,extra_path...][,-hiredis]``: ``-hiredis`` hides an installed hiredis
        from the server, so redis-py parses in Python."""
        label, sep, paths = text.partition("=")
        if not sep or not label or not paths:
            raise argparse.ArgumentTypeError(f"expected label=src[,path...], not {text!r}")
        parts = paths.split(",")
        without_hiredis = NO_HIREDIS in parts
        src, *extra = (Path(p).resolve() for p in parts if p != NO_HIREDIS)
        if not (src / "chat_server").is_dir():
            raise argparse.ArgumentTypeError(f"{src} holds no chat_server package")
        return cls(label, src, tuple(extra), without_hiredis)

    def python_path(self, tmp: Path) -> str:
        """The server's PYTHONPATH: the checkout, the extra paths and, for ``-hiredis``, a
        ``hiredis`` package that refuses to import (redis-py then uses its own parser)."""
        paths = [self.src, *self.extra_paths]
        if self.without_hiredis:
            blocker = tmp / "no-hiredis" / "hiredis"
            blocker.mkdir(parents=True)
            (blocker / "__init__.py").write_text('raise ImportError("hidden by sealing_ab")\n')
            paths.insert(0, blocker.parent)
        return os.pathsep.join(str(p) for p in paths)


def total_instructions(dump: Path) -> int:
    """The ``summary:``/``totals:`` Ir figure of a callgrind dump."""
    for line in dump.read_text(errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


def top_functions(dump: Path, count: int) -> list[str]:
    """The ``count`` functions with the highest inclusive cost outside the interpreter and
    the event loop (whose frames include everything), as ``callgrind_annotate`` shows them;
    its whole output is kept beside the dump."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    dump.with_suffix(".annotate.txt").write_text(out)
    rows = []
    for line in out.splitlines():
        match = _ROW.match(line)
        if match is None or "PROGRAM TOTALS" in line or _GLUE.search(match["name"]):
            continue  # (a row without an object is a duplicate of an inlined part)
        rows.append(f"{match['ir']:>13}  {_short(match['name'])[:NAME_CHARS]}")
    return rows[:count]


def _short(name: str) -> str:
    """``/long/path/file.c:function [/long/path/lib.so]`` as ``file.c:function [lib.so]``."""
    name, _, obj = name.partition(" [")
    obj_name = obj.rstrip("]").rsplit("/", 1)[-1]
    function = re.sub(r"'\d+$", "", name.rsplit("/", 1)[-1])
    return f"{function} [{obj_name}]" if obj_name else function


def self_costs(dump: Path) -> Counter[str]:
    """Exclusive instructions per function (``file:function [object]`` shortened, recursion
    levels merged), for comparing two sides function by function."""
    out = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(dump)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    costs: Counter[str] = Counter()
    for line in out.splitlines():
        match = _ROW.match(line)
        if match is None or "PROGRAM TOTALS" in line:
            continue
        costs[_short(match["name"])] += int(match["ir"].replace(",", ""))
    return costs


def _tidy(tmp: Path, dump_base: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    dump_base.unlink(missing_ok=True)  # the dump written at exit: start-up and shutdown


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


async def relay(rig: NexusRig, first_id: int, count: int) -> None:
    """``count`` messages, one at a time, each awaited at the far side and as its echo."""
    for k in range(count):
        msg_id = first_id + k
        direction = VISITOR_TO_COUNSELLOR if k % 2 == 0 else COUNSELLOR_TO_VISITOR
        pair = (k // 2) % rig.pairs
        visitor, bot = rig.visitors[pair], rig.bots[rig.bot_of_pair[pair]]
        writer, reader = (visitor, bot) if direction == VISITOR_TO_COUNSELLOR else (bot, visitor)
        text = message_text(msg_id, FIXED_DUE_NS)
        echoed = writer.waiter("message", client_id=str(msg_id))
        arrived = reader.waiter("message", text=text)
        await rig.send(pair, direction, msg_id, text)
        await wait_for(echoed, FRAME_TIMEOUT_S)
        await wait_for(arrived, FRAME_TIMEOUT_S)


async def measure_side(side: Side, args: argparse.Namespace, out_dir: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"sealing-ab-{side.label}-"))
    staff = tmp / "staff.json"
    password = write_bot_staff(staff, bots=1, capacity=args.chats)
    dump_base = out_dir / f"callgrind.{side.label}"
    with EmbeddedRedis(port=proc.free_port()) as redis_server:
        url = f"redis://127.0.0.1:{redis_server.port}"
        port = proc.free_port()
        server = proc.nexus_server(
            f"nexus-{side.label}",
            port=port,
            redis_url=url,
            staff_file=staff,
            origins=[f"http://127.0.0.1:{port}"],
            log_dir=tmp,
            base_env=dict(os.environ),
            server_src=side.src,
            extra_env=QUIET_ENV,
        )
        server.env["PYTHONPATH"] = side.python_path(tmp)
        server.argv = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={dump_base}",
            *server.argv,
        ]
        redis = Redis(port=redis_server.port, decode_responses=True)
        try:
            server.start()
            await server.wait_ready(READY_TIMEOUT_S)
            cookie = await login(server.url, "bench-bot-0", password)
            rig = await nexus_rig(server, server, [cookie], args.chats, 1)
            await relay(rig, 1, args.warmup)
            before = await command_calls(redis)
            _control(server.pid, "-i", "on")
            _control(server.pid, "-z")
            await relay(rig, 1 + args.warmup, args.messages)
            _control(server.pid, "-d")
            _control(server.pid, "-i", "off")
            after = await command_calls(redis)
            await rig.close()
        finally:
            server.stop()
            await redis.aclose()
    dump = Path(f"{dump_base}.1")
    _tidy(tmp, dump_base)
    total = total_instructions(dump)
    return {
        "label": side.label,
        "instructions_per_message": round(total / args.messages),
        "redis_calls_per_message": calls_per_message(before, after, args.messages),
        "top": top_functions(dump, args.top),
        "self_costs": self_costs(dump),
        "messages": args.messages,
        "dump": str(dump),
    }


def report(results: list[dict[str, Any]]) -> str:
    base = results[0]["instructions_per_message"]
    lines = ["side            instructions/message   vs first   Redis calls/message"]
    for r in results:
        ir = r["instructions_per_message"]
        delta = f"{(ir - base) / base * 100:+.1f} %" if r is not results[0] else "—"
        calls = r["redis_calls_per_message"]
        detail = ", ".join(f"{k} {v}" for k, v in calls.items() if k != "total")
        lines.append(f"{r['label']:<15} {ir:>20,}   {delta:>8}   {calls['total']} ({detail})")
    for r in results:
        lines.append(f"\ntop functions, inclusive, {r['label']} ({r['dump']}):")
        lines.extend(f"  {row.strip()}" for row in r["top"])
    first = results[0]
    for r in results[1:]:
        lines.append(
            f"\nwhere {r['label']} differs from {first['label']} (exclusive, per message):"
        )
        a, b = first["self_costs"], r["self_costs"]
        per_a, per_b = first["messages"], r["messages"]
        deltas = {name: b[name] / per_b - a[name] / per_a for name in set(a) | set(b)}
        for name in sorted(deltas, key=lambda n: -abs(deltas[n]))[:TOP_DELTAS]:
            lines.append(f"  {deltas[name]:>+9,.0f}  {name}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace, out_dir: Path) -> None:
    results = []
    for side in args.sides:
        print(f"measuring {side.label} ({side.src})", flush=True)
        results.append(await measure_side(side, args, out_dir))
    print(report(results))


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m chat_server.bench.sealing_ab", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("sides", nargs="+", type=Side.parse, help="label=src[,extra path...]")
    parser.add_argument("--quick", action="store_true", help="2 chats, 40 messages (a smoke)")
    parser.add_argument("--chats", type=int, default=4)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--top", type=int, default=25, help="functions shown per side")
    parser.add_argument("--out", default="sealing-ab", help="directory for the dumps")
    args = parser.parse_args()
    if args.quick:
        args.chats, args.messages, args.warmup = 2, 40, 8
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind (callgrind) is not installed")
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(args, out_dir))


if __name__ == "__main__":
    main()
