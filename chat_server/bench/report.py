"""The results: the machine they were taken on, ratios to the bare relay, targets, the table."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from .plan import P99_BUDGET_MS

TARGET_P99_RATIO = 2.0
TARGET_ROUND_TRIPS = 3.0
TARGET_IDLE_VISITORS = 5000
TARGET_KIB_PER_VISITOR = 40.0


def machine_info(redis_version: str) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kib = next((int(ln.split()[1]) for ln in meminfo if ln.startswith("MemTotal")), 0)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "redis_server": redis_version,
        "packages": {p: metadata.version(p) for p in ("aiohttp", "websockets", "redis")},
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def git_state(repo: Path) -> dict[str, Any]:
    """Commit and whether the tree has uncommitted changes (read-only git commands)."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--", "chat_server"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "server_code_modified": None}
    return {"commit": commit, "server_code_modified": bool(dirty)}


def _fixed(results: dict[str, Any], target: str, rate: int) -> dict[str, Any] | None:
    for step in results["latency"][target]["fixed"]:
        if step["rate_per_s"] == rate:
            return dict(step)
    return None


def server_cpu_us(cpu: dict[str, dict[str, float]]) -> float:
    """CPU per message of all server processes together (one or two instances)."""
    return sum(v["cpu_us_per_message"] for k, v in cpu.items() if k.startswith("server"))


def _ratio(ours: float, theirs: float) -> float | None:
    if not (math.isfinite(ours) and math.isfinite(theirs)) or theirs <= 0:
        return None
    return round(ours / theirs, 2)


def ratios(results: dict[str, Any], rates: tuple[int, ...]) -> dict[str, Any]:
    """Our figures divided by the bare relay's (above 1: we are slower or bigger)."""
    out: dict[str, Any] = {}
    for rate in rates:
        ours, bare = _fixed(results, "nexus", rate), _fixed(results, "bare", rate)
        if ours and bare:
            out[f"p99_at_{rate}_per_s"] = {
                d: _ratio(float(ours[d]["p99_ms"]), float(bare[d]["p99_ms"]))
                for d in ("visitor_to_counsellor", "counsellor_to_visitor", "both")
            }
            out[f"p50_at_{rate}_per_s"] = _ratio(
                float(ours["both"]["p50_ms"]), float(bare["both"]["p50_ms"])
            )
            out[f"server_cpu_per_message_at_{rate}_per_s"] = _ratio(
                server_cpu_us(ours["cpu"]), server_cpu_us(bare["cpu"])
            )
    lat = results["latency"]
    out["max_rate_p99_under_budget"] = _ratio(
        lat["nexus"]["search"]["max_rate_per_s"], lat["bare"]["search"]["max_rate_per_s"]
    )
    ours_mem = {
        p["connections"]: p for p in results["memory"]["nexus"]["points"] if "skipped" not in p
    }
    bare_mem = {
        p["connections"]: p for p in results["memory"]["bare"]["points"] if "skipped" not in p
    }
    out["kib_per_idle_visitor"] = {
        str(n): _ratio(
            ours_mem[n]["total_kib_per_connection"], bare_mem[n]["total_kib_per_connection"]
        )
        for n in sorted(set(ours_mem) & set(bare_mem))
    }
    return out


def targets(results: dict[str, Any], rate: int) -> dict[str, Any]:
    """The issue's targets, each with the measured value and whether it was met."""
    ratio = results["ratios"].get(f"p99_at_{rate}_per_s", {})
    worst = [v for k, v in ratio.items() if k != "both" and v is not None]
    round_trips = results["redis"]["nexus"]["round_trips_per_message"]["total"]
    memory = _memory_target(results["memory"]["nexus"]["points"])
    c = results["correctness"]
    return {
        f"p99_at_{rate}_per_s_at_most_{TARGET_P99_RATIO:g}x_bare": {
            "value": max(worst) if worst else None,
            "met": bool(worst) and max(worst) <= TARGET_P99_RATIO,
        },
        f"at_most_{TARGET_ROUND_TRIPS:g}_redis_round_trips_per_message": {
            "value": round_trips,
            "met": round_trips <= TARGET_ROUND_TRIPS,
        },
        f"{TARGET_IDLE_VISITORS}_idle_visitors_at_most_{TARGET_KIB_PER_VISITOR:g}_kib_each": memory,
        "no_double_assignment": {
            "value": c["double_assignments"],
            "met": c["double_assignments"] == 0,
        },
        "no_lost_message": {"value": c["lost"], "met": c["lost"] == 0},
        "no_duplicated_message": {"value": c["duplicated"], "met": c["duplicated"] == 0},
    }


