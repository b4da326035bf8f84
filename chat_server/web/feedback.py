"""``POST /api/feedback``: the anonymous post-chat survey (brukarundersökning).

The widget sends ``{"token", "answers": {"<question id>": <answer> | null, ...}}`` with the
one-time token of the ``feedback`` frame that follows ``ended``; the questions are the
configured survey's (:mod:`chat_server.survey_config`), and the first survey's top-level
``helped`` / ``contact_again`` are still understood. The token only
proves that a chat just ended; Redis knows it as a bare SHA-256 with no chat id, and it is used
up here, so an answer can be neither linked to its chat nor sent twice. Answers are stored
only as counts of the day. CORS for the allowed origins; no cookie is read or set.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web
from redis.exceptions import RedisError

from ..domain.survey import InvalidAnswer, Survey, parse_answers
from ..survey_config import shipped_survey
from .appkeys import SERVICES
from .bodies import UnreadableBody, parse_json, read_body
from .security import origin_allowed
from .supervision import SUPERVISION

MAX_BODY_BYTES: Final = 2048


def _cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    origin = request.headers.get("Origin", "").rstrip("/")
    if origin in request.app[SERVICES].settings.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _refuse(request: web.Request, status: int, code: str) -> web.StreamResponse:
    return _cors(request, web.json_response({"error": code}, status=status))


LEGACY_FIELDS: Final = ("helped", "contact_again")  # the first survey's top-level answers


def _answers(survey: Survey, body: Any) -> tuple[str, dict[str, str]] | str:
    """(token, answer codes by question id), or the name of the first field that is wrong.

    The answers are ``body["answers"]``; the first survey's top-level ``helped`` and
    ``contact_again`` are still taken as answers to the questions of those ids."""
    if not isinstance(body, dict):
        return "body"
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= 128:
        return "token"
    chosen: dict[str, str] = {}
    for name in LEGACY_FIELDS:
        if name in body:
            try:
                chosen |= parse_answers(survey, {name: body[name]})
            except InvalidAnswer:
                return name
    if "answers" in body:
        try:
            chosen |= parse_answers(survey, body["answers"])
        except InvalidAnswer as error:
            return error.field
    return token, chosen


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
        parsed = _answers(services.survey or shipped_survey(), parse_json(raw))
    except UnreadableBody as error:
        return _refuse(request, error.status, error.code)
    if isinstance(parsed, str):
        response = web.json_response({"error": "invalid_field", "field": parsed}, status=422)
        return _cors(request, response)
    token, answers = parsed
    try:
        if not await supervision.stats.redeem_feedback_token(token):
            return _refuse(request, 404, "unknown_token")
        await supervision.stats.record_survey_answers(answers)
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
