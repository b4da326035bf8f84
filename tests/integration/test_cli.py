"""The command line as a real subprocess: staff account management, bad settings, demo mode."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chat_server.accounts import StaffDirectory, verify_password
from tests.support.servers import free_port, write_staff

COMMAND_TIMEOUT_S = 20
DEMO_WAIT_S = 20
OLD_PASSWORD = "gammalt lösenord 123"
NEW_PASSWORD = "nytt lösenord för Anna"
PASSWORD_LINE = re.compile(r"password '([^']+)'")


def clean_env(**variables: str) -> dict[str, str]:
    """The test's environment without any NEXUS_* or REDIS_URL leaking in, plus ``variables``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("NEXUS_") and name != "REDIS_URL"
    }
    env.update(variables)
    return env


def run_cli(
    tmp_path: Path, *args: str, stdin: str = "", **variables: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m chat_server ARGS`` with the staff file in ``tmp_path``."""
    env = clean_env(
        NEXUS_STAFF_FILE=str(tmp_path / "staff.json"),
        NEXUS_DATA_DIR=str(tmp_path),
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def staff_json(tmp_path: Path) -> dict[str, dict[str, object]]:
    raw = json.loads((tmp_path / "staff.json").read_text("utf-8"))
    return {account["username"]: account for account in raw["accounts"]}


def test_user_lifecycle(tmp_path: Path) -> None:
    """add, disable, list, enable and set-password change the staff file as they say."""
    added = run_cli(
        tmp_path,
        "user",
        "add",
        "Anna",
        "--password-stdin",
        "--role",
        "supervisor",
        "--name",
        "Anna Lind",
        "--languages",
        "sv,en",
        stdin=OLD_PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "add: Anna done" in added.stdout
    staff_file = tmp_path / "staff.json"
    assert stat.S_IMODE(staff_file.stat().st_mode) == 0o600
    assert OLD_PASSWORD not in staff_file.read_text("utf-8")
    anna = staff_json(tmp_path)["anna"]
    assert (anna["role"], anna["display_name"], anna["languages"]) == (
        "supervisor",
        "Anna Lind",
        ["sv", "en"],
    )
    assert anna["disabled"] is False

    assert run_cli(tmp_path, "user", "disable", "anna").returncode == 0
    assert staff_json(tmp_path)["anna"]["disabled"] is True
    listed = run_cli(tmp_path, "user", "list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        "anna\tsupervisor\tdisabled\tlang=sv,en\ttopics=\tcapacity=2\tbackup=False"
    ]

    assert run_cli(tmp_path, "user", "enable", "anna").returncode == 0
    assert staff_json(tmp_path)["anna"]["disabled"] is False

    old_hash = staff_json(tmp_path)["anna"]["password_hash"]
    changed = run_cli(
        tmp_path, "user", "set-password", "anna", "--password-stdin", stdin=NEW_PASSWORD + "\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert staff_json(tmp_path)["anna"]["password_hash"] != old_hash
    assert verify_password(StaffDirectory(staff_file).get("anna"), NEW_PASSWORD)


def test_user_errors_exit_1_and_change_nothing(tmp_path: Path) -> None:
    """A refused account change exits 1 with a message and leaves the staff file alone."""
    write_staff(tmp_path / "staff.json", {"bo": {}})
    before = (tmp_path / "staff.json").read_bytes()
    refused_commands = {
        "exists": (("user", "add", "BO", "--password-stdin"), NEW_PASSWORD + "\n"),
        "at least 12": (("user", "add", "cecilia", "--password-stdin"), "kort\n"),
        "no account": (("user", "disable", "nobody"), ""),
    }
    # Independent read-only failures: run them side by side to keep the suite quick.
    with ThreadPoolExecutor(len(refused_commands)) as pool:
        results = {
            expected: pool.submit(run_cli, tmp_path, *args, stdin=stdin)
            for expected, (args, stdin) in refused_commands.items()
        }
    for expected, future in results.items():
        result = future.result()
        assert result.returncode == 1, (expected, result.stderr)
        assert result.stderr.startswith("error: ")
        assert expected in result.stderr
        assert "Traceback" not in result.stderr
    assert (tmp_path / "staff.json").read_bytes() == before


def test_bad_setting_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    """An unusable environment value stops the program with exit code 2, naming the variable."""
    result = run_cli(tmp_path, "serve", NEXUS_PORT="abc")
    assert result.returncode == 2
    assert "configuration error" in result.stderr
    assert "NEXUS_PORT" in result.stderr
    assert "Traceback" not in result.stderr


# --- demo mode ---------------------------------------------------------------------------


class Demo:
    """A ``python -m chat_server demo`` child with its stdout read line by line."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.port = port
        self.temp_dir = tmp_path / "tmp"
        self.temp_dir.mkdir(exist_ok=True)
        self.stderr_path = tmp_path / f"demo-{port}.stderr"
        env = clean_env(
            NEXUS_PORT=str(port),
            NEXUS_DATA_DIR=str(tmp_path / "data"),
            TMPDIR=str(self.temp_dir),  # where the embedded Redis makes its private directory
        )
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chat_server", "demo"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                cwd=tmp_path,
                start_new_session=True,  # its own process group, so cleanup reaches Redis too
            )
        self.children: set[int] = set()
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def banner(self) -> list[str]:
        """Every stdout line up to the banner's last line; fails after DEMO_WAIT_S."""
        seen: list[str] = []
        deadline = time.monotonic() + DEMO_WAIT_S
        while not seen or not seen[-1].startswith("Stop with"):
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no demo banner within {DEMO_WAIT_S} s: {seen} {self.stderr()}")
            if line is None:
                pytest.fail(f"demo exited early: {seen} {self.stderr()}")
            seen.append(line)
        return seen

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", errors="replace")

    def get(self, path: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode("utf-8")
        finally:
            connection.close()

    def redis_dirs(self) -> list[Path]:
        return sorted(self.temp_dir.glob("nexus-redis-*"))

    def child_pids(self) -> list[int]:
        """The demo's child processes (its redis-server), remembered for cleanup."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        self.children.update(pids)
        return pids

    def kill_group(self) -> None:
        """Last-resort cleanup: SIGKILL the demo and whatever it started that is still alive."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.children:
            # Only a pid still in the demo's own process group is ours (pids get reused).
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(pid) == self.process.pid:
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        if self.process.stdout:
            self.process.stdout.close()


def still_running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(FileNotFoundError):
        return "\nState:\tZ" not in status.read_text()
    return False


@contextlib.contextmanager
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path, free_port())
    try:
        yield running
    finally:
        running.kill_group()


