"""The processes under test: server instances and the bare relay as children, and Redis.

Servers run as real subprocesses (``python -m chat_server serve``), so their memory can be
read from ``/proc/<pid>/status`` and they can be killed with SIGKILL. Their output goes to a
log file in the benchmark's private temp directory (shown if a child fails to start).
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from ..crypto import generate_key

READY_TIMEOUT_S = 30.0
BENCH_MESSAGE_KEY = generate_key()  # one key for every instance of this bench run
LOG_TAIL_CHARS = 2000
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; children inherit it.

    Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


@dataclass(frozen=True, slots=True)
class MachineCpu:
    """CPU seconds the whole machine has used so far (all cores), from ``/proc/stat``."""

    busy: float  # everything but idle and iowait, the three below included
    interrupts: float  # irq + softirq: mostly the kernel moving our own loopback packets
    steal: float  # taken by the hypervisor for other virtual machines on the same host

    @classmethod
    def now(cls) -> MachineCpu:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
        return cls(
            busy=(user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_S,
            interrupts=(irq + softirq) / CLOCK_TICKS_PER_S,
            steal=steal / CLOCK_TICKS_PER_S,
        )


class CpuMeter:
    """CPU used by some processes between ``start()`` and ``stop()``, and by everything else
    on the machine (other people's work on a shared machine is the main source of noise)."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self.pids = dict(pids)
        self._started: dict[str, float] = {}
        self._machine_started = MachineCpu(0.0, 0.0, 0.0)
        self._wall_started = 0.0

    def start(self) -> None:
        self._wall_started = time.monotonic()
        self._machine_started = MachineCpu.now()
        self._started = {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def stop(self, messages: int) -> dict[str, dict[str, float]]:
        """Per process: CPU microseconds per message and the share of one core used."""
        wall_s = max(1e-9, time.monotonic() - self._wall_started)
        out = {}
        ours_s = 0.0
        for name, pid in self.pids.items():
            used_s = cpu_seconds(pid) - self._started[name]
            ours_s += used_s
            out[name] = {
                "cpu_us_per_message": round(used_s * 1e6 / max(1, messages), 1),
                "core_share": round(used_s / wall_s, 2),
            }
        machine, started = MachineCpu.now(), self._machine_started
        interrupts_s = machine.interrupts - started.interrupts
        steal_s = machine.steal - started.steal
        others_s = max(0.0, machine.busy - started.busy - ours_s - interrupts_s - steal_s)
        out["other_processes"] = {"core_share": round(others_s / wall_s, 2)}
        out["interrupts"] = {"core_share": round(interrupts_s / wall_s, 2)}
        out["steal"] = {"core_share": round(steal_s / wall_s, 2)}
        return out


def fd_limit_of(pid: int) -> int:
    """The soft 'Max open files' limit of ``pid``."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    return 0


class Child:
    """A server process on 127.0.0.1:``port`` that answers ``GET /healthz`` when ready."""

    def __init__(
        self, name: str, argv: list[str], env: Mapping[str, str], port: int, log_dir: Path
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.port = port
        self.log_dir = log_dir
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            # cwd: a neutral directory, so ``-m`` does not import from wherever we were started.
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.log_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Poll ``/readyz`` (or ``/healthz`` where there is none) until it answers 200;
        returns the seconds it took."""
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=1.0)
        probe = "/readyz"
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while time.monotonic() - started < timeout_s:
                if self.proc is None or self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
                try:
                    async with http.get(f"{self.url}{probe}") as response:
                        if response.status == 200:
                            return time.monotonic() - started
                        if response.status == 404:
                            probe = "/healthz"
                            continue
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.02)
        raise RuntimeError(f"{self.name} not ready after {timeout_s} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait(10)  # reaped, so no zombie is left behind

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def nexus_server(
    name: str,
    *,
    port: int,
    redis_url: str,
    staff_file: Path,
    origins: list[str],
    log_dir: Path,
    base_env: Mapping[str, str],
    server_src: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Child:
    """One ``python -m chat_server serve`` instance with limits opened up for load: each bench
    visitor sends many messages per second, which the default per-visitor limit forbids.
    With ``server_src``, the ``chat_server`` package of that checkout runs instead of ours."""
    env = {
        **base_env,
        "REDIS_URL": redis_url,
        "NEXUS_MESSAGE_KEY": BENCH_MESSAGE_KEY,
        "NEXUS_HOST": "127.0.0.1",
        "NEXUS_PORT": str(port),
        "NEXUS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "NEXUS_ALLOWED_ORIGINS": ",".join(origins),
        "NEXUS_STAFF_FILE": str(staff_file),
        "NEXUS_DATA_DIR": str(staff_file.parent),
        "NEXUS_VISITOR_MSGS_PER_S": "100000",
        "NEXUS_VISITOR_MSG_BURST": "100000",
        "NEXUS_HELLO_TIMEOUT_S": "60",
        "NEXUS_LOG_LEVEL": "WARNING",
        # Flood control off (every phase starts many chats) unless the phase asks for it
        "NEXUS_FLOOD_STARTS_PER_MIN": base_env.get("NEXUS_FLOOD_STARTS_PER_MIN", "0"),
        **(extra_env or {}),
    }
    if server_src is not None:
        env["PYTHONPATH"] = str(server_src.resolve())
    return Child(name, [sys.executable, "-m", "chat_server", "serve"], env, port, log_dir)


def bare_relay(*, port: int, redis_url: str, log_dir: Path, base_env: Mapping[str, str]) -> Child:
    argv = [sys.executable, "-m", "chat_server.bench.bare_relay"]
    argv += ["--port", str(port), "--redis-url", redis_url]
    return Child("bare-relay", argv, base_env, port, log_dir)
