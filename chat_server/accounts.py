"""Staff accounts: the only durable identities, kept in a JSON file outside Redis.

Passwords are argon2id hashes (argon2-cffi's defaults: m=64 MiB, t=3, p=4, above OWASP's
minimum). The file is written atomically with mode 0600 and re-read when it changes, so the
CLI can manage accounts while servers run.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .domain.models import DEFAULT_CAPACITY, Role, StaffAccount

HASHER = PasswordHasher()
MIN_PASSWORD_CHARS = 12
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")

# Verifying against this when the user is unknown gives the same work and timing as a real
# mismatch, so a login answer never tells whether an account exists.
_DUMMY_HASH = HASHER.hash("not a password of anyone")


class AccountError(ValueError):
    pass


def validate_username(username: str) -> str:
    name = username.strip().lower()
    if not 2 <= len(name) <= 32 or not set(name) <= USERNAME_CHARS:
        raise AccountError("username: 2-32 characters of a-z, 0-9, '.', '_' or '-'")
    return name


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password: at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > 1024:
        raise AccountError("password: at most 1024 characters")
    return password


def verify_password(account: StaffAccount | None, password: str) -> bool:
    """Check a password; CPU-heavy (run it off the event loop). Unknown users cost the same."""
    try:
        if account is None or account.disabled:
            HASHER.verify(_DUMMY_HASH, password)
            return False
        return HASHER.verify(account.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(account: StaffAccount) -> bool:
    return HASHER.check_needs_rehash(account.password_hash)


def _to_json(account: StaffAccount) -> dict[str, Any]:
    data = asdict(account)
    data["role"] = account.role.value
    data["languages"] = list(account.languages)
    data["topics"] = list(account.topics)
    return data


def _from_json(data: dict[str, Any]) -> StaffAccount:
    return StaffAccount(
        username=data["username"],
        password_hash=data["password_hash"],
        role=Role(data.get("role", "counsellor")),
        display_name=data.get("display_name", ""),
        languages=tuple(data.get("languages", ("sv",))),
        topics=tuple(data.get("topics", ())),
        capacity=int(data.get("capacity", DEFAULT_CAPACITY)),
        backup=bool(data.get("backup", False)),
        disabled=bool(data.get("disabled", False)),
        totp_secret=data.get("totp_secret", ""),
    )


class StaffDirectory:
    """The staff file, cached in memory and reloaded when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._accounts: dict[str, StaffAccount] = {}
        self._stamp: tuple[int, int] | None = None

    def _reload_if_changed(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._accounts, self._stamp = {}, None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            raw = json.loads(self.path.read_text("utf-8") or "{}")
            self._accounts = {a["username"]: _from_json(a) for a in raw.get("accounts", [])}
            self._stamp = stamp

    def get(self, username: str) -> StaffAccount | None:
        self._reload_if_changed()
        return self._accounts.get(username.strip().lower())

    def all(self) -> list[StaffAccount]:
        self._reload_if_changed()
        return sorted(self._accounts.values(), key=lambda a: a.username)

    def _save(self, accounts: dict[str, StaffAccount]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = {
            "accounts": [_to_json(a) for a in sorted(accounts.values(), key=lambda a: a.username)]
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".staff-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._stamp = None

    def add(self, username: str, password: str, **fields: Any) -> StaffAccount:
        name = validate_username(username)
        self._reload_if_changed()
        if name in self._accounts:
            raise AccountError(f"account {name!r} exists already")
        account = StaffAccount(name, HASHER.hash(validate_password(password)), **fields)
        self._save({**self._accounts, name: account})
        return account

    def update(self, username: str, **fields: Any) -> StaffAccount:
        self._reload_if_changed()
        current = self._accounts.get(username.strip().lower())
        if current is None:
            raise AccountError(f"no account {username!r}")
        if "password" in fields:
            fields["password_hash"] = HASHER.hash(validate_password(fields.pop("password")))
        account = replace(current, **fields)
        self._save({**self._accounts, account.username: account})
        return account
