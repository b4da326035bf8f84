"""The audit files: appended, chained across days and writers, verified, paged and pruned."""

from __future__ import annotations

import json
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from chat_server.audit import AuditLog, CursorError
from chat_server.domain.audit import GENESIS


class Clock:
    """A settable clock for the log (days pass without waiting)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def make_log(tmp_path: Path, at: datetime, retention_days: int = 30) -> tuple[AuditLog, Clock]:
    clock = Clock(at)
    return AuditLog(tmp_path / "audit", retention_days, instance="test:1", clock=clock), clock


START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_events_go_to_a_private_file_per_utc_day(tmp_path: Path) -> None:
    """Each UTC day has its own 0600 file in a 0700 directory, one JSON line per event."""
    audit, clock = make_log(tmp_path, START)
    assert audit.record("sign_in", "anna")
    clock.at += timedelta(days=1)
    assert audit.record("sign_out", "anna")
    assert audit.days() == [date(2026, 12, 1), date(2026, 12, 2)]
    path = audit.path_for(date(2026, 12, 2))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    (line,) = path.read_text("utf-8").splitlines()
    assert json.loads(line)["kind"] == "sign_out" and json.loads(line)["instance"] == "test:1"


def test_verify_passes_an_untouched_chain_across_days(tmp_path: Path) -> None:
    """The chain runs from the genesis through every file; verify finds nothing."""
    audit, clock = make_log(tmp_path, START)
    for day in range(3):
        clock.at = START + timedelta(days=day)
        audit.record("sign_in", "anna")
        audit.record("sign_in_failed", "unknown", reason="credentials")
    report = audit.verify()
    assert report.ok and report.starts_at_genesis and (report.files, report.lines) == (3, 6)


@pytest.mark.parametrize("tamper", ["edit", "delete", "insert", "drop_file"])
def test_verify_finds_a_changed_line(tmp_path: Path, tamper: str) -> None:
    """An edited, removed or inserted line, or a removed day file, breaks the chain."""
    audit, clock = make_log(tmp_path, START)
    for day in range(3):
        clock.at = START + timedelta(days=day)
        audit.record("sign_in", "anna")
        audit.record("sign_out", "anna")
    middle = audit.path_for(date(2026, 12, 2))
    lines = middle.read_text("utf-8").splitlines(keepends=True)
    if tamper == "edit":
        lines[0] = lines[0].replace('"anna"', '"bo"')
    elif tamper == "delete":
        del lines[0]
    elif tamper == "insert":
        lines.insert(1, lines[0])
    if tamper == "drop_file":
        middle.unlink()
    else:
        middle.write_text("".join(lines), "utf-8")
    report = audit.verify()
    assert not report.ok
    assert "the chain breaks" in report.problems[0]


def test_writers_on_one_host_share_one_chain(tmp_path: Path) -> None:
    """Several writers (like instances and the CLI) appending at once keep one unbroken chain."""
    logs = [make_log(tmp_path, START)[0] for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: logs[i % 4].record("sign_in", "anna"), range(80)))
    report = logs[0].verify()
    assert report.ok and report.lines == 80


def test_retention_deletes_whole_days_older_than_the_setting(tmp_path: Path) -> None:
    """With 30 days of retention, day 31 back is deleted; a new day's first write prunes too."""
    audit, clock = make_log(tmp_path, START, retention_days=30)
    audit.record("sign_in", "anna")
    clock.at = START + timedelta(days=29)
    audit.record("sign_in", "anna")
    assert audit.prune() == [] and len(audit.days()) == 2
    clock.at = START + timedelta(days=30)
    audit.record("sign_in", "anna")  # the first line of a new day prunes
    assert audit.days() == [date(2026, 12, 30), date(2026, 12, 31)]
    clock.at = START + timedelta(days=70)
    assert audit.prune() == [date(2026, 12, 30), date(2026, 12, 31)]
    report = audit.verify()
    assert report.ok and report.lines == 0


