"""Unit tests of the staff directory: the JSON staff file, argon2id passwords, validation."""

from __future__ import annotations

import json
import shutil
import stat
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import argon2
import pytest

from chat_server.accounts import (
    AccountError,
    StaffDirectory,
    needs_rehash,
    validate_password,
    validate_username,
    verify_password,
)
from chat_server.domain.models import Role, StaffAccount

ANNA_PASSWORD = "rätt häst batteri häftklammer"
BO_PASSWORD = "exactly12chr"  # the shortest password allowed
TIMING_RUNS = 5
WEAK_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=8192)


@pytest.fixture(scope="module")
def seed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A staff file made once through add() (argon2 hashing is slow on purpose)."""
    path = tmp_path_factory.mktemp("seed") / "staff.json"
    directory = StaffDirectory(path)
    directory.add(
        "Anna",
        ANNA_PASSWORD,
        role=Role.SUPERVISOR,
        display_name="Anna Lind",
        languages=("sv", "en"),
        topics=("honour",),
        capacity=3,
        backup=True,
    )
    # Bo gets a cheap hash written straight into the file, so the many tests that only need
    # "some account" verify fast; Anna keeps the production parameters.
    raw = json.loads(path.read_text("utf-8"))
    raw["accounts"].append({"username": "bo", "password_hash": WEAK_HASHER.hash(BO_PASSWORD)})
    path.write_text(json.dumps(raw), "utf-8")
    return path


@pytest.fixture
def staff_path(seed_file: Path, tmp_path: Path) -> Path:
    """This test's own copy of the seeded staff file."""
    path = tmp_path / "staff" / "staff.json"
    path.parent.mkdir()
    shutil.copy2(seed_file, path)
    return path


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_add_get_all_round_trip(staff_path: Path) -> None:
    """Accounts added with every field come back identical from a fresh directory."""
    directory = StaffDirectory(staff_path)
    anna = directory.get("anna")
    assert anna is not None
    assert (anna.username, anna.role, anna.display_name) == ("anna", Role.SUPERVISOR, "Anna Lind")
    assert (anna.languages, anna.topics, anna.capacity) == (("sv", "en"), ("honour",), 3)
    assert anna.backup and not anna.disabled
    assert [a.username for a in directory.all()] == ["anna", "bo"]
    bo = directory.get("bo")
    assert bo == StaffAccount("bo", bo.password_hash if bo else "")


def test_usernames_are_case_and_space_insensitive(staff_path: Path) -> None:
    """Usernames are stored lower-case and looked up ignoring case and surrounding spaces."""
    directory = StaffDirectory(staff_path)
    assert directory.get("  ANNA ") == directory.get("anna")
    assert directory.get("nobody") is None


def test_staff_file_holds_hashes_not_passwords(staff_path: Path) -> None:
    """The file is JSON with argon2 hashes; no password appears in it."""
    text = staff_path.read_text("utf-8")
    assert ANNA_PASSWORD not in text
    assert BO_PASSWORD not in text
    accounts = json.loads(text)["accounts"]
    assert [a["username"] for a in accounts] == ["anna", "bo"]
    assert all(a["password_hash"].startswith("$argon2id$") for a in accounts)


def test_hashes_are_argon2id_with_strong_parameters(staff_path: Path) -> None:
    """Hashes are argon2id with at least OWASP's minimum (m ≥ 19 MiB, t ≥ 2)."""
    anna = StaffDirectory(staff_path).get("anna")
    assert anna is not None
    params = argon2.extract_parameters(anna.password_hash)
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19456
    assert params.time_cost >= 2


