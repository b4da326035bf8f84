"""``nexus-chat audit show | verify``: read and check the staff audit log (docs/audit.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .audit import MAX_PAGE, AuditLog
from .config import load_settings
from .domain.audit import AuditKind, parse_day

COLUMNS = ("at", "kind", "actor", "via", "outcome", "target", "role", "alias", "reason", "range")


def _day(text: str) -> Any:
    try:
        return parse_day(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a YYYY-MM-DD date") from None


def _log() -> AuditLog:
    settings = load_settings()
    return AuditLog(settings.audit_dir, settings.audit_retention_days)


def cmd_show(args: argparse.Namespace) -> int:
    """Print matching events, newest first: tab-separated columns, or JSON lines."""
    audit = _log()
    left, cursor = args.limit, ""
    while left > 0:
        page = audit.page(
            since=args.since, until=args.until, kind=args.kind or "", actor=args.actor or "",
            limit=min(left, MAX_PAGE), cursor=cursor,
        )  # fmt: skip
        for event in page.events:
            if args.json:
                print(json.dumps(event, ensure_ascii=False))
            else:
                print("\t".join(event.get(c, "-") for c in COLUMNS))
        left -= len(page.events)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return 0


def cmd_verify(_args: argparse.Namespace) -> int:
    """Check the hash chain; exit 0 when whole, 1 (naming each break) otherwise."""
    report = _log().verify()
    for problem in report.problems:
        print(f"problem: {problem}")
    start = "the first line ever" if report.starts_at_genesis else "after files retention deleted"
    state = "intact" if report.ok else f"{len(report.problems)} problem(s)"
    print(f"{report.lines} line(s) in {report.files} file(s), chain from {start}: {state}")
    return 0 if report.ok else 1


def add_audit_commands(sub: Any) -> None:
    """Add ``audit show`` and ``audit verify`` to the top-level subparsers ``sub``."""
    audit = sub.add_parser("audit", help="read and verify the staff audit log")
    actions = audit.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="events, newest first")
    show.add_argument("--since", type=_day, help="from this UTC day (YYYY-MM-DD)")
    show.add_argument("--until", type=_day, help="to this UTC day (YYYY-MM-DD)")
    show.add_argument("--kind", choices=[k.value for k in AuditKind])
    show.add_argument("--actor", help="an account name (acting or acted upon), or cli:NAME")
    show.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    show.add_argument("--json", action="store_true", help="one JSON object per line")
    show.set_defaults(func=cmd_show)
    verify = actions.add_parser("verify", help="check the SHA-256 chain over every file")
    verify.set_defaults(func=cmd_verify)
