"""ops/redis.conf and ops/sentinel.conf, proven on real redis-server processes.

Each test starts Redis with a copy of the shipped file in which only the marked placeholders,
`port`, `bind`, `dir` and (for one test) `maxmemory` are replaced; every security line stays as
an operator would deploy it. Then it checks what the ACL users may and may not do, that nothing
reaches the disk or the log, and (slow) that a Sentinel failover works with the minimal users.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from chat_server.store.embedded import find_redis_server

OPS_DIR = Path(__file__).resolve().parents[2] / "ops"
START_TIMEOUT_S = 10.0
FAILOVER_TIMEOUT_S = 40.0
USERS = ("nexus", "ops", "sentinel", "replica")
MESSAGE_MARKER = "MARKER-chat-text-4711"
# How Redis 6.2 words an ACL refusal: directly, or for a command run inside a Lua script.
ACL_REFUSAL = re.compile(r"NOPERM|can't run this command|no permissions to access")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sha256_hex(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def substitute(text: str, pattern: str, replacement: str) -> str:
    """Replace every match of ``pattern``; fail loudly if the shipped file no longer has it."""
    new_text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"placeholder {pattern!r} not found in the shipped config"
    return new_text


def adapt_redis_conf(
    port: int, workdir: Path, passwords: dict[str, str], extra: str = "", maxmemory: str = ""
) -> Path:
    """Write a test copy of ops/redis.conf listening on 127.0.0.1:``port``; return its path."""
    text = (OPS_DIR / "redis.conf").read_text()
    text = substitute(text, r"^bind .*$", "bind 127.0.0.1")
    text = substitute(text, r"^port 6379$", f"port {port}")
    text = substitute(text, r"^dir /var/lib/redis$", f"dir {workdir}")
    for user in USERS:
        text = substitute(
            text, f"#CHANGE_ME_SHA256_OF_{user.upper()}_PASSWORD", "#" + sha256_hex(passwords[user])
        )
    text = substitute(text, r"^masterauth CHANGE_ME_REPLICA_PASSWORD$",
                      f"masterauth {passwords['replica']}")  # fmt: skip
    if maxmemory:
        text = substitute(text, r"^maxmemory \S+$", f"maxmemory {maxmemory}")
    conf = workdir / "redis.conf"
    conf.write_text(text + extra)
    return conf


def connect(port: int, username: str | None = None, password: str | None = None) -> redis.Redis:
    """A client for 127.0.0.1:``port`` that fails at once: redis-py would retry a refused login."""
    return redis.Redis(host="127.0.0.1", port=port, username=username, password=password,
                       socket_timeout=5, decode_responses=True, retry=Retry(NoBackoff(), 0))  # fmt: skip


@dataclass
class Node:
    """One running redis-server (or Sentinel) started from an adapted copy of an ops file."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, user: str, password: str) -> redis.Redis:
        return connect(self.port, username=user, password=password)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_node(conf: Path, port: int, *, sentinel: bool = False) -> Node:
    """Start redis-server on ``conf`` and wait until it accepts connections."""
    log = conf.with_suffix(".log")
    args = [find_redis_server(), str(conf)] + (["--sentinel"] if sentinel else [])
    with log.open("wb") as log_file:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_file,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    node = Node(port, conf.parent, process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"redis-server exited at start:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return node
        except OSError:
            time.sleep(0.05)
    node.stop(signal.SIGKILL)
    pytest.fail(f"redis-server did not answer within {START_TIMEOUT_S}s")


@pytest.fixture
def passwords() -> dict[str, str]:
    return {user: secrets.token_urlsafe(24) for user in (*USERS, "peer", "nexus-app")}


@pytest.fixture
def node(tmp_path: Path, passwords: dict[str, str]) -> Iterator[Node]:
    port = free_port()
    started = start_node(adapt_redis_conf(port, tmp_path, passwords), port)
    yield started
    started.stop(signal.SIGKILL)


@pytest.fixture
def app(node: Node, passwords: dict[str, str]) -> Iterator[redis.Redis]:
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
     ("SCRIPT", "FLUSH"), ("BGSAVE",), ("SAVE",), ("LPUSH", "nx:l", "1")],
)  # fmt: skip
def test_app_user_is_refused_dangerous_commands(app: redis.Redis, command: tuple[str, ...]) -> None:
    """The nexus user gets NOPERM for admin, dangerous and off-prefix commands."""
    assert_noperm(app.execute_command, *command)


def test_default_user_cannot_log_in(node: Node) -> None:
    """No connection works without a user and password: the default user is off."""
    with pytest.raises(redis.AuthenticationError):
        connect(node.port).ping()
    with pytest.raises(redis.AuthenticationError):
        connect(node.port, password="anything").ping()
    with pytest.raises(redis.AuthenticationError):
        node.client("nexus", "wrong-password").ping()


