"""The supervisor's controls: pause intake (with a message), a notice, open or closed today.

Written through the shared ControlStore, which every instance's ``/api/status`` and visitor
``start`` read. Each POST takes JSON, needs the CSRF token and answers with the controls now.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiohttp import web

from ..store.controls import Controls
from .appkeys import SERVICES
from .bodies import UnreadableBody, read_json_object
from .supervision import check_csrf, json_error, require_supervisor

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS: Final = 300
MAX_BODY_BYTES: Final = 4096
DAY_OVERRIDES: Final = ("open", "closed", "")
LOCAL_TZ: Final = "Europe/Stockholm"


def _invalid(field: str, message: str) -> web.HTTPException:
    return json_error(web.HTTPUnprocessableEntity, "invalid_field", f"{field}: {message}")


async def _body(request: web.Request) -> tuple[str, dict[str, Any]]:
    """The signed-in supervisor's name and the JSON object posted; raises 4xx otherwise."""
    account, session = await require_supervisor(request)
    check_csrf(request, session)
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _too_large(request)
    try:
        body = await read_json_object(request)
    except UnreadableBody as error:
        if error.status == 413:
            raise _too_large(request) from None
        raise json_error(
            web.HTTPBadRequest, "invalid_json", "Ett JSON-objekt väntas. / A JSON object, please."
        ) from None
    return account.username, body


def _too_large(request: web.Request) -> web.HTTPException:
    return json_error(
        web.HTTPRequestEntityTooLarge,
        "too_large",
        "För stor. / Too large.",
        max_size=MAX_BODY_BYTES,
        actual_size=request.content_length or MAX_BODY_BYTES + 1,
    )


def _text(body: dict[str, Any], field: str) -> str:
    """A short staff-written message: trimmed, no control characters, at most 300 chars."""
    value = body.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(field, "text expected / text förväntas")
    value = value.strip()
    if len(value) > MAX_MESSAGE_CHARS:
        raise _invalid(field, f"högst {MAX_MESSAGE_CHARS} tecken / at most {MAX_MESSAGE_CHARS}")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise _invalid(field, "kontrolltecken / control characters")
    return value


def _as_json(controls: Controls, today: str) -> dict[str, Any]:
    return {
        "intake_paused": controls.intake_paused,
        "pause_message_sv": controls.pause_message_sv,
        "pause_message_en": controls.pause_message_en,
        "notice_sv": controls.notice_sv,
        "notice_en": controls.notice_en,
        "day_override": controls.day_override if controls.day_override_date == today else "",
    }


def _today(request: web.Request) -> str:
    """The local date the way /api/status compares ``day_override_date`` with it."""
    services = request.app[SERVICES]
    zone = ZoneInfo(services.hours.tz if services.hours else LOCAL_TZ)
    now = datetime.fromtimestamp(services.clock_ms() / 1000, UTC)
    return now.astimezone(zone).date().isoformat()


async def _answer(request: web.Request) -> web.Response:
    controls = await request.app[SERVICES].controls.get()
    return web.json_response({"controls": _as_json(controls, _today(request))})


async def set_intake(request: web.Request) -> web.Response:
    """``{"paused": bool, "message_sv": str, "message_en": str}``; resuming clears the message."""
    user, body = await _body(request)
    paused = body.get("paused")
    if not isinstance(paused, bool):
        raise _invalid("paused", "true eller false / true or false")
    message_sv, message_en = _text(body, "message_sv"), _text(body, "message_en")
    await request.app[SERVICES].controls.update(
        intake_paused="1" if paused else "",
        pause_message_sv=message_sv if paused else "",
        pause_message_en=message_en if paused else "",
    )
    log.info("intake %s by %s", "paused" if paused else "resumed", user)
    return await _answer(request)


async def set_notice(request: web.Request) -> web.Response:
    """``{"sv": str, "en": str}``: a short notice in the widget; both empty removes it."""
    user, body = await _body(request)
    await request.app[SERVICES].controls.update(
        notice_sv=_text(body, "sv"), notice_en=_text(body, "en")
    )
    log.info("notice changed by %s", user)
    return await _answer(request)


async def set_day(request: web.Request) -> web.Response:
    """``{"override": "open" | "closed" | ""}``: open or close for the rest of today only."""
    user, body = await _body(request)
    override = body.get("override")
    if override not in DAY_OVERRIDES:
        raise _invalid("override", '"open", "closed" eller/or ""')
    await request.app[SERVICES].controls.update(
        day_override=str(override), day_override_date=_today(request) if override else ""
    )
    log.info("today's opening set to %r by %s", override or "schedule", user)
    return await _answer(request)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/supervisor/api/controls/intake", set_intake),
        web.post("/supervisor/api/controls/notice", set_notice),
        web.post("/supervisor/api/controls/day", set_day),
    ]
