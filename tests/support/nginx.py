"""Run ops/nginx.conf for real in a test: adapted ports and paths, a self-signed certificate.

`start_nginx` copies the shipped configuration, replaces only what must differ on a test machine
(listen ports, upstream ports, certificate, widget directory, log, pid and temp paths, the
`user` line) and starts the system nginx in the foreground. Every other line - log format,
error-log level, headers, proxy settings - is exactly what operators deploy, so a test through
it tests the shipped file. Each replacement must match, so a changed ops file fails loudly.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NGINX_CONF = Path(__file__).resolve().parents[2] / "ops" / "nginx.conf"
SERVER_NAME = "chat.example.org"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
TEMP_PATH_DIRECTIVES = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def find_nginx() -> str | None:
    """The nginx executable on PATH or in /usr/sbin (not always on a non-root PATH), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def require_nginx() -> str:
    """The nginx executable; pytest's fail outcome when missing under `$CI`, skip otherwise."""
    executable = find_nginx()
    if executable is None:
        message = "no nginx found: apt-get install nginx-light"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return executable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """Write a one-day certificate for chat.example.org and 127.0.0.1; return (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    alt_names = x509.SubjectAlternativeName(
        [x509.DNSName(SERVER_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(alt_names, critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def client_ssl_context() -> ssl.SSLContext:
    """A TLS client context that accepts the test's self-signed certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _substitute(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    new_text, found = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert found == count, f"expected {count} match(es) of {pattern!r} in {NGINX_CONF}"
    return new_text


@dataclass(frozen=True)
class NginxPaths:
    """Where the adapted configuration puts everything, under one work directory."""

    workdir: Path

    @property
    def conf(self) -> Path:
        return self.workdir / "nginx.conf"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    @property
    def error_log(self) -> Path:
        return self.workdir / "error.log"


def adapt_nginx_conf(
    paths: NginxPaths,
    *,
    https_port: int,
    http_port: int,
    upstream_ports: tuple[int, int],
    widget_dir: Path,
    error_log_level: str = "",
) -> Path:
    """Write the test copy of ops/nginx.conf to ``paths.conf`` and return that path.

    ``error_log_level`` replaces the shipped level only for a control test showing what that
    level keeps out of the log; leave it empty to test the shipped configuration.
    """
    cert, key = write_self_signed_cert(paths.workdir)
    text = NGINX_CONF.read_text()
    # Workers as root when the test runs as root: they must read files in a 0700 temp dir.
    user_line = "user root;" if os.geteuid() == 0 else ""
    text = _substitute(text, r"^user \S+;$", user_line)
    text = _substitute(text, r"^pid \S+;$", f"pid {paths.workdir / 'nginx.pid'};")
    level = error_log_level or r"\1"
    text = _substitute(text, r"^error_log \S+ (\w+);$", rf"error_log {paths.error_log} {level};")
    text = _substitute(text, r"^(\s+access_log) \S+ (nexus_noaddr);$",
                       rf"\1 {paths.access_log} \2;")  # fmt: skip
    text = _substitute(text, r"listen 80 ", f"listen 127.0.0.1:{http_port} ")
    text = _substitute(text, r"listen 443 ", f"listen 127.0.0.1:{https_port} ")
    text = _substitute(text, r"^\s+listen \[::\]:\d+ .*\n", "", count=2)
    text = _substitute(text, r"ssl_certificate \S+;", f"ssl_certificate {cert};")
    text = _substitute(text, r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};")
    text = _substitute(text, r"alias \S+;", f"alias {widget_dir}/;")
    for placeholder, port in zip((8080, 8081), upstream_ports, strict=True):
        text = _substitute(
            text, rf"server 127\.0\.0\.1:{placeholder} ", f"server 127.0.0.1:{port} "
        )
    temp_paths = "".join(
        f"    {name}_temp_path {paths.workdir / ('tmp_' + name)};\n"
        for name in TEMP_PATH_DIRECTIVES
    )
    text = _substitute(text, r"^http \{\n", "http {\n" + temp_paths)
    paths.conf.write_text(text)
    return paths.conf


def check_nginx_conf(conf: Path) -> subprocess.CompletedProcess[str]:
    """Run `nginx -t` on ``conf``; the result carries nginx's verdict in stderr."""
    return subprocess.run(
        [require_nginx(), "-t", "-p", str(conf.parent), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )


@dataclass
class RunningNginx:
    """An nginx master process in the foreground, serving the adapted configuration."""

    paths: NginxPaths
    https_port: int
    http_port: int
    process: subprocess.Popen[bytes]

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def stop(self) -> None:
        """Stop nginx (fast shutdown) and wait for it; kill it if it will not go."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_nginx(
    workdir: Path,
    *,
    upstream_ports: tuple[int, int],
    widget_dir: Path,
    error_log_level: str = "",
) -> RunningNginx:
    """Adapt ops/nginx.conf into ``workdir``, check it with `nginx -t` and start nginx.

    Returns once nginx accepts TLS connections; fails the test if `nginx -t` rejects the
    configuration or nginx does not come up within START_TIMEOUT_S. Call ``stop()`` when done.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    paths = NginxPaths(workdir)
    https_port, http_port = free_port(), free_port()
    adapt_nginx_conf(paths, https_port=https_port, http_port=http_port,
                     upstream_ports=upstream_ports, widget_dir=widget_dir,
                     error_log_level=error_log_level)  # fmt: skip
    checked = check_nginx_conf(paths.conf)
    if checked.returncode != 0:
        pytest.fail(f"nginx -t rejected the adapted ops/nginx.conf:\n{checked.stderr}")
    with (workdir / "nginx.stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [require_nginx(), "-p", str(workdir), "-c", str(paths.conf), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    running = RunningNginx(paths, https_port, http_port, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited at start:\n{(workdir / 'nginx.stderr').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
            return running
        except OSError:
            time.sleep(0.05)
    running.stop()
    pytest.fail(f"nginx did not accept connections within {START_TIMEOUT_S}s")
