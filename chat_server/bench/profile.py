"""Optional py-spy profiles of a server process while a phase runs (``--profile DIR``).

py-spy is not a dependency: ``pip install py-spy``. Profiles are written as collapsed stacks
(``-f raw``: one ``frame;frame;frame count`` line per stack), which flamegraph tools read and
which ``hot_spots`` summarises for the JSON results.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

SAMPLES_PER_S = 100
STOP_TIMEOUT_S = 20.0


def py_spy() -> str | None:
    """The py-spy binary next to this Python, else on PATH, else None."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def profiled(pid: int, out: Path | None) -> Iterator[None]:
    """Sample ``pid`` into ``out`` while the block runs (nothing if ``out`` is None or py-spy
    is missing). ``--nonblocking`` samples without pausing the server, so it barely slows it."""
    binary = py_spy()
    if out is None or binary is None:
        yield
        return
    args = [binary, "record", "-p", str(pid), "-f", "raw", "-o", str(out)]
    args += ["-r", str(SAMPLES_PER_S), "--nonblocking"]
    spy = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
        try:
            spy.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def hot_spots(collapsed: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """The functions with the most samples in a collapsed-stack file: ``self`` (the sample's
    innermost frame) and ``inclusive`` (anywhere on the stack), as shares of all samples."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    if not collapsed.exists():
        return {"self": [], "inclusive": []}
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    share = 1 / max(1, total)
    return {
        "self": [(f, round(n * share, 3)) for f, n in own.most_common(top)],
        "inclusive": [(f, round(n * share, 3)) for f, n in anywhere.most_common(top * 3)],
    }


def _short(frame: str) -> str:
    """``func (path/to/module.py:123)`` → ``func (module.py)``: lines vary, functions do not."""
    name, _, where = frame.partition(" (")
    module = where.rstrip(")").rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({module})" if module else name
