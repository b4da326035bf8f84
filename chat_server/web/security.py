"""Security headers, Origin checks and an access log that knows nothing about the visitor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

log = logging.getLogger(__name__)

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def origin_allowed(request: web.Request, allowed: tuple[str, ...]) -> bool:
    """True when the request's Origin header is one of ``allowed`` (exact match)."""
    origin = request.headers.get("Origin", "")
    return bool(origin) and origin.rstrip("/") in allowed


def same_origin_request(request: web.Request, origin: str) -> bool:
    """A state-changing request comes from our own pages.

    Browsers send ``Origin: null`` on a form POST from a page with ``Referrer-Policy:
    no-referrer``; then the Fetch Metadata header ``Sec-Fetch-Site`` decides."""
    sent = request.headers.get("Origin", "")
    if sent and sent != "null":
        return sent.rstrip("/") == origin
    return request.headers.get("Sec-Fetch-Site", "") == "same-origin"


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_name(request: web.BaseRequest) -> str:
    """The request method for a log line; any other token a client invented is ``OTHER``."""
    return request.method if request.method in KNOWN_METHODS else "OTHER"


def route_pattern(request: web.BaseRequest) -> str:
    """The matched route's pattern (``/callback/status``), never the path that was sent."""
    try:  # a request aiohttp could not parse never got as far as routing
        match_info = request.match_info  # type: ignore[attr-defined]
    except (AttributeError, AssertionError):
        return "-"
    if match_info.route.resource is not None:
        return str(match_info.route.resource.canonical)
    return "-"


CLIENT_GONE_STATUS = 499  # nginx's code for it; only the access log ever sees it


@web.middleware
async def error_barrier(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The innermost middleware: an exception no handler expected becomes a plain 500 with no
    traceback, and one log line with the route pattern and the exception's type (the record
    factory of :mod:`chat_server.logsafety` keeps its message and any address out). aiohttp's
    own handler, which logs the peer's address, never sees it."""
    try:
        return await handler(request)
    except (web.HTTPException, asyncio.CancelledError):
        raise
    except ConnectionResetError:
        # The client went while we answered (a tab closed during a WebSocket handshake):
        # nothing to fix and nobody to answer. aiohttp would log it with a traceback.
        log.debug("client gone during %s %s", method_name(request), route_pattern(request))
        return web.Response(status=CLIENT_GONE_STATUS, reason="Client Closed Request")
    except Exception:
        log.exception("unhandled error in %s %s", method_name(request), route_pattern(request))
        return web.Response(status=500, text="Internal error. Please try again later.")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", PAGE_CSP)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


class PrivacyAccessLogger(AbstractAccessLogger):
    """Logs method, route pattern, status and duration: no address, no query, no headers.

    It writes to ``chat_server.access``: a record on aiohttp's own ``aiohttp.access`` logger
    (from any other access logger) has its arguments redacted by :mod:`..logsafety`."""

    def __init__(self, logger: logging.Logger, log_format: str) -> None:
        super().__init__(logging.getLogger("chat_server.access"), log_format)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        method, route = method_name(request), route_pattern(request)
        self.logger.info("%s %s %s %.1fms", method, route, response.status, time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