def test_verify_accepts_a_chain_whose_start_retention_deleted(tmp_path: Path) -> None:
    """After retention the oldest line follows a deleted one: not genesis, yet no problem."""
    audit, clock = make_log(tmp_path, START, retention_days=1)
    audit.record("sign_in", "anna")
    clock.at += timedelta(days=1)
    audit.record("sign_in", "bo")
    report = audit.verify()
    assert report.ok and not report.starts_at_genesis and report.lines == 1


def test_a_torn_last_line_is_reported_and_the_log_goes_on(tmp_path: Path) -> None:
    """A line cut off by a crash is named by verify; the next event starts on a new line."""
    audit, _ = make_log(tmp_path, START)
    audit.record("sign_in", "anna")
    path = audit.path_for(START.date())
    with path.open("ab") as handle:
        handle.write(b'{"at":"2026-12-01T08:00:00')
    audit.record("sign_out", "anna")
    report = audit.verify()
    assert report.lines == 3 and len(report.problems) == 1
    assert "not an audit line" in report.problems[0]
    assert [e["kind"] for e in audit.page().events] == ["sign_out", "sign_in"]


def test_pages_run_newest_first_across_days_with_filters(tmp_path: Path) -> None:
    """Paging walks back through the days; kind, actor and date filters narrow it."""
    audit, clock = make_log(tmp_path, START)
    for day in range(3):
        clock.at = START + timedelta(days=day)
        for name in ("anna", "bo", "sara"):
            audit.record("sign_in", name)
    seen: list[str] = []
    cursor = ""
    while True:
        page = audit.page(limit=4, cursor=cursor)
        seen += [f"{e['at'][:10]} {e['actor']}" for e in page.events]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 9 and seen[0] == "2026-12-03 sara" and seen[-1] == "2026-12-01 anna"
    only_bo = audit.page(actor="bo", since=date(2026, 12, 2))
    assert [e["at"][:10] for e in only_bo.events] == ["2026-12-03", "2026-12-02"]
    assert audit.page(kind="sign_out").events == []


def test_a_foreign_cursor_is_refused(tmp_path: Path) -> None:
    """A cursor the log did not hand out raises CursorError (the route answers 400)."""
    audit, _ = make_log(tmp_path, START)
    for bad in ("x", "2026-12-01", "2026-12-01.-1", "2026-13-01.3", "2026-12-01.+3"):
        with pytest.raises(CursorError):
            audit.page(cursor=bad)


def test_a_failed_write_is_counted_not_raised(tmp_path: Path) -> None:
    """An audit directory that cannot be made makes record return False and count it."""
    audit, _ = make_log(tmp_path, START)
    audit.directory.write_text("a file where the directory should be")
    assert audit.record("sign_in", "anna") is False and audit.failures == 1


def test_genesis_is_the_first_prev(tmp_path: Path) -> None:
    """The first line ever written chains from 64 zeros."""
    audit, _ = make_log(tmp_path, START)
    audit.record("sign_in", "anna")
    assert audit.page().events[0]["prev"] == GENESIS


def test_a_flood_of_failed_sign_ins_stops_at_the_days_cap(tmp_path: Path) -> None:
    """Past the day's cap, failed sign-ins are counted, not written; other events still are."""
    clock = Clock(START)
    audit = AuditLog(tmp_path / "audit", 30, clock=clock, failed_sign_in_cap_bytes=1000)
    for _ in range(20):
        audit.record("sign_in_failed", "unknown", reason="credentials")
    audit.record("sign_in", "anna")
    path = audit.path_for(START.date())
    assert 1000 <= path.stat().st_size < 1000 + 2 * 200 + 200
    assert audit.capped > 10 and audit.page().events[0]["kind"] == "sign_in"
    clock.at += timedelta(days=1)  # a new day, a new allowance
    audit.record("sign_in_failed", "unknown", reason="credentials")
    assert audit.page(since=clock.at.date()).events[0]["kind"] == "sign_in_failed"
    assert audit.verify().ok
