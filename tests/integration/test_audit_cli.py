"""`nexus-chat user ...` (real subprocesses) records account changes in the audit log;
`nexus-chat audit show | verify` reads and checks it (the CLI's own entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chat_server.__main__ import main

CLI_TIMEOUT_S = 30


def user_cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") and k != "REDIS_URL"}
    env.update(NEXUS_DATA_DIR=str(tmp_path), SUDO_USER="opsanna")
    return subprocess.run(
        [sys.executable, "-m", "chat_server", "user", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=CLI_TIMEOUT_S, check=False,
    )  # fmt: skip


def audit_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run ``nexus-chat audit ARGS`` on tmp_path's log; (exit code, stdout, stderr)."""
    monkeypatch.setenv("NEXUS_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    try:
        code = main(["audit", *args])
    except SystemExit as stop:  # argparse refusing the arguments
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_account_changes_are_recorded_shown_and_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """add, set-role and totp-enable each append an event by cli:<operator>; show lists them
    newest first; verify passes, and fails naming the line once a line is edited."""
    password = "ett långt lösenord\n"
    assert user_cli(tmp_path, "add", "cem", "--password-stdin", stdin=password).returncode == 0
    assert user_cli(tmp_path, "set-role", "cem", "admin").returncode == 0
    enabled = user_cli(tmp_path, "totp-enable", "cem")
    assert enabled.returncode == 0, enabled.stderr
    code, out, _ = audit_cli(tmp_path, monkeypatch, capsys, "show", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [(e["kind"], e["target"], e.get("role", "")) for e in lines] == [
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
    code, out, _ = audit_cli(tmp_path, monkeypatch, capsys, "verify")
    assert code == 0 and "3 line(s) in 1 file(s)" in out
    path.write_text(written.replace('"role":"admin"', '"role":"counsellor"'), "utf-8")
    code, out, _ = audit_cli(tmp_path, monkeypatch, capsys, "verify")
    assert code == 1 and f"{path.name}:3: the chain breaks" in out
    code, out, _ = audit_cli(tmp_path, monkeypatch, capsys, "show", "--kind", "role_changed")
    assert out.split("\t")[1:3] == ["role_changed", "cli:opsanna"]


def test_show_refuses_a_bad_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A date that is not YYYY-MM-DD is a usage error (exit 2) that says what it wants."""
    code, _, err = audit_cli(tmp_path, monkeypatch, capsys, "show", "--since", "2026-13-01")
    assert code == 2 and "YYYY-MM-DD" in err
