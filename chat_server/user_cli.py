"""``nexus-chat user ...``: staff account management on the staff file.

Changes that must end an account's sessions (disable, set-password, set-role, totp-enable,
totp-disable, sign-out) bump the account's session epoch in the staff file, which every
server checks on each request and every 2 s for open consoles. When ``REDIS_URL`` is set the
command also deletes the sessions in Redis at once (open consoles close with 4401 right
away); without it (the embedded demo Redis is private to the server process) it says so.

Every change is recorded in the staff audit log as ``cli:<operator>`` (docs/audit.md).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from redis.exceptions import RedisError

from .accounts import AccountError, StaffDirectory, totp_provisioning_uri
from .audit import AuditLog, default_instance
from .config import Settings, load_settings, operator_name
from .domain.audit import AuditKind, Channel, cli_actor
from .domain.models import Role
from .store.connection import connect
from .store.keys import Keys
from .store.sessions import SessionStore

SESSION_ENDING_ACTIONS = frozenset(
    {"disable", "set-password", "set-role", "totp-enable", "totp-disable", "sign-out"}
)
AUDIT_KINDS = {
    "add": AuditKind.ACCOUNT_CREATED,
    "disable": AuditKind.ACCOUNT_DISABLED,
    "enable": AuditKind.ACCOUNT_ENABLED,
    "set-password": AuditKind.PASSWORD_CHANGED,
    "set-role": AuditKind.ROLE_CHANGED,
    "set-skills": AuditKind.SKILLS_CHANGED,
    "set-capacity": AuditKind.CAPACITY_CHANGED,
    "set-backup": AuditKind.BACKUP_CHANGED,
    "totp-enable": AuditKind.SECOND_FACTOR_ENABLED,
    "totp-disable": AuditKind.SECOND_FACTOR_DISABLED,
    "sign-out": AuditKind.SESSIONS_ENDED,
}


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise AccountError("the passwords differ")
    return first


def _codes(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(c.strip() for c in text.split(",") if c.strip())


def _yes_no(text: str) -> bool:
    if text.lower() in ("yes", "on", "true", "1"):
        return True
    if text.lower() in ("no", "off", "false", "0"):
        return False
    raise AccountError("say yes or no")


async def _delete_sessions(settings: Settings, username: str) -> int:
    redis = connect(settings.redis_url)
    try:
        store = SessionStore(
            redis,
            Keys(settings.redis_prefix),
            idle_s=settings.session_idle_s,
            absolute_s=settings.session_absolute_s,
        )
        return await store.delete_all_for(username)
    finally:
        await redis.aclose()


def end_sessions(settings: Settings, username: str) -> None:
    """Delete the account's sessions in Redis when reachable; say what happened."""
    if not settings.redis_url:
        print(
            f"note: REDIS_URL is not set, so {username}'s sessions were not deleted in Redis; "
            "the servers refuse them at their next request and close open consoles within "
            "seconds (session epoch)",
            file=sys.stderr,
        )
        return
    try:
        count = asyncio.run(_delete_sessions(settings, username))
    except (RedisError, OSError) as error:
        print(
            f"warning: Redis unreachable ({type(error).__name__}); {username}'s sessions end "
            "at their next request instead",
            file=sys.stderr,
        )
        return
    print(f"{count} session(s) of {username} ended")


def _list(staff: StaffDirectory, long: bool) -> None:
    for a in staff.all():
        state = "disabled" if a.disabled else "active"
        line = (
            f"{a.username}\t{a.role.value}\t{state}\tlang={','.join(a.languages)}\t"
            f"topics={','.join(a.topics)}\tcapacity={a.capacity}\tbackup={a.backup}"
        )
        if long:
            line += f"\ttotp={'on' if a.totp_secret else 'off'}\tname={a.shown_name}"
        print(line)


