"""`nexus-chat user ...` as a real subprocess: roles, skills, capacity, backup tier, TOTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp

from chat_server.accounts import StaffDirectory, matching_totp_step
from tests.support.servers import write_staff

CLI_TIMEOUT_S = 30


def run_cli(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_") and k != "REDIS_URL"}
    env.update(NEXUS_STAFF_FILE=str(tmp_path / "staff.json"), NEXUS_DATA_DIR=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-m", "chat_server", "user", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def account(tmp_path: Path, name: str) -> dict[str, object]:
    raw = json.loads((tmp_path / "staff.json").read_text("utf-8"))
    return next(a for a in raw["accounts"] if a["username"] == name)


def test_add_with_skills_capacity_and_backup(tmp_path: Path) -> None:
    """add takes role, name, languages, topics, capacity and the backup tier."""
    added = run_cli(
        tmp_path, "add", "cecilia", "--password-stdin", "--role", "supervisor", "--name",
        "Cecilia", "--languages", "sv,fa", "--topics", "honour,violence_close", "--capacity",
        "3", "--backup", stdin="ett långt lösenord\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    saved = account(tmp_path, "cecilia")
    assert (saved["role"], saved["languages"], saved["topics"]) == (
        "supervisor",
        ["sv", "fa"],
        ["honour", "violence_close"],
    )
    assert (saved["capacity"], saved["backup"], saved["session_epoch"]) == (3, True, 0)


def test_set_commands_change_one_thing_each(tmp_path: Path) -> None:
    """set-skills, set-role, set-capacity and set-backup change what they name; role changes
    end sessions (epoch), the others do not."""
    write_staff(tmp_path / "staff.json", {"bo": {}})
    steps = [
        (("set-skills", "bo", "--languages", "sv,ar", "--topics", "honour"), 0),
        (("set-capacity", "bo", "4"), 0),
        (("set-backup", "bo", "yes"), 0),
        (("set-role", "bo", "admin"), 1),
    ]
    for args, epoch in steps:
        result = run_cli(tmp_path, *args)
        assert result.returncode == 0, result.stderr
        assert account(tmp_path, "bo")["session_epoch"] == epoch
    bo = account(tmp_path, "bo")
    assert (bo["languages"], bo["topics"], bo["capacity"], bo["backup"], bo["role"]) == (
        ["sv", "ar"],
        ["honour"],
        4,
        True,
        "admin",
    )
    listed = run_cli(tmp_path, "list", "--long")
    assert listed.stdout.splitlines() == [
        "bo\tadmin\tactive\tlang=sv,ar\ttopics=honour\tcapacity=4\tbackup=True\ttotp=off\tname=bo"
    ]


BAD_CHANGES: list[tuple[tuple[str, ...], str]] = [
    (("set-skills", "bo", "--languages", "sv,xx"), "unknown language: xx"),
    (("set-skills", "bo", "--topics", "weather"), "unknown topic: weather"),
    (("set-skills", "bo"), "give --languages and/or --topics"),
    (("set-capacity", "bo", "0"), "capacity: a whole number from 1 to 10"),
    (("set-capacity", "bo", "11"), "capacity"),
    (("set-role", "nobody", "admin"), "no account"),
    (("totp-enable", "nobody"), "no account"),
    (("sign-out", "nobody"), "no account"),
]


def test_bad_changes_exit_1_and_leave_the_file(tmp_path: Path) -> None:
    """A refused change prints a clear error, exits 1 and writes nothing."""
    write_staff(tmp_path / "staff.json", {"bo": {}})
    before = (tmp_path / "staff.json").read_bytes()
    # Independent read-only failures: run them side by side to keep the suite quick.
    with ThreadPoolExecutor(len(BAD_CHANGES)) as pool:
        results = [
            (pool.submit(run_cli, tmp_path, *args), message) for args, message in BAD_CHANGES
        ]
    for future, message in results:
        result = future.result()
        assert result.returncode == 1 and message in result.stderr, (message, result.stderr)
        assert "Traceback" not in result.stderr
    assert (tmp_path / "staff.json").read_bytes() == before


def test_totp_enable_prints_the_secret_once_and_disable_removes_it(tmp_path: Path) -> None:
    """totp-enable prints a working secret and otpauth URI; list shows it on; disable clears it.
    Both end the account's sessions."""
    write_staff(tmp_path / "staff.json", {"anna": {}})
    enabled = run_cli(tmp_path, "totp-enable", "anna")
    assert enabled.returncode == 0, enabled.stderr
    secret_match = re.search(r"secret: ([A-Z2-7]{32})", enabled.stdout)
    assert secret_match and "otpauth://totp/" in enabled.stdout
    assert "issuer=Nexus" in enabled.stdout
    secret = secret_match.group(1)
    anna = StaffDirectory(tmp_path / "staff.json").get("anna")
    assert anna is not None and anna.totp_secret == secret
    assert matching_totp_step(secret, pyotp.TOTP(secret).now(), time.time()) is not None
    assert "totp=on" in run_cli(tmp_path, "list", "--long").stdout
    assert secret not in run_cli(tmp_path, "list", "--long").stdout
    assert account(tmp_path, "anna")["session_epoch"] == 1
    assert run_cli(tmp_path, "totp-disable", "anna").returncode == 0
    assert account(tmp_path, "anna")["totp_secret"] == ""
    assert account(tmp_path, "anna")["session_epoch"] == 2


def test_sign_out_and_disable_bump_the_epoch_enable_does_not(tmp_path: Path) -> None:
    """sign-out and disable end sessions; enable revives none of them."""
    write_staff(tmp_path / "staff.json", {"anna": {}})
    for action, epoch in (("sign-out", 1), ("disable", 2), ("enable", 2)):
        result = run_cli(tmp_path, action, "anna")
        assert result.returncode == 0, result.stderr
        assert account(tmp_path, "anna")["session_epoch"] == epoch
