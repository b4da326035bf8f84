"""The media spike: thousands of visitors arrive within a minute while counsellors take chats.

Two instances share Redis. Visitors arrive at a fixed rate, alternating between the instances,
and wait; ``spike_takers`` counsellor consoles (half on each instance) take the head of the
queue at a fixed total rate all along; ``spike_watchers`` more consoles (paused, so routing
offers them nothing) and one supervisor's live view only watch. At each plateau (100, 1,000
and 5,000 waiting in the full plan) arrivals pause for ``spike_plateau_s`` while takes go on,
and the Redis commands, bytes written and server CPU per queue change are read, with the bytes
each console and the supervisor receive and how long their view lags a take.

Every visitor's ``queue`` frames are stamped on arrival; afterwards ``spike_figures`` matches
them against the takes (how stale a visitor's shown place got). Nobody may be lost: every
visitor gets a place, and none is disconnected.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from websockets.exceptions import InvalidHandshake

from . import processes as proc
from .plan import BenchPlan
from .spike_figures import Take, VisitorTrace, per_change, percentile, staleness_ms
from .spike_figures import view_freshness_ms as freshness
from .wsclient import Conn, Frame, open_conn, wait_for

SETUP_TIMEOUT_S = 60.0
DRAIN_S = 2.0  # after the last take: an update later than this counts as never shown
SPIKE_ENV = {
    # Bench takers ignore routing's offers; a short offer timeout would pause them.
    "NEXUS_OFFER_TIMEOUT_S": "3600",
}


@dataclass
class View:
    """A console or supervisor view: bytes received and (arrival ns, waiting) per frame."""

    conn: Conn | None = None
    waiting: list[tuple[int, int]] = field(default_factory=list)

    def on_frame(self, kind: str, frame: Frame, now_ns: int) -> None:
        if frame.get("type") == kind and "waiting" in frame:
            self.waiting.append((now_ns, int(frame["waiting"])))


@dataclass
class Spike:
    plan: BenchPlan
    servers: list[proc.Child]
    redis: Redis
    visitors: list[VisitorTrace] = field(default_factory=list)
    conns: list[Conn] = field(default_factory=list)
    takes: list[Take] = field(default_factory=list)
    take_errors: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    takers: list[Conn] = field(default_factory=list)
    watchers: list[View] = field(default_factory=list)
    supervisor: View = field(default_factory=View)
    cpu_samples: list[list[float]] = field(default_factory=list)
    windows: list[tuple[list[Take], int, int]] = field(default_factory=list)
    """Per plateau: its takes, the waiting total before them, and when it began (ns)."""

    def on_visitor_frame(self, trace: VisitorTrace, frame: Frame, now_ns: int) -> None:
        kind = frame.get("type")
        if kind == "queue":
            trace.shown.append((now_ns, int(frame["position"])))
        elif kind == "welcome":
            trace.alias = str(frame.get("alias", ""))
        elif kind == "state" and trace.taken_ns is None:
            trace.taken_ns = now_ns

    async def open_visitor(self, index: int) -> None:
        server = self.servers[index % len(self.servers)]
        trace = VisitorTrace()
        self.visitors.append(trace)
        try:
            conn = await open_conn(
                f"{server.ws_url}/ws/visitor",
                server.url,
                on_frame=functools.partial(self.on_visitor_frame, trace),
            )
        except (OSError, InvalidHandshake, TimeoutError) as error:
            self.refusals[type(error).__name__] += 1
            return
        self.conns.append(conn)
        # A visitor taken at once (the queue was empty: the takers outran the arrivals) gets
        # ``state`` and never a place: that is no reason to wait a minute.
        placed = conn.waiter(("queue", "error", "state"))
        await conn.send({"type": "start", "language": "sv", "topic": "violence_close"})
        try:
            frame = await wait_for(placed, SETUP_TIMEOUT_S)
        except (TimeoutError, ConnectionError) as error:
            self.refusals[type(error).__name__] += 1  # no place within a minute: lost
            return
        if frame["type"] == "error":
            self.refusals[str(frame.get("code"))] += 1

    async def arrive(self, first: int, last: int, per_s: float) -> None:
        """Visitors ``first``..``last - 1`` at ``per_s`` a second (open loop); returns when
        every one of them has been shown a place."""
        started = time.monotonic()
        tasks = []
        for i in range(first, last):
            due = started + (i - first) / per_s
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            tasks.append(asyncio.create_task(self.open_visitor(i)))
        await asyncio.gather(*tasks)

    async def take_loop(self, stop: asyncio.Event) -> None:
        """One take every 1/rate s, round robin over the takers (open loop)."""
        interval = 1 / self.plan.spike_take_per_s
        started, n = time.monotonic(), 0
        pending: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            taker = self.takers[n % len(self.takers)]
            task = asyncio.create_task(self.take(taker))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
            await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))
        await asyncio.gather(*pending)

    async def take(self, taker: Conn) -> None:
        answer = taker.waiter(("chat_opened", "error"))
        sent_ns = time.monotonic_ns()
        await taker.send({"type": "take"})
        frame = await wait_for(answer, SETUP_TIMEOUT_S)
        if frame["type"] == "error":
            self.take_errors[str(frame.get("code"))] += 1
            return
        self.takes.append(Take(sent_ns, time.monotonic_ns(), str(frame.get("alias", ""))))

    async def sample_cpu(self, stop: asyncio.Event) -> None:
        """Each server's share of a core, every second."""
        last = [proc.cpu_seconds(s.pid) for s in self.servers]
        while not stop.is_set():
            with_timeout = asyncio.create_task(stop.wait())
            await asyncio.wait([with_timeout], timeout=1.0)
            with_timeout.cancel()
            now = [proc.cpu_seconds(s.pid) for s in self.servers]
            self.cpu_samples.append([b - a for a, b in zip(last, now, strict=True)])
            last = now

    async def plateau(self, waiting_hint: int) -> dict[str, Any]:
        """Arrivals paused: what one queue change (a take) costs at this queue length."""
        pids = [s.pid for s in self.servers]
        takes_before = len(self.takes)
        calls_before = await self.calls_by_command()
        cpu_before = [proc.cpu_seconds(pid) for pid in pids]
        views_before = [view_bytes(v) for v in self.all_views()]
        frames_before = sum(c.frames for c in self.conns)
        sent_before = self.bytes_sent()
        t0 = time.monotonic_ns()
        await asyncio.sleep(self.plan.spike_plateau_s)
        t1 = time.monotonic_ns()
        window = [t for t in self.takes[takes_before:] if t.opened_ns <= t1]
        changes = len(window)
        seconds = (t1 - t0) / 1e9
        cpu = [proc.cpu_seconds(pid) - b for pid, b in zip(pids, cpu_before, strict=True)]
        sent = self.bytes_sent() - sent_before
        views = [view_bytes(v) - b for v, b in zip(self.all_views(), views_before, strict=True)]
        waiting0 = len(self.visitors) - takes_before
        self.windows.append((window, waiting0, t0))
        calls = await self.calls_by_command()
        calls.subtract(calls_before)
        return {
            "waiting": waiting_hint,
            "queue_changes": changes,
            "redis_commands_per_change": round(per_change(calls.total(), changes), 1),
            "redis_commands_by_name_per_change": {
                name: round(per_change(n, changes), 1) for name, n in calls.most_common() if n > 0
            },
            "bytes_sent_per_change": round(per_change(sent, changes), 1),
            "server_cpu_ms_per_change": round(per_change(sum(cpu) * 1000, changes), 2),
            "server_core_share": [round(c / seconds, 2) for c in cpu],
            "visitor_frames_per_change": round(
                per_change(sum(c.frames for c in self.conns) - frames_before, changes), 1
            ),
            "console_bytes_per_s": round(percentile(views[:-1], 0.5) / seconds),
            "supervisor_bytes_per_s": round(views[-1] / seconds),
        }

    def view_lag(
        self, window: list[Take], waiting0: int, since_ns: int
    ) -> dict[str, dict[str, float]]:
        """How long after each take in ``window`` the views showed it (only frames since
        ``since_ns``: before the plateau, totals were still growing)."""
        changes = [(t.opened_ns, waiting0 - j - 1) for j, t in enumerate(window)]

        def lags(view: View) -> list[float]:
            return freshness([f for f in view.waiting if f[0] >= since_ns], changes)

        consoles = [d for v in self.watchers for d in lags(v)]
        return {"consoles": summary(consoles), "supervisor": summary(lags(self.supervisor))}

    def bytes_sent(self) -> int:
        """WebSocket payload bytes the servers sent to every client of this phase."""
        views = sum(view_bytes(v) for v in self.all_views())
        return views + sum(c.bytes_received for c in [*self.conns, *self.takers])

    def all_views(self) -> list[View]:
        return [*self.watchers, self.supervisor]

    async def total_calls(self) -> int:
        return sum((await self.calls_by_command()).values())

    async def calls_by_command(self) -> Counter[str]:
        """Redis calls so far per command (those inside scripts included)."""
        stats: dict[str, Any] = await self.redis.info("commandstats")
        return Counter(
            {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
        )


def view_bytes(view: View) -> int:
    return view.conn.bytes_received if view.conn else 0


def summary(delays: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(delays, 0.5), 1),
        "p99": round(percentile(delays, 0.99), 1),
        "max": round(max(delays), 1) if delays else float("nan"),
    }