def test_file_mode_0600_and_private_directory(tmp_path: Path) -> None:
    """A new staff file is mode 0600, in a directory created 0700, with no temp file left."""
    path = tmp_path / "new" / "staff.json"
    StaffDirectory(path).add("anna", ANNA_PASSWORD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert files_in(path.parent) == ["staff.json"]


def test_update_keeps_mode_and_leaves_no_temp_files(staff_path: Path) -> None:
    """Rewriting the file keeps mode 0600 and leaves nothing else in the directory."""
    staff_path.chmod(0o644)
    StaffDirectory(staff_path).update("bo", display_name="Bo")
    assert stat.S_IMODE(staff_path.stat().st_mode) == 0o600
    assert files_in(staff_path.parent) == ["staff.json"]


def test_failed_write_leaves_the_old_file_and_no_temp_file(staff_path: Path) -> None:
    """If writing fails half-way, the old file is intact and the temp file is removed."""
    before = staff_path.read_bytes()
    with pytest.raises(TypeError):
        StaffDirectory(staff_path).update("bo", display_name=object())
    assert staff_path.read_bytes() == before
    assert files_in(staff_path.parent) == ["staff.json"]


def test_duplicate_add_refused(staff_path: Path) -> None:
    """Adding an existing username (in any case) is refused and changes nothing."""
    before = staff_path.read_bytes()
    with pytest.raises(AccountError, match="exists"):
        StaffDirectory(staff_path).add("ANNA", "another long password")
    assert staff_path.read_bytes() == before


@pytest.mark.parametrize(
    "username", ["", "a", "x" * 33, "anna lind", "anna@kommun", "åsa", "anna/../x", "anna\n"]
)
def test_bad_usernames_refused(staff_path: Path, username: str) -> None:
    """Usernames must be 2-32 characters of a-z, 0-9, '.', '_' or '-'."""
    with pytest.raises(AccountError):
        StaffDirectory(staff_path).add(username, ANNA_PASSWORD)
    assert validate_username(" Anna.L_2-x ") == "anna.l_2-x"


@pytest.mark.parametrize("password", ["", "short", "x" * 11, "x" * 1025])
def test_bad_passwords_refused(staff_path: Path, password: str) -> None:
    """Passwords must be 12 to 1024 characters; a refused add writes nothing."""
    before = staff_path.read_bytes()
    with pytest.raises(AccountError):
        StaffDirectory(staff_path).add("cecilia", password)
    assert staff_path.read_bytes() == before
    assert validate_password("x" * 12) == "x" * 12
    assert validate_password("x" * 1024) == "x" * 1024


def test_update_unknown_account_refused(staff_path: Path) -> None:
    """Updating an account that does not exist is an AccountError."""
    with pytest.raises(AccountError, match="no account"):
        StaffDirectory(staff_path).update("nobody", disabled=True)


def test_short_new_password_refused(staff_path: Path) -> None:
    """A password change to a too-short password is refused and the file is unchanged."""
    before = staff_path.read_bytes()
    with pytest.raises(AccountError):
        StaffDirectory(staff_path).update("bo", password="short")
    assert staff_path.read_bytes() == before


def test_verify_correct_and_wrong_password(staff_path: Path) -> None:
    """The right password verifies, a wrong one does not."""
    bo = StaffDirectory(staff_path).get("bo")
    assert verify_password(bo, BO_PASSWORD)
    assert not verify_password(bo, BO_PASSWORD + "x")


def test_password_change(staff_path: Path) -> None:
    """After a password change the new password works and the old one fails."""
    new_password = "ett helt nytt lösenord"
    StaffDirectory(staff_path).update("bo", password=new_password)
    bo = StaffDirectory(staff_path).get("bo")
    assert bo is not None
    assert not needs_rehash(bo)
    assert verify_password(bo, new_password)
    assert not verify_password(bo, BO_PASSWORD)


def test_disabled_account_never_verifies(staff_path: Path) -> None:
    """A disabled account is refused even with the right password, and re-enabling restores it."""
    directory = StaffDirectory(staff_path)
    directory.update("bo", disabled=True)
    assert not verify_password(directory.get("bo"), BO_PASSWORD)
    directory.update("bo", disabled=False)
    assert verify_password(directory.get("bo"), BO_PASSWORD)


def test_unknown_user_and_broken_hash_do_not_verify() -> None:
    """No account, or an account with a broken hash, never verifies and never raises."""
    assert verify_password(None, ANNA_PASSWORD) is False
    broken = StaffAccount("x", "not-a-hash")
    assert verify_password(broken, ANNA_PASSWORD) is False


def median_durations_s(*actions: Callable[[], object]) -> list[float]:
    """Median run time of each action, run in alternation so load changes hit all alike."""
    durations: list[list[float]] = [[] for _ in actions]
    for _ in range(TIMING_RUNS):
        for action, spent in zip(actions, durations, strict=True):
            start = time.perf_counter()
            action()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in durations]


def test_unknown_user_costs_the_same_as_a_wrong_password(staff_path: Path) -> None:
    """verify_password(None, pw) takes about as long as a wrong password for a real account."""
    anna = StaffDirectory(staff_path).get("anna")
    assert anna is not None
    wrong_s, unknown_s = median_durations_s(
        lambda: verify_password(anna, "wrong password!"),
        lambda: verify_password(None, "wrong password!"),
    )
    assert 0.5 <= unknown_s / wrong_s <= 2.0, (unknown_s, wrong_s)


def test_needs_rehash(staff_path: Path) -> None:
    """Fresh hashes need no rehash; a hash made with weaker parameters does (and still works)."""
    anna = StaffDirectory(staff_path).get("anna")
    assert anna is not None
    assert not needs_rehash(anna)
    weak_hash = WEAK_HASHER.hash(ANNA_PASSWORD)
    weak = replace(anna, password_hash=weak_hash)
    assert needs_rehash(weak)
    assert verify_password(weak, ANNA_PASSWORD)


def test_reload_when_another_process_changes_the_file(staff_path: Path) -> None:
    """A running directory sees accounts changed on disk by someone else (e.g. the CLI)."""
    server_view = StaffDirectory(staff_path)
    bo = server_view.get("bo")
    assert bo is not None and not bo.disabled
    StaffDirectory(staff_path).update("bo", disabled=True)
    bo = server_view.get("bo")
    assert bo is not None and bo.disabled

    raw = json.loads(staff_path.read_text("utf-8"))
    raw["accounts"].append({"username": "cecilia", "password_hash": bo.password_hash})
    staff_path.write_text(json.dumps(raw), "utf-8")
    assert [a.username for a in server_view.all()] == ["anna", "bo", "cecilia"]
    cecilia = server_view.get("cecilia")
    assert cecilia == StaffAccount("cecilia", bo.password_hash)


def test_missing_file_is_an_empty_directory(tmp_path: Path) -> None:
    """A staff file that does not exist yet means no accounts; it appears on the first add."""
    path = tmp_path / "staff.json"
    directory = StaffDirectory(path)
    assert directory.all() == []
    assert directory.get("anna") is None
    assert not path.exists()


def test_file_deleted_on_disk_forgets_accounts(staff_path: Path) -> None:
    """When the staff file is removed, the cached accounts are forgotten."""
    directory = StaffDirectory(staff_path)
    assert directory.get("anna") is not None
    staff_path.unlink()
    assert directory.get("anna") is None
