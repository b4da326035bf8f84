"""Staff login security: argon2id, rehash, session rotation, throttling without lockout, TOTP."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import argon2
import pyotp
import pytest
import pytest_asyncio
import redis

from chat_server.accounts import HASHER, StaffDirectory
from chat_server.store.login_throttle import ThrottleSettings, account_delay_s
from chat_server.web.appkeys import SERVICES
from chat_server.web.auth_routes import LOGIN_THROTTLE
from chat_server.web.console_settings import ConsoleSettings
from tests.support.console_app import api_get, console_server, post_login
from tests.support.servers import TEST_PASSWORD, RunningServer, free_port, make_settings

FAILED = "/console/login?failed=1"
FAST_THROTTLE = ThrottleSettings(
    free_failures=2,
    base_delay_s=0.6,
    max_delay_s=1.2,
    window_s=60,
    global_burst=1000,
    global_per_s=100.0,
    flood_delay_s=0.0,
)


@pytest_asyncio.fixture
async def throttled(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    """A server whose per-account throttle starts after 2 failures, with short delays."""
    settings = make_settings(redis_url, staff_file, free_port())
    async with console_server(settings, ConsoleSettings(throttle=FAST_THROTTLE)) as running:
        yield running


@pytest_asyncio.fixture
async def lenient(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    """A server whose throttle never delays (for timing and TOTP tests)."""
    no_delay = ThrottleSettings(free_failures=10_000, global_burst=10_000, flood_delay_s=0.0)
    settings = make_settings(redis_url, staff_file, free_port())
    async with console_server(settings, ConsoleSettings(throttle=no_delay)) as running:
        yield running


async def throttle_wait_s(server: RunningServer, username: str) -> float:
    """The wait the server's own login throttle sets now before checking ``username``.

    Tests assert "not slowed" with this decision, not with a stopwatch: how long a login
    takes on a busy machine says nothing about whether the server chose to wait."""
    services = server.app[SERVICES]
    return await server.app[LOGIN_THROTTLE].wait_before_check_s(username, services.clock_ms())


def test_password_hashes_meet_the_owasp_minimum() -> None:
    """The hasher makes argon2id with m ≥ 19 MiB, t ≥ 2, p ≥ 1."""
    params = argon2.extract_parameters(HASHER.hash("some long password"))
    assert params.type is argon2.Type.ID
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism >= 1


async def test_cookie_is_host_prefixed_secure_httponly_strict(lenient: RunningServer) -> None:
    """The session cookie is __Host-, Secure, HttpOnly, SameSite=Strict, Path=/, no Domain."""
    answer = await post_login(lenient, "anna")
    (cookie,) = answer.set_cookies
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0].startswith("__host-nexus_session=")
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= set(parts)
    assert not any(p.startswith("domain") for p in parts)
    assert len(answer.session_id) >= 22  # ≥ 128 bits in url-safe base64


async def test_weak_hash_is_upgraded_at_login(lenient: RunningServer, staff_file: Path) -> None:
    """A hash with old parameters still logs in, and the staff file then holds a current one."""
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    raw = json.loads(staff_file.read_text("utf-8"))
    for account in raw["accounts"]:
        if account["username"] == "anna":
            account["password_hash"] = weak.hash(TEST_PASSWORD)
    staff_file.write_text(json.dumps(raw), "utf-8")
    answer = await post_login(lenient, "anna")
    assert answer.location == "/console/"
    anna = StaffDirectory(staff_file).get("anna")
    assert anna is not None and not HASHER.check_needs_rehash(anna.password_hash)
    status, _ = await api_get(lenient, "/console/api/me", answer.session_id)
    assert status == 200  # a rehash is not a password change: the new session lives


async def test_login_rotates_the_session_id(lenient: RunningServer) -> None:
    """Logging in with a session cookie gives a new id and ends the old session."""
    first = await post_login(lenient, "anna")
    second = await post_login(lenient, "anna", cookie=first.session_id)
    assert second.session_id and second.session_id != first.session_id
    assert (await api_get(lenient, "/console/api/me", first.session_id))[0] == 401
    assert (await api_get(lenient, "/console/api/me", second.session_id))[0] == 200


async def test_unknown_user_and_wrong_password_take_similar_time(lenient: RunningServer) -> None:
    """An unknown username answers like a wrong password, in about the same time."""
    wrong: list[float] = []
    unknown: list[float] = []
    for _ in range(4):
        for name, password, spent in (("anna", "wrong password!", wrong), ("nobody", "x", unknown)):
            started = time.perf_counter()
            answer = await post_login(lenient, name, password)
            spent.append(time.perf_counter() - started)
            assert (answer.status, answer.location, answer.set_cookies) == (303, FAILED, [])
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.5 <= ratio <= 2.0, (unknown, wrong)


def test_account_delay_grows_exponentially_and_is_capped() -> None:
    """No delay for the free failures, then doubling, never above the cap."""
    s = ThrottleSettings(free_failures=3, base_delay_s=1.0, max_delay_s=16.0)
    assert [account_delay_s(n, s) for n in range(9)] == [0, 0, 0, 1, 2, 4, 8, 16, 16]
    assert account_delay_s(10_000, s) == 16


async def test_repeated_failures_slow_the_account_but_never_lock_it(
    throttled: RunningServer, raw_redis: redis.Redis
) -> None:
    """After the free failures each attempt waits; the right password still gets in."""
    for _ in range(2):
        assert (await post_login(throttled, "anna", "wrong password!")).location == FAILED
    started = time.perf_counter()
    assert (await post_login(throttled, "anna", "wrong again!!")).location == FAILED
    assert time.perf_counter() - started >= 0.55
    assert await throttle_wait_s(throttled, "anna") > 0
    assert await throttle_wait_s(throttled, "bo") == 0  # another account is never slowed
    started = time.perf_counter()
    answer = await post_login(throttled, "anna")
    assert answer.location == "/console/" and answer.session_id
    assert time.perf_counter() - started >= 1.1  # waited (3 failures: 1.2 s), not refused
    assert await throttle_wait_s(throttled, "anna") == 0  # a success forgets the failures
    assert (await post_login(throttled, "anna")).location == "/console/"
    assert (await post_login(throttled, "bo")).location == "/console/"


async def test_throttle_counters_hide_usernames_and_expire(
    throttled: RunningServer, raw_redis: redis.Redis
) -> None:
    """Failure counters are keyed by a keyed hash of the username and carry a TTL."""
    assert (await post_login(throttled, "anna", "wrong password!")).location == FAILED
    assert (await post_login(throttled, "nobody-marker", "x")).location == FAILED
    keys = list(raw_redis.scan_iter("nx:login:*"))
    assert [k for k in keys if k.startswith("nx:login:acct:")]
    for key in keys:
        assert "anna" not in key and "marker" not in key
        assert 0 < raw_redis.ttl(key) <= 86400
        if raw_redis.type(key) == "hash":
            assert "marker" not in json.dumps(raw_redis.hgetall(key))


async def test_password_spraying_drains_the_global_bucket(redis_url: str, staff_file: Path) -> None:
    """Failures across many usernames empty the global bucket: then every attempt waits the
    flood delay, and a right password still succeeds."""
    flood = ThrottleSettings(
        free_failures=100, global_burst=3, global_per_s=0.01, flood_delay_s=0.8, window_s=60
    )
    settings = make_settings(redis_url, staff_file, free_port())
    async with console_server(settings, ConsoleSettings(throttle=flood)) as server:
        assert await throttle_wait_s(server, "bo") == 0  # the bucket is full
        assert (await post_login(server, "bo")).location == "/console/"
        for name in ("spray1", "spray2", "spray3"):
            assert (await post_login(server, name, "Summer2024!!")).location == FAILED
        assert await throttle_wait_s(server, "bo") == flood.flood_delay_s  # now it is empty
        started = time.perf_counter()
        assert (await post_login(server, "bo")).location == "/console/"
        assert time.perf_counter() - started >= 0.8


@pytest_asyncio.fixture
async def frozen(redis_url: str, staff_file: Path) -> AsyncIterator[tuple[RunningServer, float]]:
    """A lenient server whose clock stands still mid-way through a TOTP step, and that time:
    a test's codes are then a known number of steps from the server's, however slow it runs."""
    now_s = time.time() // 30 * 30 + 15
    no_delay = ThrottleSettings(free_failures=10_000, global_burst=10_000, flood_delay_s=0.0)
    settings = make_settings(redis_url, staff_file, free_port())
    async with console_server(
        settings, ConsoleSettings(throttle=no_delay), clock_ms=lambda: int(now_s * 1000)
    ) as running:
        yield running, now_s


def _enable_totp(staff_file: Path, username: str) -> pyotp.TOTP:
    return pyotp.TOTP(StaffDirectory(staff_file).enable_totp(username))


async def test_totp_is_required_when_enabled(lenient: RunningServer, staff_file: Path) -> None:
    """With TOTP on, the password alone or a wrong code fails the same way; the right code works."""
    totp = _enable_totp(staff_file, "anna")
    assert (await post_login(lenient, "anna")).location == FAILED
    assert (await post_login(lenient, "anna", code="000000")).location == FAILED
    wrong_password = await post_login(lenient, "anna", "wrong password!", code=totp.now())
    assert wrong_password.location == FAILED
    answer = await post_login(lenient, "anna", code=totp.now())
    assert answer.location == "/console/" and answer.session_id
    assert (await post_login(lenient, "bo")).location == "/console/"  # others need no code


async def test_totp_code_cannot_be_used_twice(
    frozen: tuple[RunningServer, float], staff_file: Path
) -> None:
    """A code that was accepted is refused when replayed, and so is an older step's code."""
    lenient, now = frozen
    totp = _enable_totp(staff_file, "anna")
    assert (await post_login(lenient, "anna", code=totp.at(now))).location == "/console/"
    assert (await post_login(lenient, "anna", code=totp.at(now))).location == FAILED
    assert (await post_login(lenient, "anna", code=totp.at(now - 30))).location == FAILED


async def test_totp_accepts_one_step_of_drift_only(
    frozen: tuple[RunningServer, float], staff_file: Path
) -> None:
    """A code one step old is accepted; two steps away, either way, is refused."""
    lenient, now = frozen
    totp = _enable_totp(staff_file, "anna")
    assert (await post_login(lenient, "anna", code=totp.at(now - 60))).location == FAILED
    assert (await post_login(lenient, "anna", code=totp.at(now + 60))).location == FAILED
    assert (await post_login(lenient, "anna", code=totp.at(now - 30))).location == "/console/"


async def test_foreign_origin_login_is_refused_before_any_check(lenient: RunningServer) -> None:
    """Login CSRF: a form from another site gets 403 and no cookie."""
    answer = await post_login(lenient, "anna", origin="https://evil.example")
    assert answer.status == 403 and answer.set_cookies == []


@pytest.mark.parametrize("path", ["/console/api/me", "/console/api/staff"])
async def test_api_without_a_session_is_401(lenient: RunningServer, path: str) -> None:
    """The console API answers 401 JSON without a session, and with a made-up one."""
    assert (await api_get(lenient, path))[0] == 401
    assert (await api_get(lenient, path, "made-up-session-id"))[0] == 401
