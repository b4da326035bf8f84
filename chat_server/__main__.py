"""Command line: ``serve``, ``demo``, staff accounts (``user ...``) and the audit log
(``audit show | verify``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from . import audit_cli, user_cli
from .accounts import AccountError, StaffDirectory
from .app import create_app
from .config import Settings, SettingsError, load_settings
from .store.embedded import EmbeddedRedis, EmbeddedRedisError
from .web.security import PrivacyAccessLogger

log = logging.getLogger("chat_server")
DEMO_USER = "demo"
# After a restart every visitor reconnects at once; the default 128 would drop SYNs and
# make clients wait for TCP retransmits (the kernel caps it at net.core.somaxconn).
LISTEN_BACKLOG = 4096


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


async def _serve(settings: Settings, banner: Sequence[str] = ()) -> None:
    runner = web.AppRunner(
        create_app(settings), access_log_class=PrivacyAccessLogger, handle_signals=False
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, backlog=LISTEN_BACKLOG)
    await site.start()
    # Everything allocated so far (modules, phone-number metadata, the app) lives as long as the
    # process: move it out of the cyclic collector's reach. Otherwise each full collection
    # walks ~60,000 such objects, a 40-50 ms stall in the middle of the chats (measured).
    gc.freeze()
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
    if settings.redis_url and settings.message_keys is None and not settings.demo:
        raise SettingsError(
            "NEXUS_MESSAGE_KEY is required with REDIS_URL: base64 of 32 random bytes, the same "
            "on every instance (make one: python -c 'import secrets, base64; "
            "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')"
        )
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


def cmd_user(args: argparse.Namespace) -> int:
    return user_cli.cmd_user(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nexus-chat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service (settings from the environment)").set_defaults(
        func=cmd_serve
    )
    sub.add_parser("demo", help="run with a demo page and a demo counsellor").set_defaults(
        func=cmd_demo
    )
    user_cli.add_user_commands(sub)
    audit_cli.add_audit_commands(sub)
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
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
