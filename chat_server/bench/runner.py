"""One benchmark run: a private Redis, the bare relay and our server, phase by phase.

Latency (bare relay and nexus side by side) and the claim races share one set of servers;
every later phase starts from an empty Redis and a freshly started server process, so one
phase's leftovers (queued chats, allocator state) cannot colour the next one's figures.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import secrets
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from redis.asyncio import Redis

from ..store.embedded import EmbeddedRedis
from . import processes as proc
from .claims import run_claims
from .flood import FULL_FLOOD, QUICK_FLOOD, run_flood
from .latency import run_side_by_side
from .memory import measure_idle_memory
from .plan import BenchPlan
from .profile import hot_spots, profiled
from .reconnect import run_reconnect
from .report import git_state, machine_info, ratios, targets
from .rigs import bare_rig, nexus_rig
from .sealing_cost import measure_sealing
from .spike import SPIKE_ENV, run_spike
from .wsclient import login

REPO_DIR = Path(__file__).resolve().parents[2]
BUSY_LOAD_PER_CORE = 0.5
PROFILED_PHASES = ("nexus-latency", "nexus-idle-connections", "nexus-reconnect")
SUPERVISOR = "bench-supervisor"
PHASES = ("sealing", "latency", "bare-memory", "capacity", "spike", "flood")


@dataclass
class Bench:
    plan: BenchPlan
    tmp: Path
    redis_server: EmbeddedRedis
    redis: Redis
    base_env: dict[str, str]
    server_src: Path | None
    profile_dir: Path | None
    started: float

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_server.port}"

    def pids(self, servers: list[proc.Child]) -> dict[str, int]:
        named = {
            f"server{i}" if len(servers) > 1 else "server": s.pid for i, s in enumerate(servers)
        }
        return {**named, "redis": self.redis_server.pid or 0, "client": os.getpid()}

    def phase(self, name: str) -> None:
        print(f"[{time.monotonic() - self.started:5.0f} s] {name}", flush=True)

    async def idle_memory(
        self, server: proc.Child, kind: str, points: tuple[int, ...], *, compression: bool = True
    ) -> dict[str, Any]:
        """``measure_idle_memory`` on ``server`` with this run's pacing and time budget."""
        plan = self.plan
        return await measure_idle_memory(
            server,
            kind,
            self.redis,
            points,
            concurrency=plan.connect_concurrency,
            settle_s=plan.memory_settle_s,
            max_ramp_s=plan.max_ramp_s,
            deadline=self.started + plan.run_budget_s,
            compression=compression,
        )

    def profile_path(self, name: str) -> Path | None:
        return self.profile_dir / f"{name}.txt" if self.profile_dir else None

    async def fresh_servers(
        self, count: int, staff_file: Path, extra_env: dict[str, str] | None = None
    ) -> list[proc.Child]:
        """Empty Redis, then ``count`` new server instances sharing it."""
        await self.redis.flushall()
        ports = [proc.free_port() for _ in range(count)]
        origins = [f"http://127.0.0.1:{p}" for p in ports]
        servers = [
            proc.nexus_server(
                f"nexus-{i}",
                port=port,
                redis_url=self.redis_url,
                staff_file=staff_file,
                origins=origins,
                log_dir=self.tmp,
                base_env=self.base_env,
                server_src=self.server_src,
                extra_env=extra_env,
            )
            for i, port in enumerate(ports)
        ]
        try:
            for server in servers:
                server.start()
            await asyncio.gather(*(s.wait_ready() for s in servers))
        except BaseException:
            for server in servers:  # a server that never got ready must not outlive the run
                server.kill()
            raise
        return servers


def write_bot_staff(path: Path, bots: int, capacity: int) -> str:
    """A staff file with ``bots`` counsellor accounts and one supervisor (SUPERVISOR);
    returns their (random) password."""
    password = secrets.token_urlsafe(18)
    password_hash = PasswordHasher().hash(password)  # once: argon2 is slow on purpose
    accounts = [
        {
            "username": f"bench-bot-{i}",
            "password_hash": password_hash,
            "role": "counsellor",
            "display_name": f"Bench bot {i}",
            "languages": ["sv", "en"],
            "capacity": capacity,
        }
        for i in range(bots)
    ]
    accounts.append(
        {
            "username": SUPERVISOR,
            "password_hash": password_hash,
            "role": "supervisor",
            "display_name": "Bench supervisor",
            "languages": ["sv"],
            "capacity": 1,
        }
    )
    path.write_text(json.dumps({"accounts": accounts}))
    path.chmod(0o600)
    return password


