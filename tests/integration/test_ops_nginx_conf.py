"""ops/nginx.conf, run for real: TLS, headers, WebSockets, failover and address-free logs.

Two tiny aiohttp apps stand in for the two nexus-chat instances; they echo the headers they
receive. nginx runs the shipped configuration with only ports and paths replaced (see
tests/support/nginx.py), and every request goes through it over HTTPS on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from tests.support.nginx import RunningNginx, client_ssl_context, start_nginx

MARKER_IP = "203.0.113.77"
MARKER_AGENT = "MarkerAgent/9.9"
MARKER_PHONE = "0701234567"
WIDGET_FILE = "nexus-widget.js"
WIDGET_BODY = "/* widget */\n"
# Headers that can carry a visitor's address; a client may send any of them.
ADDRESS_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Client-IP",
                   "True-Client-IP", "CF-Connecting-IP")  # fmt: skip
SPOOFED_ADDRESS = {name: MARKER_IP for name in ADDRESS_HEADERS} | {"Forwarded": f"for={MARKER_IP}"}
# What the real app sets on its responses; nginx must not send these twice (or the app's
# SAMEORIGIN next to its own DENY), but must keep the app's page CSP.
APP_PAGE_CSP = "default-src 'none'"
APP_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",
    "Permissions-Policy": "camera=()",
    "Content-Security-Policy": APP_PAGE_CSP,
}


@dataclass
class Upstream:
    """One stand-in app instance: records what it received, echoes headers back."""

    name: str
    runner: web.AppRunner | None = None
    port: int = 0
    seen: list[dict[str, str]] = field(default_factory=list)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/ws/echo", self.websocket_echo)
        app.router.add_route("*", "/{tail:.*}", self.echo)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def echo(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        body = {"instance": self.name, "headers": dict(request.headers)}
        return web.json_response(body, headers=APP_SECURITY_HEADERS)

    async def websocket_echo(self, request: web.Request) -> web.WebSocketResponse:
        self.seen.append(dict(request.headers))
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            await socket.send_str(f"{self.name}:{message.data}")
        return socket


@pytest_asyncio.fixture
async def upstreams() -> AsyncIterator[tuple[Upstream, Upstream]]:
    pair = (Upstream("a"), Upstream("b"))
    for upstream in pair:
        await upstream.start()
    yield pair
    for upstream in pair:
        await upstream.stop()


@pytest.fixture
def widget_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "widget"
    directory.mkdir()
    (directory / WIDGET_FILE).write_text(WIDGET_BODY)
    return directory


@pytest.fixture
def nginx(
    tmp_path: Path, upstreams: tuple[Upstream, Upstream], widget_dir: Path
) -> Iterator[RunningNginx]:
    ports = (upstreams[0].port, upstreams[1].port)
    running = start_nginx(tmp_path / "nginx", upstream_ports=ports, widget_dir=widget_dir)
    yield running
    running.stop()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


def leaked_address_headers(headers: dict[str, str]) -> list[str]:
    """Names of received headers that carry (or may carry) a client address."""
    lowered = {name.lower() for name in ADDRESS_HEADERS}
    return [n for n, v in headers.items() if n.lower() in lowered or MARKER_IP in v]


async def test_request_is_proxied_over_https_with_security_headers(
    nginx: RunningNginx, client: aiohttp.ClientSession
) -> None:
    """An app response arrives over HTTPS with HSTS, nosniff, no-referrer and no framing."""
    async with client.get(f"{nginx.https_url}/console/") as response:
        assert response.status == 200
        assert (await response.json())["instance"] in ("a", "b")
        headers = response.headers
    assert headers.getall("Strict-Transport-Security") == ["max-age=63072000; includeSubDomains"]
    assert headers.getall("X-Content-Type-Options") == ["nosniff"]
    assert headers.getall("Referrer-Policy") == ["no-referrer"]
    assert headers.getall("X-Frame-Options") == ["DENY"]
    assert len(headers.getall("Permissions-Policy")) == 1
    # The app's page policy stays; nginx's frame-ancestors policy is enforced next to it.
    assert sorted(headers.getall("Content-Security-Policy")) == [
        APP_PAGE_CSP,
        "frame-ancestors 'none'",
    ]
    assert headers["Server"] == "nginx"  # no version number
    for widget_only in (
        "Cache-Control",
        "Access-Control-Allow-Origin",
        "Cross-Origin-Resource-Policy",
    ):
        assert widget_only not in headers


async def test_plain_http_only_redirects_to_https(
    nginx: RunningNginx, client: aiohttp.ClientSession, upstreams: tuple[Upstream, Upstream]
) -> None:
    """Port 80 answers every request with a permanent redirect to the HTTPS host name."""
    async with client.get(f"{nginx.http_url}/console/?a=1", allow_redirects=False) as response:
        assert response.status == 301
        assert response.headers["Location"] == "https://chat.example.org/console/?a=1"
    assert upstreams[0].seen == upstreams[1].seen == []


async def test_client_address_headers_never_reach_the_app(
    nginx: RunningNginx, client: aiohttp.ClientSession
) -> None:
    """Address headers the client sends (X-Forwarded-For and kin) are removed by nginx."""
    async with client.get(f"{nginx.https_url}/callback", headers=SPOOFED_ADDRESS) as response:
        received = (await response.json())["headers"]
    assert leaked_address_headers(received) == []
    assert received["X-Forwarded-Proto"] == "https"


async def test_requests_are_shared_between_both_instances(
    nginx: RunningNginx, client: aiohttp.ClientSession
) -> None:
    """Round robin, not ip_hash: one client's requests reach both instances."""
    instances = set()
    for _ in range(4):
        async with client.get(f"{nginx.https_url}/console/") as response:
            instances.add((await response.json())["instance"])
    assert instances == {"a", "b"}