def _memory_target(points: list[dict[str, Any]]) -> dict[str, Any]:
    """KiB per idle visitor at the first measured point with at least the target count (or
    at the largest point measured, which cannot meet the target)."""
    measured = [p for p in points if "skipped" not in p]
    reached = [p for p in measured if p["connections"] >= TARGET_IDLE_VISITORS]
    point = reached[0] if reached else (measured[-1] if measured else None)
    if point is None:
        return {"value": None, "met": False}
    kib = point["total_kib_per_connection"]
    return {
        "value": {"connections": point["connections"], "kib_each": kib},
        "met": bool(reached) and kib <= TARGET_KIB_PER_VISITOR,
    }


def _pcts(summary: dict[str, Any]) -> str:
    return f"{summary['p50_ms']:>6} /{summary['p95_ms']:>7} /{summary['p99_ms']:>8}"


def table(results: dict[str, Any]) -> str:
    """The figures as a plain-text table for the terminal."""
    m, lat = results["meta"], results["latency"]
    lines = [
        f"nexus-chat benchmark ({'quick' if m['quick'] else 'full'} run, "
        f"{m['instances']} instance(s)) on {m['machine']['nproc']} × {m['machine']['cpu_model']}, "
        f"Python {m['machine']['python']}, Redis {m['machine']['redis_server']}: "
        f"{m['duration_s']} s",
        "",
        "Latency in ms, open loop (p50 / p95 / p99)   nexus                      bare relay"
        "                 p99 ratio",
    ]
    for step in lat["nexus"]["fixed"]:
        rate = step["rate_per_s"]
        bare = _fixed(results, "bare", rate) or {}
        ratio = results["ratios"].get(f"p99_at_{rate}_per_s", {})
        for d, label in (
            ("visitor_to_counsellor", "visitor→counsellor"),
            ("counsellor_to_visitor", "counsellor→visitor"),
        ):
            lines.append(
                f"  {rate:>5} msg/s  {label:<20}  {_pcts(step[d])}   "
                f"{_pcts(bare[d]) if bare else '-':<26}  {ratio.get(d)}"
            )
    repeats = [
        r for target in ("nexus", "bare") for step in lat[target]["fixed"]
        for r in step.get("repeats", [])
    ]  # fmt: skip
    others = [r["other_processes_core_share"] for r in repeats]
    steal = [r.get("steal_core_share", 0.0) for r in repeats]
    if others:
        lines.append(
            f"  (other processes on the machine used {min(others)}-{max(others)} cores and the "
            f"hypervisor took {min(steal)}-{max(steal)} (steal) meanwhile; each figure is the "
            f"median of {len(lat['nexus']['fixed'][0]['repeats'])} repeats)"
        )
    n, b = lat["nexus"]["search"], lat["bare"]["search"]
    lines += [
        f"  highest rate with p99 < {P99_BUDGET_MS:g} ms: nexus {n['max_rate_per_s']} msg/s, "
        f"bare {b['max_rate_per_s']} msg/s "
        f"(ratio {results['ratios']['max_rate_p99_under_budget']})",
        "",
        "Redis per relayed message        round trips   run in scripts   all commands in Redis",
    ]
    for target in ("nexus", "bare"):
        r = results["redis"][target]
        lines.append(
            f"  {target:<30} {r['round_trips_per_message']['total']:>9}   "
            f"{r['commands_in_scripts_per_message']['total']:>14}   "
            f"{r['commands_per_message']['total']:>9} (at {r['commands_measured_at_per_s']} msg/s)"
        )
    lines += ["", "Memory per idle visitor connection (KiB)   server + Redis = total"]
    for target in ("nexus", "bare", "nexus_uncompressed"):
        mem = results["memory"].get(target)
        for p in (mem or {}).get("points", []):
            if "skipped" in p:
                lines.append(f"  {target:<12} {p['connections']:>6}  skipped: {p['skipped']}")
                continue
            lines.append(
                f"  {target:<12} {p['connections']:>6}  {p['server_kib_per_connection']:>8} + "
                f"{p['redis_kib_per_connection']:>5} = {p['total_kib_per_connection']:>7}   "
                f"(ramp {p['ramp_s']} s)"
            )
    cl, rc, c = results["claims"], results["reconnect"], results["correctness"]
    lines += [
        "",
        f"Claims: {cl['concurrent_claims']} at once, p50 {cl['first_waiting']['p50_ms']} ms, "
        f"p99 {cl['first_waiting']['p99_ms']} ms; same-chat race p99 "
        f"{cl['same_chat_race']['p99_ms']} ms; double assignments {cl['double_assignments']}",
        f"Restart: {rc['resumed']}/{rc['visitors']} visitors resumed "
        f"{rc['all_welcomed_after_kill_s']} s after kill -9 (first welcome after "
        f"{rc['first_welcome_after_kill_s']} s; handshake p99 {rc['handshake']['p99_ms']} ms)",
        f"Delivery: lost {c['lost']}, duplicated {c['duplicated']}, seq gaps {c['seq_gaps']}, "
        f"seq repeats {c['seq_repeats']}, refused {c['refused']}, "
        f"unexpected closes {c['unexpected_closes']}",
        "",
        "Targets:",
    ]
    for name, t in results["targets"].items():
        lines.append(f"  {'met    ' if t['met'] else 'MISSED '} {name}: {t['value']}")
    if "sealing" in results:
        lines += ["", sealing_line(results)]
    return "\n".join(lines)


