"""`nexus-chat user ...` records account changes in the audit log; `audit show` and `audit
verify` read and check it (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLI_TIMEOUT_S = 30


def run(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") and k != "REDIS_URL"}
    env.update(NEXUS_DATA_DIR=str(tmp_path), SUDO_USER="opsanna")
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=CLI_TIMEOUT_S, check=False,
    )  # fmt: skip


def test_account_changes_are_recorded_shown_and_verified(tmp_path: Path) -> None:
    """add, set-role and totp-enable each append an event by cli:<operator>; show lists them
    newest first; verify passes, and fails naming the line once a line is edited."""
    password = "ett långt lösenord\n"
    assert run(tmp_path, "user", "add", "cem", "--password-stdin", stdin=password).returncode == 0
    assert run(tmp_path, "user", "set-role", "cem", "admin").returncode == 0
    enabled = run(tmp_path, "user", "totp-enable", "cem")
    assert enabled.returncode == 0, enabled.stderr
    shown = run(tmp_path, "audit", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(e["kind"], e["target"], e.get("role", "")) for e in lines] == [
        ("second_factor_enabled", "cem", ""),
        ("role_changed", "cem", "admin"),
        ("account_created", "cem", "counsellor"),
    ]
    assert {(e["actor"], e["via"]) for e in lines} == {("cli:opsanna", "cli")}
    assert all(e["instance"].startswith("cli:") for e in lines)
    secret = enabled.stdout.split("secret:")[1].split()[0]
    (path,) = (tmp_path / "audit").glob("audit-*.jsonl")
    written = path.read_text("utf-8")
    assert secret not in written and "lösenord" not in written
    verified = run(tmp_path, "audit", "verify")
    assert verified.returncode == 0 and "3 line(s) in 1 file(s)" in verified.stdout
    path.write_text(written.replace('"role":"admin"', '"role":"counsellor"'), "utf-8")
    broken = run(tmp_path, "audit", "verify")
    assert broken.returncode == 1 and f"{path.name}:3: the chain breaks" in broken.stdout


def test_show_filters_and_refuses_bad_dates(tmp_path: Path) -> None:
    """show --kind narrows the listing; a date that is not YYYY-MM-DD is a usage error (2)."""
    assert run(tmp_path, "audit", "show", "--kind", "sign_in").stdout == ""
    bad = run(tmp_path, "audit", "show", "--since", "2026-13-01")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
