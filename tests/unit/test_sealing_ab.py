"""The instruction-count A/B's own parts: sides, hiding hiredis, reading a dump's total."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chat_server.bench.sealing_ab import Side, total_instructions

REPO = Path(__file__).resolve().parents[2]


def test_a_side_names_a_checkout_extra_paths_and_whether_hiredis_is_hidden() -> None:
    """``label=src[,path...][,-hiredis]``, paths resolved."""
    side = Side.parse(f"new={REPO},/tmp/lib,-hiredis")
    assert (side.label, side.src, side.extra_paths) == ("new", REPO, (Path("/tmp/lib"),))
    assert side.without_hiredis
    assert not Side.parse(f"old={REPO}").without_hiredis


@pytest.mark.parametrize("text", ["no-equals", "=.", "x=", "x=/nonexistent-checkout"])
def test_a_bad_side_is_refused(text: str) -> None:
    """No label, no checkout, or a directory without a chat_server package."""
    with pytest.raises(argparse.ArgumentTypeError):
        Side.parse(text)


def test_hidden_hiredis_leaves_redis_py_with_its_own_parser(tmp_path: Path) -> None:
    """The server's import path for ``-hiredis`` makes redis-py find no hiredis."""
    path = Side.parse(f"x={REPO},-hiredis").python_path(tmp_path)
    probe = "import redis.utils as u; print(u.HIREDIS_AVAILABLE)"
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_the_total_comes_from_the_dumps_summary_line(tmp_path: Path) -> None:
    """callgrind writes ``summary:`` (or ``totals:``) with the instruction count."""
    dump = tmp_path / "callgrind.out.1"
    dump.write_text("version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=main\n5 7\n")
    with pytest.raises(RuntimeError):
        total_instructions(dump)
    dump.write_text(dump.read_text() + "summary: 123456789\n")
    assert total_instructions(dump) == 123456789