def sealing_line(results: dict[str, Any]) -> str:
    """The cost of sealing against the server CPU per message at the highest fixed rate."""
    s = results["sealing"]
    line = (
        f"Sealing ({s['text_chars']} characters, AES-256-GCM): seal {s['seal_us']} µs, open "
        f"{s['open_us']} µs, a chat's key {s['derive_chat_key_us']} µs once per instance"
    )
    steps = results.get("latency", {}).get("nexus", {}).get("fixed", [])
    if steps:
        step = max(steps, key=lambda st: st["rate_per_s"])
        per_message = server_cpu_us(step["cpu"])
        if per_message > 0:
            share = (s["seal_us"] + s["open_us"]) / per_message
            line += (
                f"; one seal + one open is {share:.1%} of the server's {per_message:.0f} µs "
                f"per message at {step['rate_per_s']} msg/s"
            )
    return line


def spike_table(spike: dict[str, Any]) -> str:
    """The media spike's figures: arrivals, staleness, and the cost of one queue change."""
    st = spike["position_staleness"]
    lines = [
        f"Media spike: {spike['visitors']} visitors arrived in {spike['arrival_s']} s on 2 "
        f"instances; {spike['takes']} takes; lost {spike['lost']}, disconnected "
        f"{spike['disconnected']}, refused {spike['refusals'] or 0}, take errors "
        f"{spike['take_errors'] or 0}",
        f"  position shown after a take: p50 {st['p50_ms']} ms, p99 {st['p99_ms']} ms, max "
        f"{st['max_ms']} ms over {st['pairs']} (take, visitor behind it) pairs; never shown "
        f"{st['never']} (within 2 s)",
        f"  server CPU per instance (share of a core, 1-s samples): max "
        f"{spike['server_core_share_max']}, mean {spike['server_core_share_mean']}",
        "  per queue change at      Redis cmds      bytes sent   server CPU   visitor frames"
        "   console B/s   supervisor B/s   console lag p99   supervisor lag p99",
    ]
    for p in spike["plateaus"]:
        lines.append(
            f"  {p['waiting']:>6} waiting       {p['redis_commands_per_change']:>10}   "
            f"{p['bytes_sent_per_change']:>13}   "
            f"{p['server_cpu_ms_per_change']:>7} ms   {p['visitor_frames_per_change']:>14}   "
            f"{p['console_bytes_per_s']:>11}   {p['supervisor_bytes_per_s']:>14}   "
            f"{p['console_view_lag_ms']['p99']:>12} ms   "
            f"{p['supervisor_view_lag_ms']['p99']:>15} ms"
        )
    return "\n".join(lines)
