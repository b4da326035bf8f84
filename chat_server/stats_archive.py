"""The durable home of the statistics: one JSON roll-up file of counts per day.

``<stats dir>/YYYY-MM-DD.json`` holds ``{"version": 1, "date": ..., "counters": {...}}``:
counter names from :mod:`chat_server.domain.stats` and whole numbers, nothing else. Redis
(which keeps no snapshot, see ops/redis.conf) is the working copy; :class:`StatsRollup` copies
the recent days' counters to their files every ``stats_flush_interval_s`` and at shutdown,
each file written whole to a temporary file and renamed over the old one, so a crash leaves
the old file or the new one, never half of one.

If Redis loses a day (a restart), the next flush (one runs at startup too) first folds the
day's file back into Redis, once (``StatsStore.merge_archived``); until then readers add file
and Redis together (:func:`read_range`). At most the counts of one flush interval before the
loss are lost. A file never loses a count: each field is written as the larger of the file's
and Redis's value (so counters may only grow: a decrement would never reach the file).

Each flush first counts the late outcomes whose grace period ran out
(``StatsStore.settle_overdue_outcomes``): every instance flushes, so the sweep needs no task
of its own, and the days it counts on are rolled up in the same pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Final

from redis.exceptions import RedisError

from .domain.stats import is_counter_field
from .domain.stats_export import merge_days
from .store.stats import StatsStore

log = logging.getLogger(__name__)

ARCHIVE_VERSION: Final = 1
MAX_FILE_BYTES: Final = 1_000_000  # a day has a few hundred counters; anything huge is not ours


class ArchiveError(ValueError):
    """A roll-up file that is not what this module writes; it is left untouched."""


class StatsArchive:
    """Reads and writes the per-day roll-up files in ``directory`` (created 0700 on write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, day: date) -> Path:
        return self.directory / f"{day.isoformat()}.json"

    def read(self, day: date) -> dict[str, int]:
        """The day's archived counters, {} if it has no file. Raises ArchiveError if the file
        is not a roll-up of that day (wrong shape, a field that is not a counter, a negative
        or non-integer count)."""
        path = self.path_for(day)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return {}
        if len(raw) > MAX_FILE_BYTES:
            raise ArchiveError(f"{path.name}: larger than any roll-up")
        try:
            data = json.loads(raw)
        except ValueError:
            raise ArchiveError(f"{path.name}: not JSON") from None
        if not isinstance(data, dict) or data.get("date") != day.isoformat():
            raise ArchiveError(f"{path.name}: not a roll-up of {day.isoformat()}")
        counters = data.get("counters")
        if not isinstance(counters, dict) or not all(
            isinstance(name, str) and is_counter_field(name) for name in counters
        ):
            raise ArchiveError(f"{path.name}: unknown counter names")
        if not all(type(n) is int and n >= 0 for n in counters.values()):
            raise ArchiveError(f"{path.name}: counts must be whole numbers ≥ 0")
        return dict(counters)

    def read_or_empty(self, day: date) -> dict[str, int]:
        """Like :meth:`read`, but a damaged file counts as empty (and is logged by name)."""
        try:
            return self.read(day)
        except (ArchiveError, OSError) as error:
            log.error("statistics roll-up unreadable, left out: %s", error)
            return {}

    def write(self, day: date, counters: Mapping[str, int]) -> None:
        """Replace the day's file atomically (write, fsync, rename, fsync the directory)."""
        if not all(is_counter_field(name) and count >= 0 for name, count in counters.items()):
            raise ArchiveError("only counters with counts ≥ 0 can be archived")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        body = {"version": ARCHIVE_VERSION, "date": day.isoformat(), "counters": dict(counters)}
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".roll-up-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(body, handle, sort_keys=True, indent=0)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path_for(day))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


async def read_range(
    store: StatsStore, archive: StatsArchive, days: Iterable[date]
) -> dict[date, dict[str, int]]:
    """Every day's counters, from Redis where it holds the whole day, else file + Redis."""
    wanted = list(days)
    in_redis = await store.read_days(wanted)
    from_files = [day for day in wanted if not (day in in_redis and in_redis[day].merged)]
    archived = await asyncio.to_thread(lambda: {d: archive.read_or_empty(d) for d in from_files})
    result = {}
    for day in wanted:
        stored = in_redis.get(day)
        if stored is not None and stored.merged:
            result[day] = stored.counters
        else:
            result[day] = merge_days([archived.get(day, {}), stored.counters if stored else {}])
    return result


class StatsRollup:
    """Copies the recent days between Redis and the archive; one per server instance."""

    def __init__(
        self,
        store: StatsStore,
        archive: StatsArchive,
        interval_s: float,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.archive = archive
        self.interval_s = interval_s
        self.on_failure = on_failure
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Restore what Redis lost (today and yesterday), then flush every interval."""
        await self.flush()
        self._task = asyncio.create_task(self._loop(), name="stats-rollup")

    async def stop(self) -> None:
        """Stop the loop and write a last roll-up."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        """Count the late outcomes whose grace period is over (as "unspecified"), then roll up
        yesterday, today and every day counted on since the last flush. Never raises: a
        failure is logged and counted, and the next flush tries again."""
        try:
            await self.store.settle_overdue_outcomes()
        except RedisError as error:
            self._failed()
            log.error("settling overdue outcomes failed: %s", type(error).__name__)
        today = self.store.today()
        days = {today - timedelta(days=1), today, *self.store.touched_days}
        self.store.touched_days.clear()
        for day in sorted(days):
            try:
                await self._flush_day(day)
            except (RedisError, OSError, ArchiveError) as error:
                self._failed()
                self.store.touched_days.add(day)
                log.error("statistics roll-up of %s failed: %s", day, type(error).__name__)

    def _failed(self) -> None:
        self.failures += 1
        if self.on_failure:
            self.on_failure()

    async def _flush_day(self, day: date) -> None:
        archived = await asyncio.to_thread(self.archive.read, day)
        stored = (await self.store.read_days([day])).get(day)
        if stored is None and not archived:
            return  # a day without a count so far
        if stored is None or not stored.merged:
            await self.store.merge_archived(day, archived)
            stored = (await self.store.read_days([day])).get(day)
        if stored is None:
            return
        names = set(archived) | set(stored.counters)
        counters = {n: max(archived.get(n, 0), stored.counters.get(n, 0)) for n in names}
        if counters and counters != archived:
            await asyncio.to_thread(self.archive.write, day, counters)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.flush()
