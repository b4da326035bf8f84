"""The audit log in the web service: the writer every handler records to, and the admins'
page and JSON route for reading it (docs/audit.md).

``GET /console/audit`` is the page (admins only: a sign-in page for nobody, 403 for other
roles); ``GET /console/api/audit`` answers it with a page of events, newest first (401 for
nobody, 403 for other roles, 400 for a bad filter or cursor).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, Final

from aiohttp import web

from ..audit import MAX_PAGE, AuditLog, AuditPruner, CursorError, Page
from ..config import Settings
from ..domain.audit import AuditKind, is_staff_name, parse_day
from ..domain.models import Role
from .audit_trail import AUDIT
from .auth_routes import current_staff
from .pages import CONSOLE_DIR
from .supervision import json_error

AUDIT_PRUNER = web.AppKey("audit_pruner", AuditPruner)
DEFAULT_PAGE: Final = 50
ADMINS_ONLY: Final = "Bara för administratörer. / For admins only."


async def audit_page(request: web.Request) -> web.StreamResponse:
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther("/console/login")
    if staff[0].role is not Role.ADMIN:
        raise web.HTTPForbidden(text=ADMINS_ONLY)
    return web.FileResponse(CONSOLE_DIR / "audit.html", headers={"Cache-Control": "no-store"})


def _day(query: Any, name: str) -> date | None:
    text = query.get(name, "")
    if not text:
        return None
    try:
        return parse_day(text)
    except ValueError:
        raise json_error(
            web.HTTPBadRequest, "bad_date", f"{name}: datum som ÅÅÅÅ-MM-DD. / a YYYY-MM-DD date."
        ) from None


def _filters(query: Any) -> dict[str, Any]:
    kind, actor = query.get("kind", ""), query.get("actor", "").strip().lower()
    if kind and kind not in set(AuditKind):
        raise json_error(web.HTTPBadRequest, "bad_kind", "Okänd händelsetyp. / Unknown kind.")
    if actor and not (is_staff_name(actor) or actor == "unknown" or actor.startswith("cli:")):
        raise json_error(web.HTTPBadRequest, "bad_actor", "Inget kontonamn. / Not an account.")
    try:
        limit = int(query.get("limit", DEFAULT_PAGE))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        raise json_error(
            web.HTTPBadRequest, "bad_limit", f"limit: 1–{MAX_PAGE}. / limit: 1 to {MAX_PAGE}."
        )
    since, until = _day(query, "since"), _day(query, "until")
    return {"since": since, "until": until, "kind": kind, "actor": actor, "limit": limit}


async def audit_json(request: web.Request) -> web.Response:
    """``GET /console/api/audit?since=&until=&kind=&actor=&limit=&cursor=``: events newest
    first and ``next`` (the cursor of the older page, null at the end)."""
    staff = await current_staff(request)
    if staff is None:
        raise json_error(web.HTTPUnauthorized, "not_signed_in", "Logga in först. / Sign in first.")
    if staff[0].role is not Role.ADMIN:
        raise json_error(web.HTTPForbidden, "admins_only", ADMINS_ONLY)
    filters = _filters(request.query)
    audit = request.app[AUDIT]
    try:
        page = await _read_page(audit, cursor=request.query.get("cursor", "")[:40], **filters)
    except CursorError:
        raise json_error(web.HTTPBadRequest, "bad_cursor", "Okänd sida. / Unknown page.") from None
    kinds = [k.value for k in AuditKind]
    body = {"events": page.events, "next": page.next_cursor, "kinds": kinds}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def _read_page(audit: AuditLog, **arguments: Any) -> Page:
    return await asyncio.to_thread(lambda: audit.page(**arguments))


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    pruner = app[AUDIT_PRUNER]
    await pruner.start()
    yield
    await pruner.stop()


def add_audit_routes(app: web.Application, settings: Settings) -> AuditLog:
    """Give the app its audit log (with hourly retention) and the admins' reading routes."""
    audit = AuditLog(settings.audit_dir, settings.audit_retention_days)
    app[AUDIT] = audit
    app[AUDIT_PRUNER] = AuditPruner(audit)
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_routes(
        [web.get("/console/audit", audit_page), web.get("/console/api/audit", audit_json)]
    )
    return audit
