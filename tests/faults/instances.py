"""Real `python -m chat_server serve` processes for fault tests, and what the OS says about them.

A server that must be SIGKILLed, or whose CPU time is measured, has to be its own process.
Its stdout and stderr go to a file in its working directory, so a test can scan everything it
printed; its working directory is a fresh temp directory, so a test can scan what it wrote.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import redis

from chat_server.config import REPO_DIR
from chat_server.crypto import purpose_aad
from chat_server.store.codec import as_str, str_dict
from chat_server.store.sealing import MESSAGE, MessageKeyring, chat_cipher
from tests.support.nginx import RunningNginx, start_nginx
from tests.support.redis_nodes import free_port

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# A fixed callback key for tests: base64 of 32 bytes (the callback API refuses to start without).
TEST_CALLBACK_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
# The message key every test instance shares (chat text is sealed with it).
TEST_MESSAGE_KEY = base64.urlsafe_b64encode(bytes(range(32, 64))).decode()


@dataclass
class ServerProcess:
    name: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def output(self) -> Path:
        return self.workdir / "server.out"

    def printed(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.output.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the ")" that ends the command name: state is field 3, utime 14, stime 15.
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to close sockets politely or clean up Redis."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()


def stored_texts(client: redis.Redis, chat_id: str) -> list[str]:
    """A chat's messages as Redis holds them (sealed), opened with the servers' test key."""
    salt, kid = (as_str(v) for v in client.hmget(f"nx:chat:{chat_id}", ["salt", "kid"]))
    key = MessageKeyring.from_settings(TEST_MESSAGE_KEY).key(kid)
    assert key is not None, "the chat was sealed under another key"
    cipher = chat_cipher(key, base64.b64decode(salt))
    entries = [str_dict(fields) for _, fields in client.xrange(f"nx:chat:{chat_id}:log")]
    return [
        cipher.decrypt(f["text"], purpose_aad(MESSAGE, chat_id))
        for f in entries
        if f.get("kind") == "msg"
    ]


def server_env(workdir: Path, port: int, settings: Mapping[str, str]) -> dict[str, str]:
    """The process environment: the caller's, minus any NEXUS_*/REDIS_* it had, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "REDIS_"))}
    env.update(
        PYTHONPATH=str(REPO_DIR),
        NEXUS_HOST="127.0.0.1",
        NEXUS_PORT=str(port),
        NEXUS_PUBLIC_URL=f"http://127.0.0.1:{port}",
        NEXUS_DATA_DIR=str(workdir),
        NEXUS_SWEEP_INTERVAL_S="1",
        NEXUS_LOG_LEVEL="DEBUG",  # the privacy scans want everything the server could say
        NEXUS_CALLBACK_KEY=TEST_CALLBACK_KEY,
        NEXUS_MESSAGE_KEY=TEST_MESSAGE_KEY,
    )
    env.update(settings)
    return env


def launch_server(
    workdir: Path, name: str, settings: Mapping[str, str], port: int | None = None
) -> ServerProcess:
    """Start `python -m chat_server serve` in ``workdir`` (created); does not wait for it."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = server_env(workdir, port, settings)
    with (workdir / "server.out").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chat_server", "serve"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(name, port, workdir, process)


async def probe(url: str, path: str) -> int:
    """The HTTP status of GET ``url+path``, or 0 when nothing answers."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http,
            http.get(url + path) as response,
        ):
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def wait_ready(server: ServerProcess, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Return once /readyz answers 200 (or, where the app has no /readyz yet, /healthz);
    raise AssertionError with the server's output if it does not."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"{server.name} exited:\n{server.printed()}")
        status = await probe(server.url, "/readyz")
        if status == 404:
            status = await probe(server.url, "/healthz")
        if status == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{server.name} not ready within {timeout_s}s:\n{server.printed()}")


def established_peers(port: int) -> set[tuple[str, int]]:
    """(address, port) of the far end of every ESTABLISHED IPv4 TCP connection whose local port
    is ``port`` (Linux /proc/net/tcp): who is connected to a server listening there."""
    peers = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if state != "01" or int(local.split(":")[1], 16) != port:
            continue
        address_hex, port_hex = remote.split(":")
        address = ".".join(str(b) for b in reversed(bytes.fromhex(address_hex)))
        peers.add((address, int(port_hex, 16)))
    return peers


@dataclass
class Deployment:
    """nginx (the shipped ops/nginx.conf) in front of two server processes, as in production."""

    nginx: RunningNginx
    servers: list[ServerProcess]

    @property
    def public_url(self) -> str:
        return self.nginx.https_url

    @property
    def ws_url(self) -> str:
        return self.public_url.replace("https://", "wss://")

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.nginx.stop()


async def start_deployment(workdir: Path, settings: Mapping[str, str]) -> Deployment:
    """Start nginx and two instances sharing ``settings``; return once both are ready."""
    ports = (free_port(), free_port())
    nginx = start_nginx(workdir / "nginx", upstream_ports=ports, widget_dir=REPO_DIR / "widget")
    public = nginx.https_url
    shared = {"NEXUS_PUBLIC_URL": public, "NEXUS_ALLOWED_ORIGINS": public, **settings}
    servers = [
        launch_server(workdir / f"app{index}", f"instance {index}", shared, port=port)
        for index, port in enumerate(ports)
    ]
    deployment = Deployment(nginx, servers)
    try:
        await asyncio.gather(*(wait_ready(server) for server in servers))
    except BaseException:
        deployment.stop()
        raise
    return deployment
