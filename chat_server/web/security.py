"""Security headers, Origin checks and an access log that knows nothing about the visitor."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

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
    """Logs method, route pattern, status and duration: no address, no query, no headers."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        route = "-"
        match_info = getattr(request, "match_info", None)
        if match_info is not None and match_info.route.resource is not None:
            route = match_info.route.resource.canonical
        self.logger.info("%s %s %s %.1fms", request.method, route, response.status, time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