def _change(args: argparse.Namespace, staff: StaffDirectory) -> None:
    action, name = args.action, args.username
    fields: dict[str, Any] = {}
    if action == "add":
        extra: dict[str, Any] = {"role": Role(args.role), "display_name": args.name or ""}
        extra["languages"] = _codes(args.languages) or ("sv",)
        extra["topics"] = _codes(args.topics) or ()
        extra["capacity"] = args.capacity
        extra["backup"] = args.backup
        staff.add(name, _read_password(args), **extra)
        return
    if action == "totp-enable":
        if staff.get(name) is None:
            raise AccountError(f"no account {name!r}")
        secret = staff.enable_totp(name)
        print("Scan this URI as a QR code, or type the secret into the authenticator app.")
        print("It is shown only now.")
        print(f"  secret: {secret}")
        print(f"  uri:    {totp_provisioning_uri(name.strip().lower(), secret)}")
        return
    if action == "sign-out":
        staff.end_sessions(name)
        return
    simple: dict[str, dict[str, Any]] = {
        "disable": {"disabled": True},
        "enable": {"disabled": False},
        "totp-disable": {"totp_secret": ""},
    }
    if action in simple:
        fields = simple[action]
    elif action == "set-password":
        fields = {"password": _read_password(args)}
    elif action == "set-role":
        fields = {"role": Role(args.role)}
    elif action == "set-capacity":
        fields = {"capacity": args.capacity}
    elif action == "set-backup":
        fields = {"backup": _yes_no(args.backup)}
    elif action == "set-skills":
        languages, topics = _codes(args.languages), _codes(args.topics)
        if languages is None and topics is None:
            raise AccountError("give --languages and/or --topics")
        fields = {k: v for k, v in (("languages", languages), ("topics", topics)) if v is not None}
    staff.update(name, **fields)


def _audit(settings: Settings, args: argparse.Namespace) -> None:
    """Record the change just made in the audit log; say so if it could not be written."""
    audit = AuditLog(settings.audit_dir, settings.audit_retention_days, default_instance("cli:"))
    role = args.role if args.action in ("add", "set-role") else ""
    target = args.username.strip().lower()
    actor = cli_actor(operator_name())
    if not audit.record(AUDIT_KINDS[args.action], actor, via=Channel.CLI, target=target, role=role):
        print(
            f"warning: the audit log in {settings.audit_dir} could not be written", file=sys.stderr
        )


def cmd_user(args: argparse.Namespace) -> int:
    settings = load_settings()
    staff = StaffDirectory(settings.staff_file)
    if args.action == "list":
        _list(staff, args.long)
        return 0
    _change(args, staff)
    print(f"{args.action}: {args.username} done")
    _audit(settings, args)
    if args.action in SESSION_ENDING_ACTIONS:
        end_sessions(settings, args.username.strip().lower())
    return 0


def add_user_commands(sub: Any) -> None:
    """Add ``user`` and its actions to the top-level subparsers ``sub``."""
    user = sub.add_parser("user", help="manage staff accounts (the staff file)")
    user.set_defaults(func=cmd_user)
    actions = user.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one line per account")
    listing.add_argument("--long", action="store_true", help="also second factor and name")
    roles = [r.value for r in Role]
    helps = {
        "add": "create an account (asks for the password)",
        "disable": "refuse logins and end the account's sessions",
        "enable": "allow logins again",
        "set-password": "new password; ends the account's sessions",
        "set-skills": "languages and topics the account takes chats in",
        "set-role": "counsellor, supervisor or admin; ends the account's sessions",
        "set-capacity": "how many chats at once",
        "set-backup": "yes/no: called on when the queue grows (backup tier)",
        "totp-enable": "new TOTP secret, printed once; ends the account's sessions",
        "totp-disable": "remove the second factor; ends the account's sessions",
        "sign-out": "end every session of the account",
    }
    for name, text in helps.items():
        action = actions.add_parser(name, help=text)
        action.add_argument("username")
        if name in ("add", "set-password"):
            action.add_argument(
                "--password-stdin", action="store_true", help="read the password from stdin"
            )
        if name in ("add", "set-skills"):
            action.add_argument("--languages", help="comma-separated codes, e.g. sv,en,ar")
            action.add_argument("--topics", help="comma-separated topic codes")
        if name == "add":
            action.add_argument("--role", choices=roles, default="counsellor")
            action.add_argument("--name", help="display name in the console")
            action.add_argument("--capacity", type=int, default=2)
            action.add_argument("--backup", action="store_true", help="in the backup tier")
        if name == "set-role":
            action.add_argument("role", choices=roles)
        if name == "set-capacity":
            action.add_argument("capacity", type=int)
        if name == "set-backup":
            action.add_argument("backup", choices=["yes", "no"])
