"""The supervisor's pages, live WebSocket and statistics API, and the wiring of the feature.

Everything here needs a signed-in account of role supervisor or admin; a counsellor gets 403.
The controls are in ``controls_api``, the survey endpoint in ``feedback``, the shared checks in
``supervision``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from ..domain.audit import AuditKind
from ..domain.console_protocol import Bare, SaveOutcome
from ..domain.models import visitor_alias
from ..domain.outcomes import OUTCOMES
from ..domain.protocol import (
    SUPERVISOR_FRAME_TYPES,
    CloseCode,
    ErrorCode,
    ProtocolError,
    decode_object,
    encode,
    error_frame,
)
from ..domain.stats import outcome_waits_for_counsellor
from ..domain.stats_export import (
    DateRange,
    StatsRangeError,
    default_range,
    export_fields,
    parse_date_range,
    range_report,
    render_csv,
    to_csv_rows,
)
from ..services import Services
from ..stats_archive import StatsArchive, StatsRollup, read_range
from ..store.chats import EndedChat
from ..store.outcomes import LateOutcome
from ..store.sessions import StaffSession, hash_session_id
from ..store.stats import StatsStore
from ..supervisor_config import SupervisorConfig
from ..survey_config import load_survey
from . import controls_api, feedback, report
from .appkeys import SERVICES
from .audit_trail import record
from .auth_routes import current_staff
from .live_view import CallbackCounts, LiveMonitor
from .metrics import MetricsServer, ServiceMetrics
from .pages import static_files
from .peer import Peer
from .security import origin_allowed
from .supervision import (
    SUPERVISION,
    SUPERVISOR_ROLES,
    Supervision,
    json_error,
    require_supervisor,
)

if TYPE_CHECKING:
    from .console_session import ConsoleSession

SUPERVISOR_DIR = Path(str(resources.files("chat_server") / "supervisor"))
HEARTBEAT_S: Final = 20.0
SESSION_CHECK_S: Final = 20.0
LOCAL_TZ: Final = "Europe/Stockholm"


# --- pages ------------------------------------------------------------------------------


async def _page(request: web.Request, name: str) -> web.StreamResponse:
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther("/console/login")
    if staff[0].role not in SUPERVISOR_ROLES:
        raise web.HTTPForbidden(text="Bara för arbetsledare. / For supervisors only.")
    return web.FileResponse(SUPERVISOR_DIR / name, headers={"Cache-Control": "no-store"})


async def live_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, "live.html")


async def stats_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, "stats.html")


# --- the live socket --------------------------------------------------------------------


def refusal(data: str | bytes) -> str:
    """The answer to any frame a supervisor's view sends (it may send none)."""
    frame = None
    try:
        frame = decode_object(data)
        if frame["type"] not in SUPERVISOR_FRAME_TYPES:
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, "the live view takes no frames")
        raise ProtocolError(ErrorCode.NOT_ALLOWED_NOW, "not available")  # pragma: no cover
    except ProtocolError as error:
        return error_frame(error, frame)


async def supervisor_socket(request: web.Request) -> web.StreamResponse:
    """``GET /ws/supervisor``: hello, then ``live`` and ``queue_history`` frames. The client
    has nothing to send: every frame gets an ``error`` (``unknown_type`` for a JSON object).
    Closes 4401 when the session ends or is revoked."""
    services = request.app[SERVICES]
    if not origin_allowed(request, (services.settings.origin,)):
        raise web.HTTPForbidden(text="origin not allowed")
    account, session = await require_supervisor(request)
    monitor = request.app[SUPERVISION].monitor
    ws = web.WebSocketResponse(max_msg_size=4096, heartbeat=HEARTBEAT_S, compress=False)
    await ws.prepare(request)
    peer = Peer(ws)
    peer.send(
        encode(
            "hello",
            user=account.username,
            name=account.shown_name,
            role=account.role.value,
            csrf=session.csrf_token,
            targets_s=list(request.app[SUPERVISION].config.service_targets_s),
        )
    )
    channel = services.keys.staff_channel(account.username)

    def on_staff_nudge(_channel: str, data: str) -> None:
        if data in ("logout", f"logout:{hash_session_id(session.session_id)}"):
            peer.close_soon(CloseCode.UNAUTHORIZED, "signed out")

    await services.hub.subscribe(channel, on_staff_nudge)
    monitor.attach(peer)
    checker = asyncio.create_task(_check_session(services, session, peer))
    try:
        async for msg in ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY) or peer.close_after:
                break
            peer.send(refusal(msg.data))
    finally:
        checker.cancel()
        monitor.detach(peer)
        await services.hub.unsubscribe(channel, on_staff_nudge)
        await peer.finish()
    return ws


async def _check_session(services: Services, session: StaffSession, peer: Peer) -> None:
    while True:
        await asyncio.sleep(SESSION_CHECK_S)
        with contextlib.suppress(RedisError):
            if await services.sessions.get(session.session_id, services.clock_ms()) is None:
                peer.close_soon(CloseCode.UNAUTHORIZED, "session expired")
                return


# --- statistics -------------------------------------------------------------------------


async def _range(
    request: web.Request,
) -> tuple[Supervision, DateRange, dict[date, dict[str, int]]]:
    await require_supervisor(request)
    supervision = request.app[SUPERVISION]
    store = supervision.stats
    start, end = request.query.get("start"), request.query.get("end")
    try:
        if start is None and end is None:  # the page's first view: the service's own today
            span = default_range(store.today())
        else:
            span = parse_date_range(start or "", end or "", store.today())
    except StatsRangeError as error:
        raise json_error(web.HTTPBadRequest, error.code, error.message) from None
    per_day = await read_range(store, supervision.archive, span.dates())
    return supervision, span, per_day


