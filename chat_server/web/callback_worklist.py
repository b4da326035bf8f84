"""The counsellors' callback work list: a console page and its JSON API.

Read with the session cookie (role counsellor or supervisor); every POST also needs our own
origin and the session's CSRF token in ``X-CSRF-Token``. The list never holds a phone number,
alias or message: only a successful claim opens them, and only for the claimer. What to say if
someone else answers (the visitor's chosen opening) is in both, so it is read before dialling;
in the list ``[alias]`` stands where the claim puts the alias.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import phonenumbers
from aiohttp import web

from ..domain.callbacks import (
    Outcome,
    WorklistEntry,
    WorkStatus,
    opening_for,
    opening_lines,
    order_worklist,
)
from ..domain.models import Role, StaffAccount
from ..store.callbacks import ClaimTaken, NotDue, NotLockHolder, RequestGone, StoredRequest
from ..store.sessions import StaffSession
from .auth_routes import csrf_ok, current_staff
from .bodies import UnreadableBody, read_json_object
from .callback_api import CALLBACKS, CallbackService, window_json
from .pages import CONSOLE_DIR

WORKLIST_ROLES: Final = frozenset({Role.COUNSELLOR, Role.SUPERVISOR})
WORKLIST_ONLY: Final = (
    "Bara för stödpersoner och arbetsledare. / For counsellors and supervisors only."
)
_REQUEST_ID_RE: Final = re.compile(r"[0-9a-f]{24}")
ALIAS_PLACEHOLDER: Final = "[alias]"  # the list never holds the alias itself


_ERRORS: Final[dict[int, type[web.HTTPException]]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
}


def _json_error(status: int, error: str) -> web.HTTPException:
    """An error to raise, with a JSON body the console page can read."""
    return _ERRORS[status](text=json.dumps({"error": error}), content_type="application/json")


async def _staff(request: web.Request, *, change: bool) -> tuple[StaffAccount, StaffSession]:
    """The signed-in counsellor or supervisor; for a change, also same origin and CSRF."""
    staff = await current_staff(request)
    if staff is None:
        raise _json_error(401, "sign_in")
    account, session = staff
    if account.role not in WORKLIST_ROLES:
        raise _json_error(403, "role")
    if change and not csrf_ok(request, session):
        raise _json_error(403, "csrf")
    return account, session


def _request_id(request: web.Request) -> str:
    request_id = request.match_info["request_id"]
    if not _REQUEST_ID_RE.fullmatch(request_id):
        raise _json_error(404, "gone")
    return request_id


def _opening(stored: StoredRequest, alias: str) -> dict[str, str]:
    say_sv, say_en = opening_lines(stored.opening, alias)
    return {"code": opening_for(stored.opening).code, "say_sv": say_sv, "say_en": say_en}


def _item(
    entry: WorklistEntry, stored: StoredRequest, me: str, service: CallbackService
) -> dict[str, Any]:
    return {
        "id": stored.request_id,
        "status": entry.status.value,
        "windows": [window_json(w, service) for w in stored.windows],
        "next_window": window_json(entry.next_window, service) if entry.next_window else None,
        "attempts": stored.attempts,
        "max_attempts": service.config.rules.max_attempts,
        "language": stored.language,
        "topic": stored.topic,
        "voicemail_ok": stored.voicemail_ok,
        "say_nexus_ok": stored.say_nexus_ok,
        "opening": _opening(stored, ALIAS_PLACEHOLDER),
        "claimed_by": stored.claimed_by or None,
        "claimed_by_me": bool(stored.claimed_by) and stored.claimed_by == me,
    }


async def _entries(service: CallbackService) -> list[tuple[WorklistEntry, StoredRequest]]:
    now = service.store.clock()
    stored = {s.request_id: s for s in await service.store.worklist(now)}
    entries = order_worklist((s.as_worklist_item() for s in stored.values()), now)
    return [(entry, stored[entry.item.request_id]) for entry in entries]


async def console_page(request: web.Request) -> web.StreamResponse:
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther("/console/login")
    if staff[0].role not in WORKLIST_ROLES:
        raise web.HTTPForbidden(text=WORKLIST_ONLY)
    return web.FileResponse(CONSOLE_DIR / "callbacks.html", headers={"Cache-Control": "no-store"})


async def me(request: web.Request) -> web.Response:
    """Who is signed in and the CSRF token for the page's POSTs (like ``/console/api/me`` of
    the console, kept here so the page works without it)."""
    staff = await current_staff(request)
    if staff is None:
        raise _json_error(401, "sign_in")
    account, session = staff
    return web.json_response(
        {
            "user": account.username,
            "name": account.shown_name,
            "role": account.role.value,
            "csrf": session.csrf_token,
        }
    )


async def list_requests(request: web.Request) -> web.Response:
    account, _ = await _staff(request, change=False)
    service = request.app[CALLBACKS]
    items = [_item(e, s, account.username, service) for e, s in await _entries(service)]
    return web.json_response({"tz": service.config.rules.tz, "items": items})


async def work_counts(service: CallbackService) -> dict[str, int]:
    """Anonymous counts of the work list and of today's outcomes (the supervisor sees them)."""
    statuses = [entry.status for entry, _ in await _entries(service)]
    today = await service.store.day_counts(service.store.clock())
    return {
        "pending": sum(status is not WorkStatus.EXPIRED for status in statuses),
        "due": statuses.count(WorkStatus.DUE),
        "overdue": statuses.count(WorkStatus.OVERDUE),
        "completed_today": today.get("completed", 0),
        "failed_today": today.get("failed", 0),
        "requested_today": today.get("requested", 0),
        "cancelled_today": today.get("cancelled", 0),
        "expired_today": today.get("expired", 0),
    }