async def latency_phases(bench: Bench, results: dict[str, Any], staff: Path, password: str) -> None:
    """Latency and Redis cost of the bare relay and of nexus side by side, then the delivery
    checks and the claim races on nexus."""
    plan = bench.plan
    bench.phase(f"latency: bare relay and nexus ({plan.instances} instance(s)) side by side")
    relay = proc.bare_relay(
        port=proc.free_port(), redis_url=bench.redis_url, log_dir=bench.tmp, base_env=bench.base_env
    )
    servers = await bench.fresh_servers(plan.instances, staff)
    relay.start()
    try:
        await relay.wait_ready()
        cookies = list(
            await asyncio.gather(
                *(login(servers[-1].url, f"bench-bot-{i}", password) for i in range(plan.bots))
            )
        )
        bare = await bare_rig(relay, plan.consoles, plan.chats)
        bare.pids = bench.pids([relay])
        nexus = await nexus_rig(servers[0], servers[-1], cookies, plan.chats, plan.consoles)
        nexus.pids = bench.pids(servers)
        with profiled(servers[-1].pid, bench.profile_path("nexus-latency")):
            measured = await run_side_by_side([bare, nexus], bench.redis, bench.redis_url, plan)
        for name, figures in measured.items():
            results["redis"][name] = figures.pop("redis")
            results["latency"][name] = figures
        results["latency"]["bare"]["delivery"] = {
            "lost": bare.ledger.lost(require_ack=False),
            "duplicated": bare.ledger.duplicated(),
        }
        await bare.close()
        relay.stop()
        await nexus.end_all()
        results["correctness"] = {
            "messages": nexus.ledger.count,
            "lost": nexus.ledger.lost(require_ack=True),
            "duplicated": nexus.ledger.duplicated(),
            "seq_gaps": nexus.seq.gaps,
            "seq_repeats": nexus.seq.repeats,
            "refused": dict(nexus.ledger.refused),
            "foreign_frames": nexus.ledger.foreign_frames,
            "unexpected_closes": sum(1 for b in nexus.bots if not b.open),
            "chats_ended": nexus.ended_chats,
        }
        await nexus.close()
        bench.phase("nexus: concurrent claims")
        results["claims"] = await run_claims(servers[0], servers, cookies, plan.claims)
        results["correctness"]["double_assignments"] = results["claims"]["double_assignments"]
    finally:
        relay.stop()
        for server in servers:
            server.stop()


async def bare_memory_phase(bench: Bench, results: dict[str, Any]) -> None:
    plan = bench.plan
    bench.phase("bare relay: idle connections")
    await bench.redis.flushall()
    relay = proc.bare_relay(
        port=proc.free_port(), redis_url=bench.redis_url, log_dir=bench.tmp, base_env=bench.base_env
    )
    relay.start()
    try:
        await relay.wait_ready()
        results["memory"]["bare"] = await bench.idle_memory(relay, "bare", plan.bare_memory_points)
    finally:
        relay.kill()


async def nexus_capacity_phases(bench: Bench, results: dict[str, Any], staff: Path) -> None:
    plan = bench.plan
    bench.phase("nexus: idle connections")
    (server,) = await bench.fresh_servers(1, staff)
    try:
        with profiled(server.pid, bench.profile_path("nexus-idle-connections")):
            results["memory"]["nexus"] = await bench.idle_memory(
                server, "nexus", plan.memory_points
            )
    finally:
        server.kill()
    if plan.uncompressed_memory_points:
        bench.phase("nexus: idle connections without permessage-deflate")
        (server,) = await bench.fresh_servers(1, staff)
        try:
            results["memory"]["nexus_uncompressed"] = await bench.idle_memory(
                server, "nexus", plan.uncompressed_memory_points, compression=False
            )
        finally:
            server.kill()
    bench.phase("nexus: kill -9 and resume")
    (server,) = await bench.fresh_servers(1, staff)
    try:
        with profiled(server.pid, bench.profile_path("nexus-reconnect")):
            results["reconnect"] = await run_reconnect(
                server,
                plan.reconnect_visitors,
                concurrency=plan.connect_concurrency,
                timeout_s=plan.reconnect_timeout_s,
            )
        results["correctness"]["replayed_duplicates"] = results["reconnect"]["replayed_duplicates"]
    finally:
        server.stop()


async def sealing_phase(bench: Bench, results: dict[str, Any]) -> None:
    """The cost of sealing chat text, timed in this process (bench/sealing_cost.py)."""
    bench.phase("sealing: seal and open a message text")
    results["sealing"] = measure_sealing(bench.plan.sealing_rounds)


