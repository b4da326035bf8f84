"""Property: no HTTP request, to any route in the app's own router table, gets a 5xx answer,
shows a traceback, or makes the server log an unhandled error or the sender's address.

The routes are read from ``app.router`` at test time, so a route added later is fuzzed
without anyone listing it. The server is real (a TCP port, the privacy access logger, a real
redis-server); requests come from the loopback address 127.0.0.2, which must appear in no log
line. Hypothesis runs in a worker thread and hands each request to the test's event loop,
where the server runs; it is derandomized, so CI sends the same requests every time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat_server.config import Settings
from chat_server.store.login_throttle import ThrottleSettings
from tests.fuzz.http_cases import (
    REQUEST_TIMEOUT_S,
    SESSION_COOKIE,
    SOURCE_IP,
    Case,
    Staff,
    app_routes,
    catalogue,
    raw_catalogue,
    requests,
    send,
    send_raw,
    with_session,
)
from tests.support.servers import (
    TEST_PASSWORD,
    RunningServer,
    free_port,
    make_settings,
    running_server,
)

# Each route's fixed catalogue (see http_cases.catalogue) goes CATALOGUE_BATCH requests at a
# time (a login takes 0.25 s and an argon2 hash however it ends); then Hypothesis draws this
# many random requests over all routes.
CATALOGUE_BATCH = 16
EXAMPLES = 300
RAW_EXAMPLES = 100
LOG_WAIT_S = 10.0
SUPERVISOR = "sara"


@dataclass
class Answer:
    status: int
    body: str
    log_lines: list[str]


class LogWatch(logging.Handler):
    """Every server log line, and a wait until the access logger has written a line for each
    request sent (it writes after the answer has left, so the client can be faster)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []
        self.access_lines = 0
        self._loop = loop
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.name == "chat_server.access":
            self.access_lines += 1
        self._loop.call_soon_threadsafe(self._changed.set)  # a record may come from a thread

    async def wait_for_access_lines(self, count: int) -> None:
        async with asyncio.timeout(LOG_WAIT_S):
            while self.access_lines < count:
                self._changed.clear()
                await self._changed.wait()


@contextlib.contextmanager
def watching_logs(watch: LogWatch) -> Iterator[LogWatch]:
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
        root.setLevel(old_level)


def suspicious(lines: list[str]) -> list[str]:
    """Lines that tell of an unhandled exception or carry the sender's address (the log
    redaction writes an exception as "Traceback (most recent call last, message withheld)")."""
    return [
        line
        for line in lines
        if "Traceback" in line or "unhandled error" in line or SOURCE_IP in line
    ]


def fuzz_settings(redis_url: str, staff_file: Path) -> Settings:
    """The test settings with the login throttle's waits out of the way (a fuzzed login must
    still get its answer, but not after 16 s)."""
    base = make_settings(redis_url, staff_file, free_port())
    quick = ThrottleSettings(free_failures=1_000_000, global_burst=1_000_000, flood_delay_s=0)
    return base.with_overrides(console=replace(base.console, throttle=quick))