async def stats_json(request: web.Request) -> web.Response:
    """``GET /supervisor/api/stats?start=YYYY-MM-DD&end=YYYY-MM-DD``: the page's report."""
    supervision, span, per_day = await _range(request)
    report = range_report(
        per_day,
        span,
        vocabulary=supervision.stats.vocabulary,
        targets_s=supervision.config.service_targets_s,
    )
    report["labels"] = {o.code: [o.label_sv, o.label_en] for o in OUTCOMES}
    survey = request.app[SERVICES].survey
    report["survey"] = survey.for_widget() if survey else []
    return web.json_response(report)


async def stats_csv(request: web.Request) -> web.Response:
    """``GET /supervisor/api/stats.csv?start=&end=``: one suppressed row per day (an export:
    recorded in the audit log)."""
    supervision, span, per_day = await _range(request)
    account, _ = await require_supervisor(request)
    await record(
        request.app, AuditKind.STATS_EXPORTED, account.username, day_range=(span.start, span.end)
    )
    rows = to_csv_rows(per_day, export_fields(per_day, supervision.stats.vocabulary))
    name = f"nexus-chat-statistik_{span.start.isoformat()}_{span.end.isoformat()}.csv"
    return web.Response(
        text=render_csv(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- wiring -----------------------------------------------------------------------------


def add_supervisor_routes(
    app: web.Application,
    config: SupervisorConfig | None = None,
    *,
    metrics: ServiceMetrics | None = None,
    callback_counts: CallbackCounts | None = None,
) -> Supervision:
    """Add the supervisor view, the statistics, the survey endpoint and the metrics server to
    an app made by ``create_app``, count every chat end (a ``services.end_hooks`` hook) and
    take the consoles' late outcomes (the ``outcome`` console frame)."""
    services = app[SERVICES]
    config = config or SupervisorConfig()
    metrics = metrics or ServiceMetrics()
    tz = services.hours.tz if services.hours else LOCAL_TZ
    store = StatsStore(services.redis, services.settings.redis_prefix, tz=tz,
                       clock_ms=services.clock_ms,
                       outcome_grace_s=config.outcome_grace_s)  # fmt: skip
    archive = StatsArchive(config.resolved_stats_dir(services.settings.data_dir))
    supervision = Supervision(
        config=config,
        stats=store,
        archive=archive,
        rollup=StatsRollup(
            store,
            archive,
            config.stats_flush_interval_s,
            on_failure=lambda: metrics.error("stats_rollup"),
        ),
        monitor=LiveMonitor(services, store, archive, config, metrics, callback_counts),
        metrics=metrics,
    )
    app[SUPERVISION] = supervision
    services.survey = load_survey(config.survey_file, services.settings.data_dir).survey

    async def count_chat_end(
        ended: EndedChat, now_ms: int, reason: str, outcomes: tuple[str, ...]
    ) -> None:
        # Not ended by its counsellor: the outcome is theirs to give later (an `outcome` frame).
        late = outcome_waits_for_counsellor(
            answered=ended.answered_ms > 0, reason=reason, counsellor=ended.counsellor
        )
        await store.record_chat_end(
            enqueued_ms=ended.enqueued_ms, answered_ms=ended.answered_ms, ended_ms=now_ms,
            topic=ended.topic, language=ended.language, urgent=ended.urgent, reason=reason,
            outcomes=LateOutcome(ended.chat_id, ended.counsellor) if late else outcomes,
        )  # fmt: skip
        metrics.chats_ended.labels(answered="yes" if ended.answered_ms else "no").inc()

    async def save_late_outcome(console: ConsoleSession, message: SaveOutcome) -> None:
        await console.save_outcome(message, store)

    async def list_late_outcomes(console: ConsoleSession, _message: Bare) -> None:
        """The outcomes this counsellor may still give, for a console opened (or reloaded)
        after the visitor left: without them the pane would be gone and the outcome lost."""
        grace_ms = int(store.late_outcomes.grace_s * 1000)
        pending = await store.late_outcomes.pending_for(console.username, services.clock_ms())
        chats = [
            {"chat_id": item.chat_id, "alias": visitor_alias(item.chat_id),
             "ended_ms": item.deadline_ms - grace_ms, "deadline_ms": item.deadline_ms}
            for item in pending
        ]  # fmt: skip
        console.peer.send(encode("outcomes_pending", chats=chats))

    services.end_hooks.append(count_chat_end)
    services.console_handlers["outcome"] = save_late_outcome
    services.console_handlers["outcomes_pending"] = list_late_outcomes
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_routes(
        [
            web.get("/supervisor/", live_page),
            web.get("/supervisor/stats", stats_page),
            web.get("/ws/supervisor", supervisor_socket),
            web.get("/supervisor/api/stats", stats_json),
            web.get("/supervisor/api/stats.csv", stats_csv),
            *controls_api.routes(),
            *feedback.routes(),
            *report.routes(),
            static_files("/supervisor/assets", SUPERVISOR_DIR),
        ]
    )
    return supervision


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    supervision = app[SUPERVISION]
    config = supervision.config
    await supervision.rollup.start()
    await supervision.monitor.start()
    if config.metrics_port:
        supervision.metrics_server = MetricsServer(
            supervision.metrics, config.metrics_host, config.metrics_port, config.metrics_token
        )
        await supervision.metrics_server.start()
    yield
    if supervision.metrics_server:
        await supervision.metrics_server.stop()
    await supervision.monitor.stop()
    await supervision.rollup.stop()
