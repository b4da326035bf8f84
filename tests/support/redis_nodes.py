"""Redis data nodes and Sentinels started from the shipped ops files, for the ops-config and
fault tests (tests/integration/test_ops_redis_acl.py, tests/faults).

Each node runs a copy of ops/redis.conf (or ops/sentinel.conf) in which only the placeholders,
`port`, `bind`, `dir`, the Sentinel timings and (on request) `maxmemory` are replaced, so the app
is tested against the ACL users operators deploy. One line is added to every test copy of
redis.conf: the `inspector` user, which may read everything, so that a test can scan all keys, the
slow log and the client list for planted markers. A node can be SIGKILLed and started again on
the same port with the same configuration: it then comes back empty, exactly as a production node
without persistence would.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from redis.backoff import NoBackoff
from redis.maint_notifications import MaintNotificationsConfig
from redis.retry import Retry

from chat_server.store.embedded import find_redis_server

OPS_DIR = Path(__file__).resolve().parents[2] / "ops"
START_TIMEOUT_S = 10.0
SENTINEL_DOWN_AFTER_MS = 1000
SENTINEL_FAILOVER_TIMEOUT_MS = 10000
DATA_USERS = ("nexus", "ops", "sentinel", "replica")
INSPECTOR = "inspector"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sha256_hex(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def make_passwords() -> dict[str, str]:
    """Fresh passwords for every user of both ops files, plus the test-only inspector."""
    users = (*DATA_USERS, "peer", "nexus-app", INSPECTOR)
    return {user: secrets.token_hex(16) for user in users}


def substitute(text: str, pattern: str, replacement: str) -> str:
    """Replace every match of ``pattern``; fail loudly if the shipped file no longer has it."""
    new_text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"placeholder {pattern!r} not found in the shipped config"
    return new_text


def adapt_redis_conf(
    port: int, workdir: Path, passwords: dict[str, str], extra: str = "", maxmemory: str = ""
) -> Path:
    """Write a test copy of ops/redis.conf for 127.0.0.1:``port`` into ``workdir``; a non-empty
    ``maxmemory`` (such as "3mb") replaces the shipped limit, ``extra`` is appended."""
    text = (OPS_DIR / "redis.conf").read_text()
    text = substitute(text, r"^bind .*$", "bind 127.0.0.1")
    text = substitute(text, r"^port 6379$", f"port {port}")
    text = substitute(text, r"^dir /var/lib/redis$", f"dir {workdir}")
    for user in DATA_USERS:
        text = substitute(
            text, f"#CHANGE_ME_SHA256_OF_{user.upper()}_PASSWORD", "#" + sha256_hex(passwords[user])
        )
    text = substitute(
        text, r"^masterauth CHANGE_ME_REPLICA_PASSWORD$", f"masterauth {passwords['replica']}"
    )
    if maxmemory:
        text = substitute(text, r"^maxmemory \S+$", f"maxmemory {maxmemory}")
    inspector = f"\nuser {INSPECTOR} on #{sha256_hex(passwords[INSPECTOR])} ~* &* +@all\n"
    conf = workdir / "redis.conf"
    conf.write_text(text + inspector + extra)
    return conf


def adapt_sentinel_conf(
    port: int, workdir: Path, primary_port: int, passwords: dict[str, str]
) -> Path:
    """Write a test copy of ops/sentinel.conf watching 127.0.0.1:``primary_port``, with the
    primary declared down after SENTINEL_DOWN_AFTER_MS instead of five seconds."""
    text = (OPS_DIR / "sentinel.conf").read_text()
    text = substitute(text, r"^bind .*$", "bind 127.0.0.1")
    text = substitute(text, r"^port 26379$", f"port {port}")
    text = substitute(text, r"^dir /var/lib/redis-sentinel$", f"dir {workdir}")
    text = substitute(text, r"CHANGE_ME_PRIMARY_IP 6379", f"127.0.0.1 {primary_port}")
    text = substitute(text, r"(down-after-milliseconds nexus) \d+", rf"\1 {SENTINEL_DOWN_AFTER_MS}")
    text = substitute(text, r"(failover-timeout nexus) \d+", rf"\1 {SENTINEL_FAILOVER_TIMEOUT_MS}")
    text = substitute(text, "CHANGE_ME_SENTINEL_PASSWORD", passwords["sentinel"])
    peer_hash = "#" + sha256_hex(passwords["peer"])
    text = substitute(text, "#CHANGE_ME_SHA256_OF_PEER_PASSWORD", peer_hash)
    text = substitute(text, "CHANGE_ME_PEER_PASSWORD", passwords["peer"])
    app_hash = "#" + sha256_hex(passwords["nexus-app"])
    text = substitute(text, "#CHANGE_ME_SHA256_OF_APP_PASSWORD", app_hash)
    conf = workdir / "sentinel.conf"
    conf.write_text(text)
    return conf


@dataclass
class RedisNode:
    """One redis-server (or Sentinel) on a fixed port and configuration; restartable."""

    conf: Path
    port: int
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.conf.with_suffix(".log")

    @property
    def workdir(self) -> Path:
        return self.conf.parent

    def start(self) -> RedisNode:
        """Start the server and wait until it accepts connections; fail the test if not."""
        args = [find_redis_server(), str(self.conf)] + (["--sentinel"] if self.sentinel else [])
        with self.log.open("ab") as log_file:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited at start:\n{self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        pytest.fail(f"redis-server on {self.port} did not answer within {START_TIMEOUT_S}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to clients, like a crash or a power cut."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self, user: str | None = None, password: str | None = None) -> redis.Redis:
        """A blocking client that fails at once instead of retrying (redis-py would retry a
        refused login); without ``user`` it logs in as the default user."""
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            username=user,
            password=password,
            socket_timeout=5,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
            # No CLIENT SETINFO or MAINT_NOTIFICATIONS: the ACL would log every refusal.
            driver_info=None,
            maint_notifications_config=MaintNotificationsConfig(enabled=False),
        )

    def url(self, user: str, password: str) -> str:
        return f"redis://{quote(user)}:{quote(password)}@127.0.0.1:{self.port}/0"


def start_data_node(
    workdir: Path, passwords: dict[str, str], *, replica_of: RedisNode | None = None
) -> RedisNode:
    """A data node from ops/redis.conf in ``workdir`` (created), optionally a replica."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    extra = f"\nreplicaof 127.0.0.1 {replica_of.port}\n" if replica_of else ""
    return RedisNode(adapt_redis_conf(port, workdir, passwords, extra), port).start()