async def test_websocket_upgrade_works_through_nginx(
    nginx: RunningNginx, client: aiohttp.ClientSession, upstreams: tuple[Upstream, Upstream]
) -> None:
    """A WebSocket to /ws/ is upgraded and proxied both ways, without address headers."""
    url = nginx.https_url.replace("https://", "wss://") + "/ws/echo"
    async with client.ws_connect(url, headers=SPOOFED_ADDRESS) as socket:
        await socket.send_str("hej")
        reply = await socket.receive_str(timeout=5)
    assert reply in ("a:hej", "b:hej")
    received = (upstreams[0].seen + upstreams[1].seen)[0]
    assert received["Upgrade"].lower() == "websocket"
    assert leaked_address_headers(received) == []


async def test_requests_succeed_while_one_instance_is_down(
    nginx: RunningNginx, client: aiohttp.ClientSession, upstreams: tuple[Upstream, Upstream]
) -> None:
    """With instance a stopped, GETs and POSTs are all answered by instance b."""
    await upstreams[0].stop()
    for method in ("GET", "POST", "GET", "POST", "GET", "GET"):
        async with client.request(method, f"{nginx.https_url}/callback") as response:
            assert response.status == 200
            assert (await response.json())["instance"] == "b"


async def test_widget_files_are_served_by_nginx_with_caching(
    nginx: RunningNginx, client: aiohttp.ClientSession, upstreams: tuple[Upstream, Upstream]
) -> None:
    """/widget/ comes from the widget directory: cacheable, readable cross-origin, not framed."""
    async with client.get(f"{nginx.https_url}/widget/{WIDGET_FILE}") as response:
        assert response.status == 200
        assert await response.text() == WIDGET_BODY
        headers = response.headers
    assert headers["Cache-Control"] == "public, max-age=300"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    async with client.get(f"{nginx.https_url}/widget/missing.js") as response:
        assert response.status == 404
    assert upstreams[0].seen == upstreams[1].seen == []


async def test_metrics_are_not_public(
    nginx: RunningNginx, client: aiohttp.ClientSession, upstreams: tuple[Upstream, Upstream]
) -> None:
    """/metrics is answered 404 by nginx and never reaches an instance."""
    async with client.get(f"{nginx.https_url}/metrics") as response:
        assert response.status == 404
    assert upstreams[0].seen == upstreams[1].seen == []


async def test_access_log_has_the_path_but_nothing_about_the_visitor(
    nginx: RunningNginx, client: aiohttp.ClientSession
) -> None:
    """The access log line shows method, path and status; no address, agent or query string."""
    headers = SPOOFED_ADDRESS | {"User-Agent": MARKER_AGENT, "Referer": "https://ref.example/"}
    url = f"{nginx.https_url}/callback?phone={MARKER_PHONE}"
    async with client.get(url, headers=headers) as response:
        assert response.status == 200
    nginx.stop()  # flushes and closes the log
    log = nginx.paths.access_log.read_text()
    assert " GET /callback 200 " in log
    for secret in ("127.0.0.1", MARKER_IP, MARKER_AGENT, MARKER_PHONE, "phone", "ref.example"):
        assert secret not in log


async def provoke_upstream_errors(nginx: RunningNginx, upstreams: tuple[Upstream, Upstream]) -> str:
    """Stop instance a, send requests that must fail over, stop nginx; return the error log."""
    await upstreams[0].stop()
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as client:
        for _ in range(3):
            async with client.get(f"{nginx.https_url}/callback", headers=SPOOFED_ADDRESS) as reply:
                assert reply.status == 200
    nginx.stop()
    return nginx.paths.error_log.read_text() if nginx.paths.error_log.exists() else ""


async def test_error_log_holds_no_client_address(
    nginx: RunningNginx, upstreams: tuple[Upstream, Upstream]
) -> None:
    """An instance failing does not write the client's address to the error log."""
    log = await provoke_upstream_errors(nginx, upstreams)
    assert "client:" not in log and "127.0.0.1" not in log and MARKER_IP not in log


async def test_a_lower_error_log_level_would_record_client_addresses(
    tmp_path: Path, upstreams: tuple[Upstream, Upstream], widget_dir: Path
) -> None:
    """Control: at level "error" the same failure is logged with "client: 127.0.0.1"."""
    ports = (upstreams[0].port, upstreams[1].port)
    nginx = start_nginx(tmp_path / "nginx", upstream_ports=ports, widget_dir=widget_dir,
                        error_log_level="error")  # fmt: skip
    try:
        log = await provoke_upstream_errors(nginx, upstreams)
    finally:
        nginx.stop()
    assert "client: 127.0.0.1" in log
