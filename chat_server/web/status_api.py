"""``GET /api/status``: open or closed, paused, the notice, the honest wait estimate."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from ..domain.availability import Availability, availability
from ..services import Services
from .appkeys import SERVICES

LOCAL_TZ = "Europe/Stockholm"


async def current_availability(services: Services) -> tuple[Availability, dict[str, str] | None]:
    """The service as a newcomer sees it now, and the supervisor's notice if any."""
    controls = await services.controls.get()
    now = datetime.fromtimestamp(services.clock_ms() / 1000, tz=UTC)
    zone = ZoneInfo(services.hours.tz if services.hours else LOCAL_TZ)
    today = now.astimezone(zone).date().isoformat()
    override = controls.day_override if controls.day_override_date == today else None
    snapshot = services.queue_watch.latest if services.queue_watch else None
    dispatcher = services.dispatcher
    state = availability(
        services.hours,
        now,
        paused=controls.intake_paused,
        override=override or None,
        waiting=snapshot.waiting if snapshot else 0,
        on_duty_capacity=dispatcher.on_duty_capacity if dispatcher else 0,
        recent_handle_times_s=dispatcher.recent_handle_s if dispatcher else (),
        estimates=services.estimates,
    )
    notice = None
    if controls.intake_paused and (controls.pause_message_sv or controls.pause_message_en):
        notice = {"sv": controls.pause_message_sv, "en": controls.pause_message_en}
    elif controls.notice_sv or controls.notice_en:
        notice = {"sv": controls.notice_sv, "en": controls.notice_en}
    return state, notice


def _cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    origin = request.headers.get("Origin", "").rstrip("/")
    if origin in request.app[SERVICES].settings.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _languages_on_duty(services: Services, intake_open: bool) -> list[str]:
    """The languages of the counsellors available now (empty while intake is closed), so the
    widget can say honestly when nobody on duty speaks the visitor's language."""
    dispatcher = services.dispatcher
    return sorted(dispatcher.languages_on_duty) if dispatcher and intake_open else []


async def service_status(request: web.Request) -> web.StreamResponse:
    state, notice = await current_availability(request.app[SERVICES])
    body = {
        "open": state.open,
        "intake_open": state.intake_open,
        "paused": state.paused,
        "next_opening": _iso(state.next_opening),
        "closes_at": _iso(state.closes_at),
        "notice": notice,
        "waiting": state.waiting,
        "estimated_wait_s": state.estimated_wait_s,
        "overflow": state.overflow,
        "callbacks": request.app[SERVICES].settings.callbacks is not None,
        "languages_on_duty": _languages_on_duty(request.app[SERVICES], state.intake_open),
    }
    return _cors(request, web.json_response(body, headers={"Cache-Control": "no-store"}))


async def preflight(request: web.Request) -> web.StreamResponse:
    response = web.Response(status=204, headers={"Access-Control-Allow-Methods": "GET",
                                                 "Access-Control-Max-Age": "600"})  # fmt: skip
    return _cors(request, response)