async def open_console(server: proc.Child, cookie: str, presence: str, view: View | None) -> Conn:
    handler = functools.partial(view.on_frame, "queue") if view else None
    conn = await open_conn(
        f"{server.ws_url}/ws/console", server.url, cookie=cookie, on_frame=handler
    )
    hello = conn.waiter("hello")
    await conn.send({"type": "hello", "presence": presence})
    await wait_for(hello, SETUP_TIMEOUT_S)
    if view:
        view.conn = conn
    return conn


async def run_spike(
    plan: BenchPlan, servers: list[proc.Child], redis: Redis, cookies: list[str], boss: str
) -> dict[str, Any]:
    """The spike on ``servers`` (fresh, sharing ``redis``); ``cookies`` sign in takers and
    watchers (one account each), ``boss`` the supervisor."""
    spike = Spike(plan, servers, redis)
    takers, watchers = plan.spike_takers, plan.spike_watchers
    for i in range(takers):
        spike.takers.append(await open_console(servers[i % 2], cookies[i], "available", None))
    for i in range(watchers):
        view = View()
        await open_console(servers[i % 2], cookies[takers + i], "paused", view)
        spike.watchers.append(view)
    spike.supervisor.conn = await open_conn(
        f"{servers[0].ws_url}/ws/supervisor",
        servers[0].url,
        cookie=boss,
        on_frame=functools.partial(spike.supervisor.on_frame, "live"),
    )
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(spike.take_loop(stop)),
        asyncio.create_task(spike.sample_cpu(stop)),
    ]
    per_s = plan.spike_visitors / plan.spike_arrival_s
    plateaus: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        arrived = 0
        for point in plan.spike_plateaus:
            await spike.arrive(arrived, point, per_s)
            arrived = point
            plateaus.append(await spike.plateau(point - len(spike.takes)))
        arrival_s = time.monotonic() - started - plan.spike_plateau_s * len(plateaus)
    finally:
        stop.set()
        await asyncio.gather(*loops)
    await asyncio.sleep(DRAIN_S)  # the last takes' updates are still on their way
    for figures, (window, waiting0, t0) in zip(plateaus, spike.windows, strict=True):
        lag = spike.view_lag(window, waiting0, t0)
        figures["console_view_lag_ms"] = lag["consoles"]
        figures["supervisor_view_lag_ms"] = lag["supervisor"]
    lost = sum(1 for t in spike.visitors if not t.shown and t.taken_ns is None)
    dropped = sum(1 for c in spike.conns if not c.open)
    shares = spike.cpu_samples or [[0.0, 0.0]]
    result = {
        "visitors": len(spike.visitors),
        "arrival_s": round(arrival_s, 1),
        "takes": len(spike.takes),
        "take_errors": dict(spike.take_errors),
        "refusals": dict(spike.refusals),
        "lost": lost,
        "disconnected": dropped,
        "position_staleness": staleness_ms(spike.visitors, spike.takes),
        "server_core_share_max": [round(max(s[i] for s in shares), 2) for i in range(2)],
        "server_core_share_mean": [
            round(sum(s[i] for s in shares) / len(shares), 2) for i in range(2)
        ],
        "plateaus": plateaus,
    }
    await asyncio.gather(*(c.abort() for c in spike.conns))
    for conn in [*spike.takers, *(v.conn for v in spike.all_views() if v.conn)]:
        await conn.abort()
    return result
