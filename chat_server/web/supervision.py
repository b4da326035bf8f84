"""What the supervisor feature keeps on the app, and the checks every supervisor route makes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from ..domain.models import Role, StaffAccount
from ..stats_archive import StatsArchive, StatsRollup
from ..store.sessions import StaffSession
from ..store.stats import StatsStore
from ..supervisor_config import SupervisorConfig
from .auth_routes import csrf_ok, current_staff
from .live_view import LiveMonitor
from .metrics import MetricsServer, ServiceMetrics

SUPERVISOR_ROLES: Final = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass
class Supervision:
    """The supervisor feature of one app instance."""

    config: SupervisorConfig
    stats: StatsStore
    archive: StatsArchive
    rollup: StatsRollup
    monitor: LiveMonitor
    metrics: ServiceMetrics
    metrics_server: MetricsServer | None = None


SUPERVISION = web.AppKey("supervision", Supervision)


def json_error(
    status: type[web.HTTPException], code: str, message: str, **init: Any
) -> web.HTTPException:
    """An HTTP error with a JSON body ``{"error": code, "message": "svenska / English"}``;
    ``init`` holds what the class itself needs (``max_size`` and ``actual_size`` for a 413)."""
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False)
    return status(text=body, content_type="application/json", **init)


async def require_supervisor(request: web.Request) -> tuple[StaffAccount, StaffSession]:
    """The signed-in supervisor or admin; raises 401 (not signed in) or 403 (other role)."""
    staff = await current_staff(request)
    if staff is None:
        raise json_error(web.HTTPUnauthorized, "not_signed_in", "Logga in först. / Sign in first.")
    if staff[0].role not in SUPERVISOR_ROLES:
        raise json_error(
            web.HTTPForbidden, "supervisors_only", "Bara för arbetsledare. / For supervisors only."
        )
    return staff


def check_csrf(request: web.Request, session: StaffSession) -> None:
    """Raises 403 unless the request comes from our own origin with the session's CSRF token
    in the ``X-CSRF-Token`` header."""
    if not csrf_ok(request, session):
        raise json_error(
            web.HTTPForbidden,
            "csrf",
            "Begäran kom inte från sidan: ladda om den. / The request did not come from the "
            "page: reload it.",
        )
