"""The benchmark harness works: its bookkeeping is right and ``--quick`` runs end to end.

Only correctness is asserted here (nothing lost, repeated or double-assigned; every figure
present). Latency and memory figures depend on the machine and are never asserted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from chat_server.bench.latency import RateSearch
from chat_server.bench.plan import BenchPlan
from chat_server.bench.redis_cost import RoundTrips
from chat_server.bench.tally import (
    COUNSELLOR_TO_VISITOR,
    VISITOR_TO_COUNSELLOR,
    Ledger,
    SeqCheck,
    latency_summary,
    message_text,
    parse_message_id,
)

QUICK_TIMEOUT_S = 240
TOP_LEVEL_KEYS = {
    "meta",
    "plan",
    "latency",
    "redis",
    "memory",
    "claims",
    "reconnect",
    "correctness",
    "ratios",
    "targets",
    "spike",
    "flood",
}
DIRECTIONS = ("visitor_to_counsellor", "counsellor_to_visitor", "both")


def test_a_message_that_never_arrived_makes_p99_infinite() -> None:
    """Two missing messages in a hundred put p99 at infinity, so losses cannot look fast."""
    summary = latency_summary([1_000_000] * 98, missing=2)
    assert summary["p50_ms"] == 1.0
    assert math.isinf(summary["p99_ms"])


def test_ledger_counts_losses_duplicates_and_foreign_arrivals() -> None:
    """Acked but never delivered is lost; a second arrival is a duplicate; a wrong-way
    arrival is foreign and delivers nothing."""
    ledger = Ledger()
    delivered = ledger.new_message(VISITOR_TO_COUNSELLOR, due_ns=0)
    lost = ledger.new_message(COUNSELLOR_TO_VISITOR, due_ns=0)
    refused = ledger.new_message(VISITOR_TO_COUNSELLOR, due_ns=0)
    ledger.ack(delivered)
    ledger.ack(lost)
    ledger.arrived(delivered, VISITOR_TO_COUNSELLOR, now_ns=5)
    ledger.arrived(delivered, VISITOR_TO_COUNSELLOR, now_ns=6)
    ledger.arrived(lost, VISITOR_TO_COUNSELLOR, now_ns=7)
    assert ledger.duplicated() == 1
    assert ledger.foreign_frames == 1
    assert ledger.lost(require_ack=True) == 1
    assert ledger.lost(require_ack=False) == 2
    assert refused == 2 and ledger.outstanding(0, 3) == 2


def test_message_text_carries_its_id() -> None:
    """The id written into a benchmark line is read back; other lines have none."""
    assert parse_message_id(message_text(4711, 123)) == 4711
    assert parse_message_id("pair:3") is None


def test_seq_check_finds_gaps_and_repeats() -> None:
    """Per connection and chat, a skipped seq is a gap and an old seq a repeat."""
    check = SeqCheck()
    for seq in (1, 2, 4, 4, 3):
        check.see(0, "chat", seq)
    check.see(1, "chat", 1)
    assert (check.gaps, check.repeats) == (1, 2)


def test_rate_search_doubles_then_bisects() -> None:
    """Good steps double the rate; after the first bad one it bisects on a 50 msg/s grid."""
    search = RateSearch(BenchPlan(search_start_per_s=500, search_refinements=2))
    tried = []
    while search.rate:
        tried.append(search.rate)
        ok = search.rate <= 1300
        search.record(
            {
                "rate_per_s": search.rate,
                "within_budget": ok,
                "drained": True,
                "both": {"p99_ms": 1.0},
            }
        )
    assert tried == [500, 1000, 2000, 1500, 1250]
    assert search.result()["max_rate_per_s"] == 1250


def test_round_trips_count_a_transaction_once_and_skip_script_commands() -> None:
    """MULTI…EXEC is one round trip, EVALSHA one, and the commands a script runs none; each
    is put down to the named client that sent it."""
    seen = RoundTrips()
    for port, kind, command in [
        ("1", "tcp", "MULTI"),
        ("1", "tcp", "HSET k f v"),
        ("1", "tcp", "EXPIRE k 1"),
        ("1", "tcp", "EXEC"),
        ("1", "tcp", "EVALSHA abc 1 k"),
        ("", "lua", "XADD s * a b"),
        ("", "lua", "PUBLISH c m"),
        ("2", "tcp", "PUBLISH c m"),
    ]:
        seen.see(
            {
                "time": 0.0,
                "db": 0,
                "client_address": "127.0.0.1",
                "client_port": port,
                "client_type": kind,
                "command": command,
            }
        )
    seen.names = {"127.0.0.1:1": "nexus-chat", "127.0.0.1:2": "bare-relay"}
    assert seen.per_message(2, "nexus") == {"evalsha": 0.5, "multi/exec": 0.5, "total": 1.0}
    assert seen.script_commands_per_message(1, "nexus") == {
        "publish": 1.0,
        "xadd": 1.0,
        "total": 2.0,
    }
    assert seen.per_message(1, "bare") == {"publish": 1.0, "total": 1.0}


@pytest.mark.slow
def test_quick_benchmark_runs_and_finds_no_delivery_fault(tmp_path: Path) -> None:
    """`python -m chat_server.bench --quick` prints the table and writes every figure, and
    nothing is lost, repeated or assigned twice."""
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "chat_server.bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=QUICK_TIMEOUT_S,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Targets:" in run.stdout
    results = json.loads(out.read_text())
    assert results.keys() >= TOP_LEVEL_KEYS
    for target in ("nexus", "bare"):
        latency = results["latency"][target]
        assert [s["rate_per_s"] for s in latency["fixed"]] == [200, 1000]
        for step in latency["fixed"]:
            for direction in DIRECTIONS:
                assert {"p50_ms", "p95_ms", "p99_ms"} <= step[direction].keys()
        assert "max_rate_per_s" in latency["search"]
        assert "total" in results["redis"][target]["round_trips_per_message"]
        assert "total" in results["redis"][target]["commands_per_message"]
    for target in ("nexus", "bare"):
        point = results["memory"][target]["points"][0]
        assert {"server_kib_per_connection", "redis_kib_per_connection"} <= point.keys()
    correctness = results["correctness"]
    for fault in (
        "lost",
        "duplicated",
        "double_assignments",
        "seq_gaps",
        "seq_repeats",
        "replayed_duplicates",
        "unexpected_closes",
    ):
        assert correctness[fault] == 0, (fault, correctness)
    assert results["claims"]["first_waiting"]["taken"] == results["claims"]["concurrent_claims"]
    reconnect = results["reconnect"]
    assert reconnect["resumed"] == reconnect["visitors"], reconnect
    spike = results["spike"]
    assert spike["visitors"] == results["plan"]["spike_visitors"]
    assert (spike["lost"], spike["disconnected"], spike["refusals"]) == (0, 0, {}), spike
    assert spike["takes"] > 0 and spike["position_staleness"]["pairs"] > 0, spike
    assert [p["waiting"] for p in spike["plateaus"]] and "Media spike:" in run.stdout
    assert results["sealing"]["seal_us"] > 0 and "Sealing (" in run.stdout
    flood = results["flood"]  # rates and times are machine-bound: only that it worked
    assert flood["configured_per_min"] == 20 and flood["bits_reached"] >= 10, flood
    assert len(flood["real_visitors"]) == 2 and flood["bot_failures"] == 0, flood
    assert "Flood:" in run.stdout and "real visitors to the queue" in run.stdout
