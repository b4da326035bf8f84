"""The staff audit log on disk: append-only JSON lines, one file per UTC day, hash-chained.

``<audit dir>/audit-YYYY-MM-DD.jsonl`` (0600, in a 0700 directory) holds one event per line
(:mod:`chat_server.domain.audit` builds and checks them). Every writer on the host (each
server instance and each ``nexus-chat user`` command) appends under an exclusive ``flock`` of
``<audit dir>/.lock``: it reads the last line written, puts its SHA-256 into the new line's
``prev``, appends the line with one ``write`` on an ``O_APPEND`` descriptor and fsyncs. So the
whole host keeps one chain across the day files, and ``verify`` finds an edited, inserted or
removed line (only the end of the chain, the newest lines, can be cut unnoticed: ship the
lines off the host for that, see docs/audit.md).

Files older than the retention setting are deleted whole: when a writer starts a new day's
file, and by each server at start and every hour (:meth:`AuditLog.prune`).

An audit write that fails (a full disk, a read-only directory) never fails the staff member's
request: it is logged (without the event) and counted; see :attr:`AuditLog.failures`.

Failed sign-ins are the one event anyone on the internet can cause. Once a day's file holds
``FAILED_SIGN_IN_CAP_BYTES``, further failed sign-ins that day are counted in memory
(:attr:`AuditLog.capped`, logged once) instead of written, so a password-guessing flood cannot
fill the disk; every other event is still written.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from .domain.audit import (
    GENESIS,
    MAX_LINE_BYTES,
    AuditEvent,
    AuditEventError,
    AuditKind,
    build_event,
    chain_line,
    line_hash,
    matches,
    parse_line,
)

log = logging.getLogger(__name__)

FILE_PATTERN: Final = re.compile(r"audit-(\d{4}-\d{2}-\d{2})\.jsonl")
LOCK_NAME: Final = ".lock"
PRUNE_EVERY_S: Final = 3600.0
MAX_PAGE: Final = 200
FAILED_SIGN_IN_CAP_BYTES: Final = 32 * 1024 * 1024  # ~150,000 lines: far beyond a real day
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def default_instance(prefix: str = "") -> str:
    """``<host>:<pid>`` (with ``prefix`` before it), in the characters an instance id allows."""
    host = re.sub(r"[^A-Za-z0-9._-]", "", socket.gethostname())[:40] or "host"
    return f"{prefix}{host}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Page:
    """Events newest first and the cursor of the next (older) page, None at the end."""

    events: list[dict[str, str]]
    next_cursor: str | None


@dataclass(slots=True)
class VerifyReport:
    files: int = 0
    lines: int = 0
    starts_at_genesis: bool = True
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class CursorError(ValueError):
    """A paging cursor this module did not hand out."""


class AuditLog:
    """Writes and reads the audit files of ``directory``; one per process is enough."""

    def __init__(
        self,
        directory: Path,
        retention_days: int,
        instance: str = "",
        clock: Clock = utc_now,
        failed_sign_in_cap_bytes: int = FAILED_SIGN_IN_CAP_BYTES,
    ) -> None:
        self.directory = directory
        self.retention_days = retention_days
        self.instance = instance or default_instance()
        self.clock = clock
        self.failed_sign_in_cap_bytes = failed_sign_in_cap_bytes
        self.failures = 0
        self.capped = 0

    # --- files ------------------------------------------------------------------------

    def path_for(self, day: date) -> Path:
        return self.directory / f"audit-{day.isoformat()}.jsonl"

    def days(self) -> list[date]:
        """The days that have a file, oldest first."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            hit = FILE_PATTERN.fullmatch(name)
            if hit:
                with contextlib.suppress(ValueError):
                    found.append(date.fromisoformat(hit.group(1)))
        return sorted(found)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # --- writing ----------------------------------------------------------------------

    def append(self, event: AuditEvent) -> bool:
        """Chain and append ``event`` (raises OSError); False if it was a failed sign-in over
        the day's cap (counted, not written). The line goes to the event's day, or to the
        newest file if the clock stepped back past it, so the chain stays in order."""
        with self._locked():
            days = self.days()
            day = max([event.day, *days[-1:]])
            if event.kind is AuditKind.SIGN_IN_FAILED and self._over_cap(day):
                self.capped += 1
                if self.capped == 1:
                    log.warning("audit log: today's failed sign-ins are counted, not written")
                return False
            prev, ends_cleanly = self._last_hash(days[-1]) if days else (GENESIS, True)
            line = chain_line(event, prev) + b"\n"
            if not ends_cleanly:
                line = b"\n" + line  # after a torn line (a crash mid-write): verify names it
            new_file = not days or day != days[-1]
            fd = os.open(self.path_for(day), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if new_file:
                self._prune_locked(day)
        return True

    def _over_cap(self, day: date) -> bool:
        try:
            return self.path_for(day).stat().st_size >= self.failed_sign_in_cap_bytes
        except FileNotFoundError:
            return False

    def _last_hash(self, day: date) -> tuple[str, bool]:
        """The hash of the file's last line and whether the file ends with a newline."""
        with self.path_for(day).open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 2 * MAX_LINE_BYTES - 4))
            tail = handle.read()
        lines = [part for part in tail.split(b"\n") if part]
        if not lines:
            return GENESIS, True
        return line_hash(lines[-1]), tail.endswith(b"\n")

    def record(self, kind: AuditKind | str, actor: str, **fields: Any) -> bool:
        """Build (see ``domain.audit.build_event``), stamp with now and this instance, and
        append an event. A bad event raises AuditEventError (a bug at the call site); a
        failed write is logged and counted and returns False, never raises."""
        fields.setdefault("instance", self.instance)
        event = build_event(kind, actor, at=self.clock(), **fields)
        try:
            self.append(event)
        except OSError as error:
            self.failures += 1
            log.error("audit log write failed: %s", type(error).__name__)
            return False
        return True

    async def arecord(self, kind: AuditKind | str, actor: str, **fields: Any) -> bool:
        """:meth:`record` off the event loop (it takes a file lock and fsyncs)."""
        event_fields = {"instance": self.instance, **fields}
        event = build_event(kind, actor, at=self.clock(), **event_fields)  # errors here, now
        try:
            await asyncio.to_thread(self.append, event)
        except OSError as error:
            self.failures += 1
            log.error("audit log write failed: %s", type(error).__name__)
            return False
        return True

    # --- retention --------------------------------------------------------------------

    def prune(self) -> list[date]:
        """Delete the files older than the retention period; returns their days."""
        with self._locked():
            return self._prune_locked(self.clock().astimezone(UTC).date())

    def _prune_locked(self, today: date) -> list[date]:
        oldest_kept = today - timedelta(days=self.retention_days - 1)
        gone = [day for day in self.days() if day < oldest_kept]
        for day in gone:
            self.path_for(day).unlink(missing_ok=True)
        return gone

    # --- reading ----------------------------------------------------------------------

    def _lines(self, day: date) -> list[bytes]:
        try:
            return self.path_for(day).read_bytes().split(b"\n")[:-1]
        except FileNotFoundError:
            return []

    def page(
        self,
        *,
        since: date | None = None,
        until: date | None = None,
        kind: str = "",
        actor: str = "",
        limit: int = 50,
        cursor: str = "",
    ) -> Page:
        """Matching events newest first, at most ``limit``; ``cursor`` (from the previous
        page) continues where it stopped. Lines that do not parse are left out (``verify``
        reports them). Raises CursorError for a cursor it did not make."""
        limit = max(1, min(limit, MAX_PAGE))
        start_day, start_index = _parse_cursor(cursor) if cursor else (None, None)
        wanted = [
            d
            for d in reversed(self.days())
            if (since is None or d >= since)
            and (until is None or d <= until)
            and (start_day is None or d <= start_day)
        ]
        found: list[dict[str, str]] = []
        for day in wanted:
            lines = self._lines(day)
            index = len(lines)
            if day == start_day and start_index is not None:
                index = min(index, start_index)
            while index > 0:
                index -= 1
                try:
                    event = parse_line(lines[index])
                except AuditEventError:
                    continue
                if matches(event, kind, actor):
                    if len(found) == limit:
                        return Page(found, f"{day.isoformat()}.{index + 1}")
                    found.append(event)
        return Page(found, None)

    def verify(self) -> VerifyReport:
        """Check the chain over every file, oldest first. The oldest remaining line may
        follow lines that retention deleted (``starts_at_genesis`` False); any other break
        is a problem: an edited, removed, inserted or torn line."""
        report = VerifyReport()
        prev: str | None = None
        for day in self.days():
            report.files += 1
            for number, line in enumerate(self._lines(day), start=1):
                report.lines += 1
                where = f"{self.path_for(day).name}:{number}"
                try:
                    data = parse_line(line)
                except AuditEventError as error:
                    report.problems.append(f"{where}: not an audit line ({error})")
                    prev = line_hash(line)
                    continue
                if prev is None:
                    report.starts_at_genesis = data["prev"] == GENESIS
                elif data["prev"] != prev:
                    report.problems.append(f"{where}: the chain breaks before this line")
                prev = line_hash(line)
        return report


def _parse_cursor(cursor: str) -> tuple[date, int]:
    day_text, _, index_text = cursor.partition(".")
    try:
        day, index = date.fromisoformat(day_text), int(index_text)
    except ValueError:
        raise CursorError("not a cursor of this log") from None
    if index < 0 or not index_text.isdigit() or len(day_text) != 10:
        raise CursorError("not a cursor of this log")
    return day, index


class AuditPruner:
    """Deletes expired files at start and every hour; one per server instance."""

    def __init__(self, audit: AuditLog, interval_s: float = PRUNE_EVERY_S) -> None:
        self.audit = audit
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._prune()
        self._task = asyncio.create_task(self._loop(), name="audit-prune")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _prune(self) -> None:
        try:
            await asyncio.to_thread(self.audit.prune)
        except OSError as error:
            log.error("audit log retention failed: %s", type(error).__name__)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self._prune()
