"""HTTP and WebSocket entry points: each parses, calls a session or the store, answers."""

from __future__ import annotations

from aiohttp import web

from .appkeys import SERVICES
from .auth_routes import current_staff
from .console_session import ConsoleSession
from .security import origin_allowed
from .visitor_session import VisitorSession

HEARTBEAT_S = 20.0


def chat_socket(max_frame_bytes: int) -> web.WebSocketResponse:
    """A WebSocket without permessage-deflate: chat frames are ~100 bytes and gain nothing
    from it, while each connection's zlib state costs ~100 KiB of memory, and one deflate
    stream mixing attacker-chosen text with secrets (the console's CSRF token) is the CRIME
    pattern."""
    return web.WebSocketResponse(
        max_msg_size=max_frame_bytes, heartbeat=HEARTBEAT_S, compress=False
    )


async def visitor_socket(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not origin_allowed(request, services.settings.allowed_origins):
        raise web.HTTPForbidden(text="origin not allowed")
    ws = chat_socket(services.settings.max_frame_bytes)
    await ws.prepare(request)
    await VisitorSession(ws, services).run()
    return ws


async def console_socket(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not origin_allowed(request, (services.settings.origin,)):
        raise web.HTTPForbidden(text="origin not allowed")
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPUnauthorized(text="sign in first")
    ws = chat_socket(services.settings.max_frame_bytes)
    await ws.prepare(request)
    await ConsoleSession(ws, services, *staff).run()
    return ws
