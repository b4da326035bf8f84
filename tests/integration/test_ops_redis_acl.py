"""ops/redis.conf and ops/sentinel.conf, proven on real redis-server processes.

Each test starts Redis with a copy of the shipped file in which only the marked placeholders,
`port`, `bind`, `dir` and (for one test) `maxmemory` are replaced; every security line stays as
an operator would deploy it. Then it checks what the ACL users may and may not do, that nothing
reaches the disk or the log, and (slow) that a Sentinel failover works with the minimal users.
The nodes come from tests/support/redis_nodes.py, which also appends its test-only `inspector`
user; no test here logs in as it.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from chat_server.store.embedded import find_redis_server
from tests.support.redis_nodes import (
    OPS_DIR,
    START_TIMEOUT_S,
    RedisNode,
    adapt_redis_conf,
    free_port,
    make_passwords,
    start_data_node,
    start_sentinel_setup,
    wait_until,
)

FAILOVER_TIMEOUT_S = 40.0
MESSAGE_MARKER = "MARKER-chat-text-4711"
# How Redis 6.2 words an ACL refusal: directly, or for a command run inside a Lua script.
# Redis 7 refuses a protected command (DEBUG, with enable-debug-command at its default "no")
# before the ACL is even asked: refused all the same.
ACL_REFUSAL = re.compile(
    r"NOPERM|can't run this command|no permissions to access"
    r"|command not allowed\. If the enable-[a-z]+-command option"
)


@pytest.fixture
def passwords() -> dict[str, str]:
    return make_passwords()


@pytest.fixture
def node(tmp_path: Path, passwords: dict[str, str]) -> Iterator[RedisNode]:
    started = start_data_node(tmp_path, passwords)
    yield started
    started.kill()


@pytest.fixture
def app(node: RedisNode, passwords: dict[str, str]) -> Iterator[redis.Redis]:
    client = node.client("nexus", passwords["nexus"])
    yield client
    client.close()


def read_messages(pubsub: redis.client.PubSub, count: int) -> list[dict[str, object]]:
    """Up to ``count`` pub/sub messages, waiting at most a second or two for them."""
    messages: list[dict[str, object]] = []
    deadline = time.monotonic() + 2
    while len(messages) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message:
            messages.append(message)
    return messages


def assert_noperm(call: object, *args: object) -> None:
    """``call(*args)`` is refused by the ACL (redis-py strips the NOPERM prefix it maps)."""
    with pytest.raises(redis.ResponseError) as refused:
        call(*args)  # type: ignore[operator]
    error = refused.value
    assert isinstance(error, redis.exceptions.NoPermissionError) or ACL_REFUSAL.search(str(error))


def test_shipped_placeholders_keep_redis_from_starting(tmp_path: Path) -> None:
    """Redis refuses to start while a password hash placeholder is still in the file."""
    text = (OPS_DIR / "redis.conf").read_text().replace("dir /var/lib/redis", f"dir {tmp_path}")
    port = free_port()
    text = text.replace("port 6379", f"port {port}")
    (tmp_path / "redis.conf").write_text(text)
    result = subprocess.run([find_redis_server(), str(tmp_path / "redis.conf")],
                            capture_output=True, timeout=START_TIMEOUT_S, text=True)  # fmt: skip
    assert result.returncode != 0
    assert "CHANGE_ME_SHA256_OF_" in result.stdout + result.stderr


def test_app_user_can_run_the_commands_the_app_uses(app: redis.Redis) -> None:
    """The nexus user can use strings, hashes, sets, sorted sets, streams and keys under nx:."""
    assert app.ping()
    assert app.client_setname("nexus-chat")
    assert app.set("nx:s", "v", ex=60) and app.get("nx:s") == "v"
    assert app.hset("nx:h", mapping={"a": "1"}) == 1 and app.hincrby("nx:h", "a", 2) == 3
    assert app.sadd("nx:set", "x") == 1 and app.smembers("nx:set") == {"x"}
    assert app.zadd("nx:z", {"m": 1.0}) == 1 and app.zrange("nx:z", 0, -1) == ["m"]
    entry = app.xadd("nx:x", {"t": "hej"})
    assert app.xrange("nx:x") == [(entry, {"t": "hej"})] and app.xlen("nx:x") == 1
    assert app.xtrim("nx:x", maxlen=0) == 1
    assert app.expire("nx:h", 60) and app.pexpire("nx:set", 60_000) and app.ttl("nx:h") > 0
    assert app.pttl("nx:set") > 0 and app.exists("nx:s", "nx:h") == 2
    pipe = app.pipeline(transaction=True)
    pipe.set("nx:p", "1")
    pipe.incr("nx:p")
    assert pipe.execute() == [True, 2]
    assert set(app.scan_iter(match="nx:*")) == {"nx:s", "nx:h", "nx:set", "nx:z", "nx:x", "nx:p"}
    assert app.delete("nx:s") == 1 and app.unlink("nx:h") == 1
    assert "redis_version" in app.info()


def test_app_user_can_run_lua_scripts_on_its_keys(app: redis.Redis) -> None:
    """EVAL, SCRIPT LOAD/EXISTS and EVALSHA work on nx: keys; a script cannot escape the ACL."""
    body = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
    assert app.eval(body, 1, "nx:lua", "1") == "1"
    sha = app.script_load(body)
    assert app.script_exists(sha) == [True]
    assert app.evalsha(sha, 1, "nx:lua", "2") == "2"
    assert_noperm(app.eval, body, 1, "other", "1")
    assert_noperm(app.eval, "return redis.call('FLUSHALL')", 0)
    assert_noperm(app.script_flush)


def test_app_user_pubsub_is_limited_to_its_channels(app: redis.Redis) -> None:
    """SUBSCRIBE/PSUBSCRIBE/PUBLISH work on nx:ch:*; other channels are refused."""
    pubsub = app.pubsub()
    pubsub.subscribe("nx:ch:x")
    pubsub.psubscribe("nx:ch:*")
    assert [m["type"] for m in read_messages(pubsub, 2)] == ["subscribe", "psubscribe"]
    assert app.publish("nx:ch:x", "hej") == 2
    got = read_messages(pubsub, 2)
    assert sorted((m["type"], m["data"]) for m in got) == [("message", "hej"), ("pmessage", "hej")]
    pubsub.unsubscribe("nx:ch:x")
    pubsub.punsubscribe("nx:ch:*")
    assert_noperm(app.publish, "other", "hej")
    for subscribe, channel in (("subscribe", "other"), ("psubscribe", "*")):
        denied = app.pubsub()
        getattr(denied, subscribe)(channel)
        assert_noperm(denied.get_message, False, 1)
        denied.close()
    pubsub.close()


@pytest.mark.parametrize(
    "command",
    [("CONFIG", "GET", "*"), ("FLUSHALL",), ("FLUSHDB",), ("KEYS", "*"), ("MONITOR",),
     ("DEBUG", "SLEEP", "0"), ("SHUTDOWN", "NOSAVE"), ("ACL", "LIST"), ("REPLICAOF", "NO", "ONE"),
     ("SLAVEOF", "NO", "ONE"), ("MODULE", "LIST"), ("SLOWLOG", "GET"), ("CLIENT", "LIST"),
     ("MIGRATE", "127.0.0.1", "1", "nx:a", "0", "1"), ("SET", "other", "1"), ("GET", "other"),
     ("SCRIPT", "FLUSH"), ("BGSAVE",), ("SAVE",), ("RPUSH", "nx:l", "1"), ("BLPOP", "nx:l", "1")],
)  # fmt: skip
def test_app_user_is_refused_dangerous_commands(app: redis.Redis, command: tuple[str, ...]) -> None:
    """The nexus user gets NOPERM for admin, dangerous and off-prefix commands."""
    assert_noperm(app.execute_command, *command)


def test_default_user_cannot_log_in(node: RedisNode) -> None:
    """No connection works without a user and password: the default user is off."""
    with pytest.raises(redis.AuthenticationError):
        node.client().ping()
    with pytest.raises(redis.AuthenticationError):
        node.client(password="anything").ping()
    with pytest.raises(redis.AuthenticationError):
        node.client("nexus", "wrong-password").ping()


def test_helper_users_see_no_data(
    node: RedisNode, app: redis.Redis, passwords: dict[str, str]
) -> None:
    """ops, sentinel and replica users can read no key and change no setting."""
    app.set("nx:secret", MESSAGE_MARKER)
    ops = node.client("ops", passwords["ops"])
    assert ops.ping() and ops.dbsize() == 1
    for user in ("ops", "sentinel", "replica"):
        client = node.client(user, passwords[user])
        assert_noperm(client.get, "nx:secret")
        assert_noperm(client.config_get, "masterauth")
        assert_noperm(client.execute_command, "MONITOR")
        client.close()


def test_nothing_reaches_the_slow_log_or_the_disk(
    node: RedisNode, app: redis.Redis, passwords: dict[str, str]
) -> None:
    """A slow command is not kept, and a clean shutdown writes no snapshot, AOF or log text."""
    app.set("nx:chat", MESSAGE_MARKER)
    started = time.monotonic()
    app.eval("local x = 0; for i = 1, 5e6 do x = x + i end; return 1", 0)
    # Slow enough that the Redis defaults (log above 10 ms, keep 128) would have kept it.
    assert time.monotonic() - started > 0.015
    ops = node.client("ops", passwords["ops"])
    assert ops.execute_command("SLOWLOG", "LEN") == 0
    persistence = ops.info("persistence")
    assert persistence["aof_enabled"] == 0
    assert ops.info("memory")["maxmemory_policy"] == "noeviction"
    node.stop()  # SIGTERM: with save points configured, it would write dump.rdb
    assert node.process is not None and node.process.returncode == 0
    leftovers = {p.name for p in node.workdir.iterdir()} - {"redis.conf", "redis.log"}
    assert leftovers == set()
    assert MESSAGE_MARKER not in node.log.read_text()


def test_full_memory_refuses_writes_instead_of_evicting(
    tmp_path: Path, passwords: dict[str, str]
) -> None:
    """With noeviction, a full Redis answers OOM and keeps every key it already had."""
    port = free_port()
    small = RedisNode(adapt_redis_conf(port, tmp_path, passwords, maxmemory="3mb"), port).start()
    try:
        app = small.client("nexus", passwords["nexus"])
        written = 0
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for written in range(1000):  # `written` is read after the loop
                app.set(f"nx:chat:{written}", "x" * 20_000)
        assert written > 0
        assert app.exists(*(f"nx:chat:{i}" for i in range(written))) == written
    finally:
        small.kill()


def test_shipped_sentinel_placeholders_keep_sentinel_from_starting(tmp_path: Path) -> None:
    """Sentinel refuses to start while the primary address placeholder is still in the file."""
    text = (OPS_DIR / "sentinel.conf").read_text()
    text = text.replace("dir /var/lib/redis-sentinel", f"dir {tmp_path}")
    text = text.replace("port 26379", f"port {free_port()}")
    (tmp_path / "sentinel.conf").write_text(text)
    result = subprocess.run([find_redis_server(), str(tmp_path / "sentinel.conf"), "--sentinel"],
                            capture_output=True, timeout=START_TIMEOUT_S, text=True)  # fmt: skip
    assert result.returncode != 0


@pytest.mark.slow
def test_sentinel_fails_over_with_the_minimal_users(
    tmp_path: Path, passwords: dict[str, str]
) -> None:
    """Three Sentinels promote the replica when the primary dies, using only the ACL users."""
    setup = start_sentinel_setup(tmp_path, passwords)
    try:
        primary, replica = setup.primary, setup.replica
        sentinel = Sentinel(
            [("127.0.0.1", s.port) for s in setup.sentinels],
            sentinel_kwargs={"username": "nexus-app", "password": passwords["nexus-app"],
                             "socket_timeout": 1, "retry": Retry(NoBackoff(), 0)},
            username="nexus", password=passwords["nexus"], socket_timeout=2,
        )  # fmt: skip
        assert sentinel.discover_master("nexus") == ("127.0.0.1", primary.port)
        primary.client("nexus", passwords["nexus"]).set("nx:kept", "1")
        replica_app = replica.client("nexus", passwords["nexus"])
        wait_until(lambda: replica_app.get("nx:kept") == "1", 5, "the key to replicate")

        primary.kill()
        wait_until(lambda: sentinel.discover_master("nexus") == ("127.0.0.1", replica.port),
                   FAILOVER_TIMEOUT_S, "the failover")  # fmt: skip
        wait_until(lambda: replica_app.set("nx:after", "1"), 5, "the new primary to take writes")
        assert replica_app.get("nx:kept") == "1"
        # Sentinel's reconfiguration (SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL) met no refusal.
        replica_ops = replica.client("ops", passwords["ops"])
        refused = [e for e in replica_ops.acl_log() if e["username"] in ("sentinel", "replica")]
        assert refused == []
    finally:
        setup.kill_all()
