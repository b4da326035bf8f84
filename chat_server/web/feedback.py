"""``POST /api/feedback``: the anonymous post-chat survey (brukarundersökning).

The widget sends ``{"token", "helped": 1-5 | null, "contact_again": "yes"|"no"|"unsure"|null}``
with the one-time token of the ``feedback`` frame that follows ``ended``. The token only
proves that a chat just ended; Redis knows it as a bare SHA-256 with no chat id, and it is used
up here, so an answer can be neither linked to its chat nor sent twice. Answers are stored
only as counts of the day. CORS for the allowed origins; no cookie is read or set.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web
from redis.exceptions import RedisError

from ..domain.stats import CONTACT_AGAIN_ANSWERS
from .appkeys import SERVICES
from .bodies import UnreadableBody, parse_json, read_body
from .security import origin_allowed
from .supervision import SUPERVISION

MAX_BODY_BYTES: Final = 1024


def _cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    origin = request.headers.get("Origin", "").rstrip("/")
    if origin in request.app[SERVICES].settings.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _refuse(request: web.Request, status: int, code: str) -> web.StreamResponse:
    return _cors(request, web.json_response({"error": code}, status=status))


def _answers(body: Any) -> tuple[str, int | None, str | None] | str:
    """(token, helped, contact_again), or the name of the first field that is wrong."""
    if not isinstance(body, dict):
        return "body"
    token, helped, again = body.get("token"), body.get("helped"), body.get("contact_again")
    if not isinstance(token, str) or not 0 < len(token) <= 128:
        return "token"
    if helped is not None and (type(helped) is not int or not 1 <= helped <= 5):
        return "helped"
    if again is not None and again not in CONTACT_AGAIN_ANSWERS:
        return "contact_again"
    return token, helped, again


async def submit_feedback(request: web.Request) -> web.StreamResponse:
    """204 when counted; 403 foreign origin, 400 bad JSON, 422 a wrong field (the token is
    then kept for a corrected try), 404 unknown, expired or used token, 503 Redis down."""
    services, supervision = request.app[SERVICES], request.app[SUPERVISION]
    if not origin_allowed(request, services.settings.allowed_origins):
        return _refuse(request, 403, "origin_not_allowed")
    try:
        raw = await read_body(request)
        if len(raw) > MAX_BODY_BYTES:
            raise UnreadableBody(413)
        parsed = _answers(parse_json(raw))
    except UnreadableBody as error:
        return _refuse(request, error.status, error.code)
    if isinstance(parsed, str):
        response = web.json_response({"error": "invalid_field", "field": parsed}, status=422)
        return _cors(request, response)
    token, helped, again = parsed
    try:
        if not await supervision.stats.redeem_feedback_token(token):
            return _refuse(request, 404, "unknown_token")
        await supervision.stats.record_feedback(helped, again)
    except RedisError:
        supervision.metrics.error("redis")
        return _refuse(request, 503, "unavailable")
    supervision.metrics.feedback_responses.inc()
    return _cors(request, web.Response(status=204))


async def preflight(request: web.Request) -> web.StreamResponse:
    response = web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )
    return _cors(request, response)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/feedback", submit_feedback),
        web.options("/api/feedback", preflight),
    ]