def run_demo_once(tmp_path: Path) -> str:
    """Start the demo, check what it prints and serves, stop it; returns the printed password."""
    with demo(tmp_path) as running:
        banner = running.banner()
        base = f"http://localhost:{running.port}"
        assert f"{base}/" in "\n".join(banner)
        assert f"{base}/console/" in "\n".join(banner)
        password_lines = [line for line in banner if "password" in line]
        assert len(password_lines) == 1, banner
        match = PASSWORD_LINE.search(password_lines[0])
        assert match is not None and "user 'demo'" in password_lines[0]

        status, body = running.get("/healthz")
        assert status == 200, body
        status, page = running.get("/")
        assert status == 200
        assert '<script src="/widget/nexus-chat.js"' in page

        assert len(running.redis_dirs()) == 1, "the embedded Redis should use a private dir"
        redis_pids = running.child_pids()
        assert redis_pids, "the demo should have started a redis-server child"

        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(DEMO_WAIT_S) == 0, running.stderr()
        assert running.redis_dirs() == []
        assert not any(still_running(pid) for pid in redis_pids)
        return match.group(1)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads children from /proc")
def test_demo_starts_serves_and_cleans_up(tmp_path: Path) -> None:
    """demo starts its own Redis, prints URLs and a fresh password, serves, and cleans up on
    SIGTERM."""
    first = run_demo_once(tmp_path)
    second = run_demo_once(tmp_path)
    assert first != second
    demo_account = StaffDirectory(tmp_path / "data" / "staff.json").get("demo")
    assert verify_password(demo_account, second)
    assert not verify_password(demo_account, first)


def test_serve_with_a_shared_redis_needs_a_message_key(tmp_path: Path, redis_url: str) -> None:
    """Without NEXUS_MESSAGE_KEY, instances on one Redis could not read each other's chats:
    serve refuses to start, saying what to set; a bad key is refused without echoing it."""
    refused = run_cli(tmp_path, "serve", REDIS_URL=redis_url, NEXUS_PORT=str(free_port()))
    assert refused.returncode == 2
    assert "NEXUS_MESSAGE_KEY is required with REDIS_URL" in refused.stderr
    bad = run_cli(tmp_path, "serve", REDIS_URL=redis_url, NEXUS_MESSAGE_KEY="c2hvcnQ-hemligt")
    assert bad.returncode == 2 and "message key" in bad.stderr
    assert "c2hvcnQ-hemligt" not in bad.stderr