async def spike_phase(bench: Bench, results: dict[str, Any], staff: Path, password: str) -> None:
    """The media spike on two fresh instances (chat_server/bench/spike.py)."""
    plan = bench.plan
    bench.phase(
        f"nexus: media spike, {plan.spike_visitors} visitors in {plan.spike_arrival_s:g} s "
        f"on 2 instances, {plan.spike_takers} counsellors taking"
    )
    servers = await bench.fresh_servers(2, staff, SPIKE_ENV)
    try:
        consoles = plan.spike_takers + plan.spike_watchers
        cookies = list(
            await asyncio.gather(
                *(login(servers[0].url, f"bench-bot-{i}", password) for i in range(consoles))
            )
        )
        boss = await login(servers[0].url, SUPERVISOR, password)
        results["spike"] = await run_spike(plan, servers, bench.redis, cookies, boss)
    finally:
        for server in servers:
            server.kill()


async def flood_phase(bench: Bench, results: dict[str, Any], staff: Path) -> None:
    """A flood of starts against flood control on a fresh instance (chat_server/bench/flood.py)."""
    flood = QUICK_FLOOD if bench.plan.quick else FULL_FLOOD
    bench.phase(
        f"nexus: a flood of starts, {flood.bot_connections} bot connections for "
        f"{flood.seconds:g} s, flood control at {flood.rate_per_min}/min"
    )
    env = {"NEXUS_FLOOD_STARTS_PER_MIN": str(flood.rate_per_min)}
    (server,) = await bench.fresh_servers(1, staff, env)
    try:
        results["flood"] = await run_flood(
            server, flood.seconds, flood.bot_connections, flood.real_visitors, flood.rate_per_min
        )
    finally:
        server.kill()


async def run_bench(
    plan: BenchPlan,
    *,
    server_src: Path | None = None,
    profile_dir: Path | None = None,
    only: tuple[str, ...] = PHASES,
) -> dict[str, Any]:
    """Run the phases of ``plan`` named in ``only`` (all by default); returns the results
    (the JSON document)."""
    fd_limit = proc.raise_fd_limit()
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEXUS_") and k not in ("REDIS_URL", "PYTHONPATH")
    }
    started = time.monotonic()
    load_1min, nproc = os.getloadavg()[0], len(os.sched_getaffinity(0))
    if load_1min > BUSY_LOAD_PER_CORE * nproc:
        print(
            f"warning: load average {load_1min:.1f} on {nproc} cores: other work will colour "
            "the latency figures (each step reports the CPU other processes used)",
            flush=True,
        )
    with (
        tempfile.TemporaryDirectory(prefix="nexus-bench-") as tmp,
        EmbeddedRedis(port=proc.free_port()) as redis_server,
    ):
        redis = Redis(port=redis_server.port, decode_responses=True)
        bench = Bench(
            plan, Path(tmp), redis_server, redis, base_env, server_src, profile_dir, started
        )
        info: dict[str, Any] = await redis.info("server")
        results: dict[str, Any] = {
            "meta": {
                "quick": plan.quick,
                "instances": plan.instances,
                "machine": machine_info(str(info["redis_version"])),
                "git": git_state(REPO_DIR),
                "server_src": str(server_src) if server_src else None,
                "fd_limit": fd_limit,
            },
            "plan": plan.as_dict(),
            "latency": {},
            "redis": {},
            "memory": {},
            "correctness": {},
            "errors": [],
        }
        staff = Path(tmp) / "staff.json"
        password = write_bot_staff(staff, plan.bots, plan.bot_capacity)
        try:
            # A phase that fails is recorded and the next one still runs: a partial result
            # says more than none (and the exit status says it is partial).
            phases = {
                "sealing": functools.partial(sealing_phase, bench, results),
                "latency": functools.partial(latency_phases, bench, results, staff, password),
                "bare-memory": functools.partial(bare_memory_phase, bench, results),
                "capacity": functools.partial(nexus_capacity_phases, bench, results, staff),
                "spike": functools.partial(spike_phase, bench, results, staff, password),
                "flood": functools.partial(flood_phase, bench, results, staff),
            }
            for phase in (phases[name] for name in PHASES if name in only):
                try:
                    await phase()
                except Exception as error:
                    traceback.print_exc()
                    results["errors"].append(
                        {"phase": phase.func.__name__, "error": f"{type(error).__name__}: {error}"}
                    )
        finally:
            await redis.aclose()
    results["meta"]["duration_s"] = round(time.monotonic() - started)
    results["meta"]["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    try:
        results["ratios"] = ratios(results, plan.fixed_rates_per_s)
        results["targets"] = targets(results, max(plan.fixed_rates_per_s))
    except (KeyError, IndexError, TypeError) as missing:
        results["errors"].append({"phase": "summary", "error": f"missing figure: {missing}"})
    if profile_dir:
        results["profiles"] = {
            name: hot_spots(profile_dir / f"{name}.txt") for name in PROFILED_PHASES
        }
    return results
