"""The staff audit log's events: what may be recorded, built and checked without any I/O.

An event is a flat JSON object with a fixed set of fields (:data:`FIELDS`). Every value is
checked here, so nothing else can reach the log: no field can hold an address, a header, a
chat text or a phone number. Names are staff names (a visitor never signs in); a failed
sign-in names the attempted account only if it exists, otherwise ``unknown`` (a typed
password in the user-name box must never reach the log, OWASP ASVS 7.1.1). The only trace of
a chat is its alias (``Besökare 4F``), and only in the monitoring events.

The file format (one event per line, with a SHA-256 chain) is in :func:`chain_line`;
``chat_server/audit.py`` writes and reads the files; docs/audit.md is the contract.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final


class AuditKind(enum.StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_OUT = "sign_out"
    SIGN_OUT_EVERYWHERE = "sign_out_everywhere"
    SESSIONS_ENDED = "sessions_ended"  # `user sign-out`: an operator ended an account's sessions
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an event name, not a password)
    ROLE_CHANGED = "role_changed"
    SKILLS_CHANGED = "skills_changed"
    CAPACITY_CHANGED = "capacity_changed"
    BACKUP_CHANGED = "backup_changed"
    SECOND_FACTOR_ENABLED = "second_factor_enabled"
    SECOND_FACTOR_DISABLED = "second_factor_disabled"
    STATS_EXPORTED = "stats_exported"
    MONITOR_START = "monitor_start"
    MONITOR_END = "monitor_end"
    JOIN = "join"


class Outcome(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"


class Channel(enum.StrEnum):
    """How the actor acted: signed in to the web service, or at the host's command line."""

    WEB = "web"
    CLI = "cli"


MONITOR_KINDS: Final = frozenset({AuditKind.MONITOR_START, AuditKind.MONITOR_END, AuditKind.JOIN})
ACCOUNT_KINDS: Final = frozenset(
    {
        AuditKind.SESSIONS_ENDED,
        AuditKind.ACCOUNT_CREATED,
        AuditKind.ACCOUNT_DISABLED,
        AuditKind.ACCOUNT_ENABLED,
        AuditKind.PASSWORD_CHANGED,
        AuditKind.ROLE_CHANGED,
        AuditKind.SKILLS_CHANGED,
        AuditKind.CAPACITY_CHANGED,
        AuditKind.BACKUP_CHANGED,
        AuditKind.SECOND_FACTOR_ENABLED,
        AuditKind.SECOND_FACTOR_DISABLED,
    }
)
TARGET_KINDS: Final = ACCOUNT_KINDS | MONITOR_KINDS  # monitoring: the chat's counsellor
ROLE_KINDS: Final = frozenset({AuditKind.ROLE_CHANGED, AuditKind.ACCOUNT_CREATED})
ROLES: Final = ("counsellor", "supervisor", "admin")
FAILURE_REASONS: Final = ("credentials", "second_factor")
UNKNOWN_ACTOR: Final = "unknown"
FIELDS: Final = (
    "at", "kind", "actor", "via", "outcome", "target", "role", "alias", "reason", "range",
    "instance", "prev",
)  # fmt: skip
GENESIS: Final = "0" * 64  # the `prev` of the very first line ever written
MAX_LINE_BYTES: Final = 1024

