"""Staff accounts: the only durable identities, kept in a JSON file outside Redis.

Passwords are argon2id hashes (argon2-cffi's defaults: m=64 MiB, t=3, p=4, above OWASP's
minimum of m=19 MiB, t=2, p=1). The file is written atomically with mode 0600 and re-read when
it changes, so the CLI can manage accounts while servers run.

Beside each account the file keeps a ``session_epoch``: a counter bumped whenever the account
is disabled, its password, role or second factor changes. Every session remembers the epoch it
was made under, and a session whose epoch is behind the account's is dead, so such a change
ends old sessions even when the CLI cannot reach Redis to delete them.
"""

from __future__ import annotations

import hmac
import json
import os
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Final

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .domain.models import DEFAULT_CAPACITY, Role, StaffAccount
from .domain.vocabulary import LANGUAGES, TOPICS

HASHER = PasswordHasher()
MIN_PASSWORD_CHARS: Final = 12
MAX_PASSWORD_CHARS: Final = 1024
MAX_CAPACITY: Final = 10
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
TOTP_ISSUER: Final = "Nexus chatt"
TOTP_PERIOD_S: Final = 30
TOTP_DIGITS: Final = 6
TOTP_ACCEPTED_STEPS: Final = (-1, 0, 1)  # ±1 step tolerates clock drift of up to 30 s

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
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"password: at most {MAX_PASSWORD_CHARS} characters")
    return password


def validate_codes(kind: str, codes: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Skill codes from a fixed list (languages, topics), de-duplicated in order."""
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise AccountError(f"unknown {kind}: {', '.join(unknown)} (known: {', '.join(allowed)})")
    return tuple(dict.fromkeys(codes))


def validate_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Check the account fields a caller may set; raises AccountError."""
    if "languages" in fields:
        fields["languages"] = validate_codes("language", tuple(fields["languages"]), LANGUAGES)
        if not fields["languages"]:
            raise AccountError("languages: at least one")
    if "topics" in fields:
        fields["topics"] = validate_codes("topic", tuple(fields["topics"]), TOPICS)
    if "capacity" in fields and not 1 <= int(fields["capacity"]) <= MAX_CAPACITY:
        raise AccountError(f"capacity: a whole number from 1 to {MAX_CAPACITY}")
    if "role" in fields:
        fields["role"] = Role(fields["role"])
    return fields


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


def new_totp_secret() -> str:
    """A fresh random TOTP secret (160 bits, base32)."""
    return str(pyotp.random_base32())


def totp_provisioning_uri(username: str, secret: str) -> str:
    """The otpauth:// URI an authenticator app scans (as a QR code) or reads as text."""
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER))


def matching_totp_step(secret: str, code: str, now_s: float) -> int | None:
    """The time step (``now_s // 30`` ± 1) whose code equals ``code``, or None.

    Compared in constant time; the caller must refuse a step already used (replay)."""
    code = code.replace(" ", "")
    if not secret or len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now_s) // TOTP_PERIOD_S
    for offset in TOTP_ACCEPTED_STEPS:
        step = current + offset
        if hmac.compare_digest(str(totp.generate_otp(step)), code):
            return step
    return None


def _to_json(account: StaffAccount, session_epoch: int) -> dict[str, Any]:
    data = asdict(account)
    data["role"] = account.role.value
    data["languages"] = list(account.languages)
    data["topics"] = list(account.topics)
    data["session_epoch"] = session_epoch
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
        self._epochs: dict[str, int] = {}
        self._stamp: tuple[int, int] | None = None

    def _reload_if_changed(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._accounts, self._epochs, self._stamp = {}, {}, None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            raw = json.loads(self.path.read_text("utf-8") or "{}")
            entries = raw.get("accounts", [])
            self._accounts = {a["username"]: _from_json(a) for a in entries}
            self._epochs = {a["username"]: int(a.get("session_epoch", 0)) for a in entries}
            self._stamp = stamp

    def get(self, username: str) -> StaffAccount | None:
        self._reload_if_changed()
        return self._accounts.get(username.strip().lower())

    def all(self) -> list[StaffAccount]:
        self._reload_if_changed()
        return sorted(self._accounts.values(), key=lambda a: a.username)

    def session_epoch(self, username: str) -> int:
        """The account's session epoch: sessions made under an older one are dead."""
        self._reload_if_changed()
        return self._epochs.get(username.strip().lower(), 0)

    def _save(self, accounts: dict[str, StaffAccount], epochs: dict[str, int]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        ordered = sorted(accounts.values(), key=lambda a: a.username)
        payload = {"accounts": [_to_json(a, epochs.get(a.username, 0)) for a in ordered]}
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
        fields = validate_fields(fields)
        account = StaffAccount(name, HASHER.hash(validate_password(password)), **fields)
        self._save({**self._accounts, name: account}, self._epochs)
        return account

    def update(self, username: str, **fields: Any) -> StaffAccount:
        """Change an account; ``password`` is hashed. Disabling it or changing its password,
        role or second factor bumps its session epoch (ending its sessions)."""
        self._reload_if_changed()
        current = self._accounts.get(username.strip().lower())
        if current is None:
            raise AccountError(f"no account {username!r}")
        fields = validate_fields(fields)
        ends_sessions = (
            "password" in fields
            or fields.get("disabled") is True
            or fields.get("role", current.role) != current.role
            or fields.get("totp_secret", current.totp_secret) != current.totp_secret
        )
        if "password" in fields:
            fields["password_hash"] = HASHER.hash(validate_password(fields.pop("password")))
        account = replace(current, **fields)
        epochs = dict(self._epochs)
        if ends_sessions:
            epochs[account.username] = epochs.get(account.username, 0) + 1
        self._save({**self._accounts, account.username: account}, epochs)
        return account

    def rehash(self, username: str, password: str) -> bool:
        """Store a new hash of ``password`` (already verified) with the current parameters,
        keeping the session epoch: the password did not change. False if the account is gone
        or its hash changed meanwhile (a concurrent password change wins)."""
        self._reload_if_changed()
        current = self._accounts.get(username.strip().lower())
        if current is None or not verify_password(current, password):
            return False
        account = replace(current, password_hash=HASHER.hash(password))
        self._save({**self._accounts, account.username: account}, self._epochs)
        return True

    def end_sessions(self, username: str) -> None:
        """Bump the account's session epoch: every session made so far is dead."""
        self._reload_if_changed()
        name = username.strip().lower()
        if name not in self._accounts:
            raise AccountError(f"no account {username!r}")
        self._save(self._accounts, {**self._epochs, name: self._epochs.get(name, 0) + 1})

    def enable_totp(self, username: str) -> str:
        """Give the account a new TOTP secret (replacing any old one) and return it."""
        secret = new_totp_secret()
        self.update(username, totp_secret=secret)
        return secret
