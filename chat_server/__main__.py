"""Command line: ``serve``, ``demo`` and staff account management (``user ...``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import secrets
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from .accounts import AccountError, StaffDirectory
from .app import create_app
from .config import Settings, SettingsError, load_settings
from .domain.models import Role
from .store.embedded import EmbeddedRedis, EmbeddedRedisError
from .web.security import PrivacyAccessLogger

log = logging.getLogger("chat_server")
DEMO_USER = "demo"


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


async def _serve(settings: Settings, banner: Sequence[str] = ()) -> None:
    runner = web.AppRunner(
        create_app(settings), access_log_class=PrivacyAccessLogger, handle_signals=False
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before the banner: a stop is never missed
        loop.add_signal_handler(sig, stop.set)
    for line in banner:
        print(line, flush=True)
    log.info("listening on %s:%s", settings.host, settings.port)
    await stop.wait()
    await runner.cleanup()


def _run(settings: Settings, banner: Sequence[str] = ()) -> None:
    """Serve until SIGINT/SIGTERM, with a private Redis when no REDIS_URL is given."""
    embedded: EmbeddedRedis | None = None
    if not settings.redis_url:
        embedded = EmbeddedRedis().start()
        settings = settings.with_overrides(redis_url=embedded.url)
        log.info("started a private embedded Redis (nothing is written to disk)")
    try:
        asyncio.run(_serve(settings, banner))
    finally:
        if embedded:
            embedded.stop()


def cmd_serve(_args: argparse.Namespace) -> int:
    _run(load_settings())
    return 0


def cmd_demo(_args: argparse.Namespace) -> int:
    settings = load_settings(demo=True)
    staff = StaffDirectory(settings.staff_file)
    password = secrets.token_urlsafe(12)
    if staff.get(DEMO_USER):
        staff.update(DEMO_USER, password=password, disabled=False)
    else:
        staff.add(DEMO_USER, password, display_name="Demo", languages=("sv", "en"))
    base = settings.public_url
    _run(
        settings,
        [
            "",
            "nexus-chat demo is running.",
            f"  Demo page with the chat widget:  {base}/",
            f"  Duty console:                    {base}/console/",
            f"  Console login:  user '{DEMO_USER}'  password '{password}'  (new each start)",
            "Stop with Ctrl+C.",
            "",
        ],
    )
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise AccountError("the passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    staff = StaffDirectory(load_settings().staff_file)
    if args.action == "list":
        for a in staff.all():
            state = "disabled" if a.disabled else "active"
            print(
                f"{a.username}\t{a.role.value}\t{state}\tlang={','.join(a.languages)}\t"
                f"topics={','.join(a.topics)}\tcapacity={a.capacity}\tbackup={a.backup}"
            )
        return 0
    if args.action == "add":
        staff.add(
            args.username,
            _read_password(args),
            role=Role(args.role),
            display_name=args.name or "",
            languages=tuple(args.languages.split(",")),
        )
    elif args.action == "disable":
        staff.update(args.username, disabled=True)
    elif args.action == "enable":
        staff.update(args.username, disabled=False)
    elif args.action == "set-password":
        staff.update(args.username, password=_read_password(args))
    print(f"{args.action}: {args.username} done")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nexus-chat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service (settings from the environment)").set_defaults(
        func=cmd_serve
    )
    sub.add_parser("demo", help="run with a demo page and a demo counsellor").set_defaults(
        func=cmd_demo
    )
    user = sub.add_parser("user", help="manage staff accounts (the staff file)")
    user.set_defaults(func=cmd_user)
    actions = user.add_subparsers(dest="action", required=True)
    actions.add_parser("list")
    for name in ("add", "disable", "enable", "set-password"):
        action = actions.add_parser(name)
        action.add_argument("username")
        if name in ("add", "set-password"):
            action.add_argument(
                "--password-stdin",
                action="store_true",
                help="read the password from standard input",
            )
        if name == "add":
            action.add_argument("--role", choices=[r.value for r in Role], default="counsellor")
            action.add_argument("--name", help="display name in the console")
            action.add_argument("--languages", default="sv", help="comma-separated, e.g. sv,en,ar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    try:
        return int(args.func(args))
    except (AccountError, EmbeddedRedisError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