async def counts(request: web.Request) -> web.Response:
    await _staff(request, change=False)
    return web.json_response(await work_counts(request.app[CALLBACKS]))


async def claim(request: web.Request) -> web.Response:
    account, _ = await _staff(request, change=True)
    service = request.app[CALLBACKS]
    request_id = _request_id(request)
    try:
        claimed = await service.store.claim(request_id, account.username, service.store.clock())
    except RequestGone:
        raise _json_error(404, "gone") from None
    except NotDue:
        raise _json_error(409, "not_due") from None
    except ClaimTaken:
        raise _json_error(409, "taken") from None
    number = phonenumbers.parse(claimed.phone_e164)
    stored = claimed.request
    return web.json_response(
        {
            "id": request_id,
            "phone": claimed.phone_e164,
            "phone_display": phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.NATIONAL
            ),
            "alias": claimed.alias,
            "opening": _opening(stored, claimed.alias),
            "message": claimed.message,
            "voicemail_ok": stored.voicemail_ok,
            "say_nexus_ok": stored.say_nexus_ok,
            "language": stored.language,
            "topic": stored.topic,
            "attempts": stored.attempts,
            "max_attempts": service.config.rules.max_attempts,
            "lock_ttl_s": service.config.rules.lock_ttl_s,
        }
    )


async def record_outcome(request: web.Request) -> web.Response:
    account, _ = await _staff(request, change=True)
    service = request.app[CALLBACKS]
    request_id = _request_id(request)
    try:
        outcome = Outcome(str((await read_json_object(request)).get("outcome")))
    except (UnreadableBody, ValueError):
        raise _json_error(400, "invalid_outcome") from None
    try:
        decision = await service.store.record_outcome(
            request_id, account.username, outcome, service.store.clock()
        )
    except RequestGone:
        raise _json_error(404, "gone") from None
    except NotLockHolder:
        raise _json_error(409, "not_holder") from None
    later = decision.next_window
    return web.json_response(
        {
            "final": decision.final,
            "retry": decision.retry,
            "attempts": decision.attempts,
            "next_window": window_json(later, service) if later else None,
        }
    )


async def release(request: web.Request) -> web.Response:
    account, _ = await _staff(request, change=True)
    service = request.app[CALLBACKS]
    try:
        await service.store.release(_request_id(request), account.username, service.store.clock())
    except RequestGone:
        raise _json_error(404, "gone") from None
    except NotLockHolder:
        raise _json_error(409, "not_holder") from None
    return web.json_response({"released": True})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/console/callbacks", console_page),
        web.get("/console/api/callbacks/me", me),
        web.get("/console/api/callbacks", list_requests),
        web.get("/console/api/callbacks/counts", counts),
        web.post("/console/api/callbacks/{request_id}/claim", claim),
        web.post("/console/api/callbacks/{request_id}/outcome", record_outcome),
        web.post("/console/api/callbacks/{request_id}/release", release),
    ]
