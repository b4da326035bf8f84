"""What one benchmark run does: the full plan (under 5 minutes on 2 cores) and ``--quick``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

P99_BUDGET_MS = 50.0


@dataclass(frozen=True, slots=True)
class BenchPlan:
    quick: bool = False
    instances: int = 1
    # Latency: chats held open between visitors and counsellor bots while the load runs.
    chats: int = 200
    # Counsellor accounts, each signed in once: one per console connection and per claiming
    # console (at least max(consoles, claims)), since every console of one account follows
    # the chats any of them takes.
    bots: int = 100
    consoles: int = 40  # console connections, one account each, holding chats/consoles
    bot_capacity: int = 60
    fixed_rates_per_s: tuple[int, ...] = (200, 1000)
    fixed_duration_s: float = 3.0
    fixed_repeats: int = 5  # in alternating order; the median repetition is reported
    warmup_s: float = 1.0
    search_start_per_s: int = 1000  # the search starts from the highest fixed step
    search_max_per_s: int = 8000
    search_step_s: float = 3.0
    search_refinements: int = 2
    drain_timeout_s: float = 5.0
    # Redis cost: a MONITOR window at this rate (MONITOR itself slows Redis down, so it runs
    # apart from the latency figures).
    monitor_rate_per_s: int = 200
    monitor_window_s: float = 2.0
    # Memory: idle visitor connections, measured cumulatively at each point.
    memory_points: tuple[int, ...] = (1000, 5000, 10000)
    bare_memory_points: tuple[int, ...] = (1000, 5000)
    # The server no longer negotiates permessage-deflate, so this phase (a client that does
    # not offer it) only matters for A/B runs against older code (--server-src): off by default.
    uncompressed_memory_points: tuple[int, ...] = ()
    connect_concurrency: int = 100
    memory_settle_s: float = 2.0
    max_ramp_s: float = 120.0
    run_budget_s: float = 280.0  # memory points that would end later are skipped
    # Claims: this many consoles press "take" at once.
    claims: int = 100
    # Restart: visitors that resume after the server is killed.
    reconnect_visitors: int = 1000
    reconnect_timeout_s: float = 60.0
    # The media spike (two instances): visitors arriving within spike_arrival_s, takers
    # taking the queue's head at spike_take_per_s in all, watchers (paused consoles) and one
    # supervisor only watching; arrivals pause for spike_plateau_s at each plateau.
    spike_visitors: int = 5000
    spike_arrival_s: float = 60.0
    spike_takers: int = 20
    spike_take_per_s: float = 2.0
    spike_watchers: int = 80
    spike_plateaus: tuple[int, ...] = (100, 1000, 5000)
    spike_plateau_s: float = 3.0
    # Sealing: seal/open of a message text timed in-process, best of 5 × this many.
    sealing_rounds: int = 20000

    def __post_init__(self) -> None:
        if self.bots < max(self.consoles, self.claims, self.spike_takers + self.spike_watchers):
            raise ValueError("bots must cover every console and every claiming console")
        if not self.spike_plateaus or self.spike_plateaus[-1] != self.spike_visitors:
            raise ValueError("the last spike plateau is the whole spike")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = BenchPlan()


def with_spike_visitors(plan: BenchPlan, visitors: int) -> BenchPlan:
    """``plan`` with a spike of ``visitors`` at the same arrival rate: its plateaus are the
    plan's below ``visitors`` and then ``visitors`` itself (``--spike-visitors``)."""
    if visitors < 1:
        raise ValueError("a spike needs at least one visitor")
    rate_per_s = plan.spike_visitors / plan.spike_arrival_s
    plateaus = (*(n for n in plan.spike_plateaus if n < visitors), visitors)
    return replace(
        plan, spike_visitors=visitors, spike_arrival_s=visitors / rate_per_s,
        spike_plateaus=plateaus,
    )  # fmt: skip


QUICK = replace(
    FULL,
    quick=True,
    chats=40,
    bots=20,
    consoles=8,
    bot_capacity=30,
    fixed_duration_s=2.0,
    fixed_repeats=1,
    warmup_s=0.5,
    search_max_per_s=2000,
    search_step_s=1.0,
    search_refinements=0,
    drain_timeout_s=3.0,
    monitor_window_s=1.0,
    memory_points=(300,),
    bare_memory_points=(300,),
    memory_settle_s=1.0,
    claims=20,
    reconnect_visitors=100,
    reconnect_timeout_s=30.0,
    spike_visitors=300,
    spike_arrival_s=6.0,
    spike_takers=4,
    spike_watchers=6,
    spike_plateaus=(30, 100, 300),
    spike_plateau_s=1.0,
    sealing_rounds=2000,
)