def test_helper_users_see_no_data(node: Node, app: redis.Redis, passwords: dict[str, str]) -> None:
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
    node: Node, app: redis.Redis, passwords: dict[str, str]
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
    node.stop(signal.SIGTERM)  # with save points configured, SIGTERM would write dump.rdb
    assert node.process.returncode == 0
    leftovers = {p.name for p in node.workdir.iterdir()} - {"redis.conf", "redis.log"}
    assert leftovers == set()
    assert MESSAGE_MARKER not in node.log.read_text()


def test_full_memory_refuses_writes_instead_of_evicting(
    tmp_path: Path, passwords: dict[str, str]
) -> None:
    """With noeviction, a full Redis answers OOM and keeps every key it already had."""
    port = free_port()
    small = start_node(adapt_redis_conf(port, tmp_path, passwords, maxmemory="3mb"), port)
    try:
        app = small.client("nexus", passwords["nexus"])
        written = 0
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for written in range(1000):  # `written` is read after the loop
                app.set(f"nx:chat:{written}", "x" * 20_000)
        assert written > 0
        assert app.exists(*(f"nx:chat:{i}" for i in range(written))) == written
    finally:
        small.stop(signal.SIGKILL)


def adapt_sentinel_conf(
    port: int, workdir: Path, primary_port: int, passwords: dict[str, str]
) -> Path:
    """Write a test copy of ops/sentinel.conf watching 127.0.0.1:``primary_port``, fast timings."""
    text = (OPS_DIR / "sentinel.conf").read_text()
    text = substitute(text, r"^bind .*$", "bind 127.0.0.1")
    text = substitute(text, r"^port 26379$", f"port {port}")
    text = substitute(text, r"^dir /var/lib/redis-sentinel$", f"dir {workdir}")
    text = substitute(text, r"CHANGE_ME_PRIMARY_IP 6379", f"127.0.0.1 {primary_port}")
    text = substitute(text, r"(down-after-milliseconds nexus) \d+", r"\1 1000")
    text = substitute(text, r"(failover-timeout nexus) \d+", r"\1 10000")
    text = substitute(text, "CHANGE_ME_SENTINEL_PASSWORD", passwords["sentinel"])
    text = substitute(
        text, "#CHANGE_ME_SHA256_OF_PEER_PASSWORD", "#" + sha256_hex(passwords["peer"])
    )
    text = substitute(text, "CHANGE_ME_PEER_PASSWORD", passwords["peer"])
    text = substitute(
        text, "#CHANGE_ME_SHA256_OF_APP_PASSWORD", "#" + sha256_hex(passwords["nexus-app"])
    )
    conf = workdir / "sentinel.conf"
    conf.write_text(text)
    return conf


def wait_until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


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
    nodes: list[Node] = []
    try:
        for name in ("primary", "replica"):
            (tmp_path / name).mkdir()
            port = free_port()
            extra = f"\nreplicaof 127.0.0.1 {nodes[0].port}\n" if nodes else ""
            nodes.append(
                start_node(adapt_redis_conf(port, tmp_path / name, passwords, extra), port)
            )
        primary, replica = nodes
        replica_ops = replica.client("ops", passwords["ops"])
        wait_until(lambda: replica_ops.info("replication")["master_link_status"] == "up",
                   10, "the replica to sync")  # fmt: skip
        sentinel_ports = []
        for index in range(3):
            workdir = tmp_path / f"sentinel{index}"
            workdir.mkdir()
            port = free_port()
            conf = adapt_sentinel_conf(port, workdir, primary.port, passwords)
            nodes.append(start_node(conf, port, sentinel=True))
            sentinel_ports.append(port)
        sentinel = Sentinel(
            [("127.0.0.1", port) for port in sentinel_ports],
            sentinel_kwargs={"username": "nexus-app", "password": passwords["nexus-app"],
                             "socket_timeout": 1, "retry": Retry(NoBackoff(), 0)},
            username="nexus", password=passwords["nexus"], socket_timeout=2,
        )  # fmt: skip

        def all_sentinels_know_each_other() -> bool:
            return all(
                s.sentinel_master("nexus")["num-other-sentinels"] == 2  # type: ignore[index]
                for s in sentinel.sentinels
            )

        wait_until(all_sentinels_know_each_other, 15, "the Sentinels to find each other")
        assert sentinel.discover_master("nexus") == ("127.0.0.1", primary.port)
        primary.client("nexus", passwords["nexus"]).set("nx:kept", "1")
        replica_app = replica.client("nexus", passwords["nexus"])
        wait_until(lambda: replica_app.get("nx:kept") == "1", 5, "the key to replicate")

        primary.stop(signal.SIGKILL)
        wait_until(lambda: sentinel.discover_master("nexus") == ("127.0.0.1", replica.port),
                   FAILOVER_TIMEOUT_S, "the failover")  # fmt: skip
        wait_until(lambda: replica_app.set("nx:after", "1"), 5, "the new primary to take writes")
        assert replica_app.get("nx:kept") == "1"
        # Sentinel's reconfiguration (SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL) met no refusal.
        refused = [e for e in replica_ops.acl_log() if e["username"] in ("sentinel", "replica")]
        assert refused == []
    finally:
        for node in nodes:
            node.stop(signal.SIGKILL)
