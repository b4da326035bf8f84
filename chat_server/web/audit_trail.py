"""Where a handler records an audit event: the app's :class:`AuditLog` under one key.

Kept apart from ``audit_routes`` (which reads the log and needs ``auth_routes``) so that the
login and logout handlers can record without an import cycle.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..audit import AuditLog
from ..domain.audit import AuditKind

AUDIT = web.AppKey("audit", AuditLog)


def audit_log(app: web.Application) -> AuditLog | None:
    """The app's audit log (None in an app built without ``add_audit_routes``)."""
    return app.get(AUDIT)


async def record(app: web.Application, kind: AuditKind, actor: str, **fields: Any) -> None:
    """Append an event to the app's audit log, off the event loop; a failed write is logged
    and counted, never raised (``AuditLog.arecord``)."""
    audit = audit_log(app)
    if audit is not None:
        await audit.arecord(kind, actor, **fields)