class Fuzzer:
    """One server, one client from SOURCE_IP, the log watch, and a supervisor's session that
    is renewed whenever a fuzzed logout has ended it."""

    def __init__(self, server: RunningServer, http: aiohttp.ClientSession, watch: LogWatch):
        self.server, self.http, self.watch = server, http, watch
        self.loop = asyncio.get_running_loop()
        self.staff: Staff | None = None
        self._sent = 0

    async def _counted(self, sending: Awaitable[tuple[int, str]]) -> tuple[int, str]:
        """Send one request and wait for its access-log line (and every earlier one)."""
        answer = await sending
        self._sent += 1
        await self.watch.wait_for_access_lines(self._sent)
        return answer

    async def signed_in(self) -> Staff:
        """The supervisor's session, signing in again if it no longer works."""
        if self.staff is not None:
            status, _ = await self._counted(self._csrf(self.staff.cookie))
            if status == 200:
                return self.staff
        url = self.server.url
        form = {"username": SUPERVISOR, "password": TEST_PASSWORD}
        login = self.http.post(
            f"{url}/console/login", data=form, headers={"Origin": url}, allow_redirects=False
        )
        async with login as response:
            cookie = response.cookies[SESSION_COOKIE].value
        self._sent += 1
        status, csrf = await self._counted(self._csrf(cookie))
        assert status == 200, csrf
        self.staff = Staff(cookie, csrf)
        return self.staff

    async def _csrf(self, cookie: str) -> tuple[int, str]:
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
        async with self.http.get(f"{self.server.url}/console/api/me", headers=headers) as got:
            return got.status, str((await got.json())["csrf"]) if got.status == 200 else ""

    async def answer(self, case: Case, *, raw: bool) -> tuple[int, str]:
        if raw:
            return await send_raw(self.server.settings.port, case)
        return await send(self.http, self.server.url, case)

    async def sweep(self, cases: list[Case], *, raw: bool) -> None:
        """Send the fixed cases, CATALOGUE_BATCH at a time, with a live session: every answer,
        and the log lines of its batch, must be safe."""
        for start in range(0, len(cases), CATALOGUE_BATCH):
            staff = await self.signed_in()
            batch = [with_session(case, staff) for case in cases[start : start + CATALOGUE_BATCH]]
            before = len(self.watch.lines)
            answers = await asyncio.gather(*(self.answer(case, raw=raw) for case in batch))
            self._sent += len(batch)
            await self.watch.wait_for_access_lines(self._sent)
            for case, (status, body) in zip(batch, answers, strict=True):
                assert 100 <= status < 500, (case, status, body[:300])
                assert "Traceback" not in body, case
            assert not suspicious(self.watch.lines[before:]), batch

    async def one(self, case: Case, *, raw: bool) -> Answer:
        """Send ``case`` with the session alive now; the answer and the lines logged."""
        before = len(self.watch.lines)
        sent = with_session(case, await self.signed_in()) if case.signed_in else case
        status, body = await self._counted(self.answer(sent, raw=raw))
        return Answer(status, body, self.watch.lines[before:])

    def check(self, case: Case, *, raw: bool) -> None:
        """Send ``case`` from this (Hypothesis') thread through the server's loop; assert the
        answer and the log lines are safe."""
        future = asyncio.run_coroutine_threadsafe(self.one(case, raw=raw), self.loop)
        answer = future.result(REQUEST_TIMEOUT_S + LOG_WAIT_S)
        assert 100 <= answer.status < 500, (answer.status, answer.body[:300])
        assert "Traceback" not in answer.body
        assert not suspicious(answer.log_lines)

    async def fuzz(self, *, raw: bool = False) -> None:
        """Every route's fixed catalogue, then Hypothesis' examples over all routes (in a
        worker thread, each request handed to this loop)."""
        routes = app_routes(self.server.app)
        assert "/callback" in {route.template for route in routes}
        fixed = raw_catalogue if raw else catalogue
        for route in routes:
            await self.sweep(fixed(route, self.server.url), raw=raw)
        chosen = st.one_of([requests(route, self.server.url, raw=raw) for route in routes])

        @settings(
            max_examples=RAW_EXAMPLES if raw else EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(chosen)
        def every_answer_is_safe(case: Case) -> None:
            self.check(case, raw=raw)

        await asyncio.to_thread(every_answer_is_safe)


@contextlib.asynccontextmanager
async def fuzzer(redis_url: str, staff_file: Path) -> AsyncIterator[Fuzzer]:
    """A Fuzzer on a fresh server; afterwards the server still serves normally, and no log
    line of the whole run is suspicious."""
    with watching_logs(LogWatch(asyncio.get_running_loop())) as watch:
        async with running_server(fuzz_settings(redis_url, staff_file)) as server:
            connector = aiohttp.TCPConnector(local_addr=(SOURCE_IP, 0), force_close=True)
            async with aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # send exactly the generated cookies
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            ) as http:
                yield Fuzzer(server, http, watch)
            await still_serves(server)
        assert not suspicious(watch.lines)


async def still_serves(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/healthz") as response:
            assert response.status == 200
        async with http.get(f"{server.url}/api/status", headers={"Origin": server.url}) as answer:
            assert answer.status == 200
            assert answer.headers["Access-Control-Allow-Origin"] == server.url


async def test_no_request_to_any_route_gets_a_5xx_a_traceback_or_logs_the_sender(
    redis_url: str, staff_file: Path
) -> None:
    """Broken bodies, content types, methods, queries and headers (anonymous, junk cookies,
    or a supervisor's real session and CSRF token) on every route of the router: each answer
    is below 500 with no traceback, no log line tells of an unhandled error or holds the
    sender's address, and the server serves normally afterwards."""
    async with fuzzer(redis_url, staff_file) as fuzz:
        await fuzz.fuzz()


async def test_header_bytes_that_are_not_utf8_get_no_5xx_on_any_route(
    redis_url: str, staff_file: Path
) -> None:
    """Raw requests whose Cookie, CSRF token, Origin, Content-Type and other header values
    hold bytes that are not UTF-8 (aiohttp hands them on as lone surrogates), to every route:
    the same promises as above."""
    async with fuzzer(redis_url, staff_file) as fuzz:
        await fuzz.fuzz(raw=True)
