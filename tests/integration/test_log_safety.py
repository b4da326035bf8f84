"""A broken request, from a planted source address, leaves no address in any log line."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp import web

from tests.support.servers import (
    RunningServer,
    free_port,
    make_settings,
    raw_request,
    running_server,
)

SOURCE_IP = "127.0.0.2"  # a loopback source address that appears nowhere else
MARKER = "KANARIEFAGEL-2718"


async def broken(request: web.Request) -> web.Response:
    """A handler with a bug whose exception message holds the peer address and a marker."""
    raise ValueError(f"{MARKER} from {request.remote}")


@pytest_asyncio.fixture
async def broken_server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with running_server(settings, [web.get("/test/broken", broken)]) as running:
        yield running


async def test_an_unexpected_exception_is_a_plain_500_and_an_address_free_log_line(
    broken_server: RunningServer, log_capture: io.StringIO
) -> None:
    """The client gets no traceback; the log names the route and the type, nothing else."""
    connector = aiohttp.TCPConnector(local_addr=(SOURCE_IP, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(f"{broken_server.url}/test/broken") as response,
    ):
        body = await response.text()
    assert response.status == 500
    assert "Traceback" not in body and MARKER not in body and SOURCE_IP not in body
    printed = log_capture.getvalue()
    assert "unhandled error in GET /test/broken" in printed and "ValueError" in printed
    assert MARKER not in printed and SOURCE_IP not in printed


async def test_a_malformed_http_request_is_logged_by_aiohttp_without_the_address(
    broken_server: RunningServer, log_capture: io.StringIO
) -> None:
    """aiohttp's own 'Error handling request from ...' line prints with the address redacted."""
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"
    answer = await raw_request(broken_server.settings.port, request, SOURCE_IP)
    assert answer.split(b" ", 2)[1] == b"400"
    printed = log_capture.getvalue()
    assert "Error handling request from" in printed  # aiohttp's logger ran and was captured
    assert SOURCE_IP not in printed


async def vanished(request: web.Request) -> web.Response:
    """The client went while the handler wrote to it (as ws.prepare meets a closed tab)."""
    raise ConnectionResetError(f"{MARKER} from {request.remote}")


@pytest_asyncio.fixture
async def vanishing_server(redis_url: str, staff_file: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(redis_url, staff_file, free_port())
    async with running_server(settings, [web.get("/test/vanished", vanished)]) as running:
        yield running


async def test_a_client_that_vanished_mid_answer_is_not_logged_as_an_error(
    vanishing_server: RunningServer, log_capture: io.StringIO
) -> None:
    """A connection reset while answering is the client's doing: no traceback, no error line,
    no address; the server goes on."""
    connector = aiohttp.TCPConnector(local_addr=(SOURCE_IP, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        try:
            async with http.get(f"{vanishing_server.url}/test/vanished") as response:
                await response.read()
        except aiohttp.ClientError:
            pass  # the server may drop the connection: the client is gone as far as it knows
        async with http.get(f"{vanishing_server.url}/healthz") as response:
            assert response.status == 200
    printed = log_capture.getvalue()
    assert "Traceback" not in printed and "ERROR" not in printed, printed
    assert MARKER not in printed and SOURCE_IP not in printed
