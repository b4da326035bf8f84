"""``GET /supervisor/report`` and ``/supervisor/report.csv``: the pilot's evaluation report.

Supervisors and admins only. The page is server-rendered HTML (``report_html``); the CSV
holds the same tables. ``from`` and ``to`` are YYYY-MM-DD (both included, at most two
years); without both, the page shows this year so far. ``lang`` is ``sv`` (default) or ``en``.
Bad parameters get 400: a page in the report's language for the HTML, JSON for the CSV.
"""

from __future__ import annotations

from datetime import date

from aiohttp import web

from ..domain.audit import AuditKind
from ..domain.evaluation_report import (
    EvaluationReport,
    build_report,
    parse_report_language,
    parse_report_period,
    report_csv_rows,
)
from ..domain.stats_export import StatsRangeError, render_csv
from ..stats_archive import read_range
from .appkeys import SERVICES
from .audit_trail import record
from .auth_routes import current_staff
from .report_html import render_error, render_report
from .supervision import SUPERVISION, SUPERVISOR_ROLES, json_error, require_supervisor

_NO_STORE = {"Cache-Control": "no-store"}


async def _report(request: web.Request, start: str, end: str, lang: str) -> EvaluationReport:
    """Raises StatsRangeError for a bad period or language."""
    supervision = request.app[SUPERVISION]
    store = supervision.stats
    span = parse_report_period(start, end, store.today())
    per_day = await read_range(store, supervision.archive, span.dates())
    return build_report(
        per_day,
        span,
        lang=lang,
        survey=request.app[SERVICES].survey,
        vocabulary=store.vocabulary,
        targets_s=supervision.config.service_targets_s,
    )


def _in_language(message: str, lang: str) -> str:
    """One half of a "Svenska … / English …" message: one language per page."""
    swedish, _, english = message.partition(" / ")
    return english if lang == "en" and english else swedish


async def report_page(request: web.Request) -> web.Response:
    """The report page; 303 to the login when not signed in, 403 for a counsellor."""
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther("/console/login")
    if staff[0].role not in SUPERVISOR_ROLES:
        raise web.HTTPForbidden(text="Bara för arbetsledare. / For supervisors only.")
    start, end = request.query.get("from"), request.query.get("to")
    raw_lang = request.query.get("lang", "")
    try:
        lang = parse_report_language(raw_lang)
    except StatsRangeError as error:
        page = render_error("sv", _in_language(error.message, "sv"), start or "", end or "")
        return web.Response(text=page, status=400, content_type="text/html", headers=_NO_STORE)
    if start is None and end is None:
        today = request.app[SUPERVISION].stats.today()
        start, end = date(today.year, 1, 1).isoformat(), today.isoformat()
    try:
        report = await _report(request, start or "", end or "", lang)
    except StatsRangeError as error:
        page = render_error(lang, _in_language(error.message, lang), start or "", end or "")
        return web.Response(text=page, status=400, content_type="text/html", headers=_NO_STORE)
    return web.Response(
        text=render_report(report), content_type="text/html", charset="utf-8", headers=_NO_STORE
    )


async def report_csv(request: web.Request) -> web.Response:
    """The report's tables as CSV (table, row, column, value); 401 / 403 / 400 as JSON. An
    export: recorded in the staff audit log, like the statistics CSV."""
    account, _ = await require_supervisor(request)
    try:
        lang = parse_report_language(request.query.get("lang", ""))
        report = await _report(
            request, request.query.get("from", ""), request.query.get("to", ""), lang
        )
    except StatsRangeError as error:
        raise json_error(web.HTTPBadRequest, error.code, error.message) from None
    span = report.span
    await record(
        request.app, AuditKind.STATS_EXPORTED, account.username, day_range=(span.start, span.end)
    )
    name = f"nexus-chat-utvardering_{span.start.isoformat()}_{span.end.isoformat()}.csv"
    return web.Response(
        text=render_csv(report_csv_rows(report)),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **_NO_STORE},
    )


def routes() -> list[web.RouteDef]:
    return [
        web.get("/supervisor/report", report_page),
        web.get("/supervisor/report.csv", report_csv),
    ]