def start_sentinel(workdir: Path, primary: RedisNode, passwords: dict[str, str]) -> RedisNode:
    """A Sentinel from ops/sentinel.conf in ``workdir`` (created), watching ``primary``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = adapt_sentinel_conf(port, workdir, primary.port, passwords)
    return RedisNode(conf, port, sentinel=True).start()


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``condition`` (Redis errors count as "not yet") until it is true; else fail."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


@dataclass
class SentinelSetup:
    """A primary, a replica and three Sentinels, all from the ops files."""

    primary: RedisNode
    replica: RedisNode
    sentinels: list[RedisNode]
    passwords: dict[str, str]

    @property
    def nodes(self) -> list[RedisNode]:
        return [self.primary, self.replica, *self.sentinels]

    def app_env(self) -> dict[str, str]:
        """The environment an app instance needs to find the primary through the Sentinels."""
        return {
            # The host and port here are ignored with Sentinels; user and password are used.
            "REDIS_URL": self.primary.url("nexus", self.passwords["nexus"]),
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels),
            "REDIS_SENTINEL_MASTER": "nexus",
            "REDIS_SENTINEL_USERNAME": "nexus-app",
            "REDIS_SENTINEL_PASSWORD": self.passwords["nexus-app"],
        }

    def named_primary_ports(self) -> list[int | None]:
        """The primary's port as each Sentinel names it (None where one does not answer).
        Right after a failover they may differ for a moment: the others learn the new
        configuration from the Sentinel that led the failover."""
        ports: list[int | None] = []
        for sentinel in self.sentinels:
            client = sentinel.client("nexus-app", self.passwords["nexus-app"])
            try:
                address = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nexus")
                ports.append(int(address[1]) if address else None)
            except (redis.RedisError, OSError):
                ports.append(None)
            finally:
                client.close()
        return ports

    def kill_all(self) -> None:
        for node in self.nodes:
            node.kill()


def start_sentinel_setup(workdir: Path, passwords: dict[str, str]) -> SentinelSetup:
    """Start the five processes and return once the replica is in sync and every Sentinel
    knows the replica and the two other Sentinels (so a failover can happen right away)."""
    primary = start_data_node(workdir / "primary", passwords)
    replica = start_data_node(workdir / "replica", passwords, replica_of=primary)
    setup = SentinelSetup(primary, replica, [], passwords)
    try:
        replica_ops = replica.client("ops", passwords["ops"])
        wait_until(lambda: replica_ops.info("replication")["master_link_status"] == "up",
                   START_TIMEOUT_S, "the replica to sync")  # fmt: skip
        replica_ops.close()
        for index in range(3):
            setup.sentinels.append(start_sentinel(workdir / f"sentinel{index}", primary, passwords))

        def sentinels_ready() -> bool:
            for sentinel in setup.sentinels:
                client = sentinel.client("nexus-app", passwords["nexus-app"])
                try:
                    state = client.execute_command("SENTINEL", "MASTER", "nexus")
                finally:
                    client.close()
                if int(state["num-other-sentinels"]) < 2 or int(state["num-slaves"]) < 1:
                    return False
            return True

        wait_until(sentinels_ready, 3 * START_TIMEOUT_S, "the Sentinels to find each other")
    except BaseException:
        setup.kill_all()
        raise
    return setup
