"""The benchmark's flood phase runs end to end (`python -m chat_server.bench.flood --quick`).

Only that it works is asserted (the difficulty rose, real visitors got in, every figure is
there); the rates and times depend on the machine and are printed, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

QUICK_TIMEOUT_S = 120


@pytest.mark.slow
def test_quick_flood_phase_raises_the_difficulty_and_lets_real_visitors_in(
    tmp_path: Path,
) -> None:
    """Bots flood a server at 20 starts/min: challenges appear, both real visitors reach the
    queue, and the table and JSON carry every figure."""
    out = tmp_path / "flood.json"
    run = subprocess.run(
        [sys.executable, "-m", "chat_server.bench.flood", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=QUICK_TIMEOUT_S,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Flood:" in run.stdout and "real visitors to the queue" in run.stdout
    figures = json.loads(out.read_text())
    assert figures["configured_per_min"] == 20
    assert figures["bits_reached"] >= 10 and figures["admitted_per_min"] > 0
    assert len(figures["real_visitors"]) == 2
    for visitor in figures["real_visitors"]:
        assert {"to_queue_s", "solve_s", "bits", "phone_solve_s_estimate"} <= visitor.keys()
    assert figures["bot_failures"] == 0