_NAME = re.compile(r"[a-z0-9._-]{2,32}")  # accounts.USERNAME_CHARS, 2-32 characters
_OS_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
_ALIAS = re.compile(r"Besökare [A-Z0-9]{2}")  # models.visitor_alias
_INSTANCE = re.compile(r"[A-Za-z0-9._:-]{1,80}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HASH = re.compile(r"[0-9a-f]{64}")


class AuditEventError(ValueError):
    """An event that the audit log refuses (a programming error at the call site)."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the audit log (before chaining). ``at`` is UTC."""

    at: datetime
    kind: AuditKind
    actor: str
    via: Channel = Channel.WEB
    outcome: Outcome = Outcome.OK
    target: str = ""
    role: str = ""
    alias: str = ""
    reason: str = ""
    range: str = ""
    instance: str = ""

    @property
    def day(self) -> date:
        return self.at.astimezone(UTC).date()

    def as_json(self) -> dict[str, str]:
        """The event's fields in file order; empty optional fields are left out."""
        stamp = self.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        data = {
            "at": stamp,
            "kind": self.kind.value,
            "actor": self.actor,
            "via": self.via.value,
            "outcome": self.outcome.value,
            "target": self.target,
            "role": self.role,
            "alias": self.alias,
            "reason": self.reason,
            "range": self.range,
            "instance": self.instance,
        }
        return {k: v for k, v in data.items() if v}


def is_staff_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


def failed_sign_in_actor(attempted: str, known: bool) -> str:
    """The actor of a failed sign-in: the attempted name if it is an existing account, else
    ``unknown`` (it might be a password typed in the wrong box)."""
    name = attempted.strip().lower()
    return name if known and is_staff_name(name) else UNKNOWN_ACTOR


def cli_actor(os_user: str) -> str:
    """The actor of a CLI command: ``cli:<the operator's login name>``, or ``cli:unknown``."""
    user = os_user.strip().lower()
    return f"cli:{user if _OS_USER.fullmatch(user) else UNKNOWN_ACTOR}"


def _check_actor(actor: str, via: Channel) -> None:
    if via is Channel.CLI:
        if not (actor.startswith("cli:") and _OS_USER.fullmatch(actor[4:])):
            raise AuditEventError("a CLI actor is cli:<login name>")
    elif actor != UNKNOWN_ACTOR and not is_staff_name(actor):
        raise AuditEventError("the actor must be a staff account name or 'unknown'")


def build_event(
    kind: AuditKind | str,
    actor: str,
    *,
    at: datetime,
    via: Channel | str = Channel.WEB,
    outcome: Outcome | str = Outcome.OK,
    target: str = "",
    role: str = "",
    alias: str = "",
    reason: str = "",
    day_range: tuple[date, date] | None = None,
    instance: str = "",
) -> AuditEvent:
    """A checked event; raises AuditEventError for anything the log must not hold.

    ``target`` is the account an account event changed (for a monitoring event: the chat's
    counsellor); ``role`` the role it now has (role
    changes and new accounts); ``alias`` the chat alias, only for monitor_start, monitor_end
    and join; ``reason`` only for a failed sign-in (``credentials`` or ``second_factor``);
    ``day_range`` only for a statistics export (the dates exported)."""
    try:
        kind, via, outcome = AuditKind(kind), Channel(via), Outcome(outcome)
    except ValueError:
        raise AuditEventError("unknown kind, channel or outcome") from None
    if at.tzinfo is None:
        raise AuditEventError("the time must be timezone-aware")
    _check_actor(actor, via)
    if target and not is_staff_name(target):
        raise AuditEventError("the target must be a staff account name")
    if (kind in ACCOUNT_KINDS and not target) or (target and kind not in TARGET_KINDS):
        raise AuditEventError(
            "account events name a target account (monitoring events may: the counsellor)"
        )
    if role and (role not in ROLES or kind not in ROLE_KINDS):
        raise AuditEventError("a role only for role changes and new accounts")
    if bool(alias) != (kind in MONITOR_KINDS) or (alias and not _ALIAS.fullmatch(alias)):
        raise AuditEventError("monitoring events, and only they, carry a chat alias")
    if kind is AuditKind.SIGN_IN_FAILED:
        outcome = Outcome.FAILED
        if reason not in FAILURE_REASONS:
            raise AuditEventError(f"a failed sign-in's reason is one of {FAILURE_REASONS}")
    elif reason:
        raise AuditEventError("a reason only for a failed sign-in")
    span = ""
    if day_range is not None:
        if kind is not AuditKind.STATS_EXPORTED or day_range[0] > day_range[1]:
            raise AuditEventError("a date range only for a statistics export, start ≤ end")
        span = f"{day_range[0].isoformat()}/{day_range[1].isoformat()}"
    if instance and not _INSTANCE.fullmatch(instance):
        raise AuditEventError("an instance id is 1-80 characters of A-Z, a-z, 0-9, . _ : -")
    return AuditEvent(at, kind, actor, via, outcome, target, role, alias, reason, span, instance)


def line_hash(line: bytes) -> str:
    """The SHA-256 (hex) of one line as written, without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def chain_line(event: AuditEvent, prev: str) -> bytes:
    """The event as one line of the file (UTF-8 JSON, no newline), carrying ``prev``: the
    SHA-256 of the line before it (:data:`GENESIS` for the first line ever written)."""
    if not _HASH.fullmatch(prev):
        raise AuditEventError("prev must be a SHA-256 in hex")
    data = {**event.as_json(), "prev": prev}
    line = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(line) > MAX_LINE_BYTES:  # cannot happen with the checks above; never write one
        raise AuditEventError("an audit line is at most 1 KiB")
    return line


def parse_line(line: bytes) -> dict[str, str]:
    """A line read back: its fields, checked for shape (not for the chain). Raises
    AuditEventError for a line this module did not write."""
    try:
        data = json.loads(line)
    except ValueError:
        raise AuditEventError("not JSON") from None
    if not isinstance(data, dict) or not set(data) <= set(FIELDS):
        raise AuditEventError("unknown fields")
    if not all(isinstance(v, str) for v in data.values()):
        raise AuditEventError("every field is text")
    if data.get("kind") not in set(AuditKind) or not _HASH.fullmatch(data.get("prev", "")):
        raise AuditEventError("no kind or no prev")
    return data


def matches(event: Mapping[str, Any], kind: str = "", actor: str = "") -> bool:
    """Whether a read-back event passes the readers' filters (empty: any)."""
    if kind and event.get("kind") != kind:
        return False
    return not actor or actor in (event.get("actor"), event.get("target"))


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date; raises ValueError."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("a date is YYYY-MM-DD")
    return date.fromisoformat(text)
