"""The console's small JSON API: who am I, the standard texts, colleagues for a transfer.

Staff only (401 without a live session). GET only: the console changes state over its
WebSocket, and the one state-changing form here (sign out everywhere) checks the CSRF token.
Nothing here ever carries a visitor's data.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..domain.console_protocol import MAX_NOTE_CHARS
from ..domain.models import Presence, Role, StaffAccount
from ..domain.outcomes import GROUP_LABELS, outcomes_for_console
from ..domain.vocabulary import TRANSFER_REASONS
from ..store.sessions import StaffSession
from .appkeys import SERVICES
from .auth_routes import current_staff
from .console_settings import ConsoleSettings

CONSOLE_SETTINGS = web.AppKey("console_settings", ConsoleSettings)
STANDARD_TEXTS = web.AppKey("standard_texts", list)  # list[dict[str, Any]]


async def _staff_or_401(request: web.Request) -> tuple[StaffAccount, StaffSession]:
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPUnauthorized(text='{"error":"unauthorized"}', content_type="application/json")
    return staff


async def me(request: web.Request) -> web.Response:
    """The signed-in account and what the console needs to draw itself."""
    account, session = await _staff_or_401(request)
    settings = request.app[CONSOLE_SETTINGS]
    return web.json_response(
        {
            "user": account.username,
            "name": account.shown_name,
            "role": account.role.value,
            "supervisor": account.role in (Role.SUPERVISOR, Role.ADMIN),
            "capacity": account.capacity,
            "languages": list(account.languages),
            "topics": list(account.topics),
            "totp": bool(account.totp_secret),
            "csrf": session.csrf_token,
            "outcomes": outcomes_for_console(),
            "outcome_groups": {k: {"sv": v[0], "en": v[1]} for k, v in GROUP_LABELS.items()},
            "transfer_reasons": list(TRANSFER_REASONS),
            "break_after_chats": settings.break_after_chats,
            "break_after_min": settings.break_after_s // 60,
            "max_note_chars": MAX_NOTE_CHARS,
        }
    )


async def standard_texts(request: web.Request) -> web.Response:
    await _staff_or_401(request)
    return web.json_response({"texts": request.app[STANDARD_TEXTS]})


async def staff_list(request: web.Request) -> web.Response:
    """Enabled colleagues with presence and load (chats held), for the transfer dialog."""
    account, _ = await _staff_or_401(request)
    services = request.app[SERVICES]
    shown: list[dict[str, Any]] = []
    for colleague in services.staff.all():
        if colleague.disabled:
            continue
        presence = await services.presence.get(colleague.username)
        load = len(await services.chats.chats_of(colleague.username))
        shown.append(
            {
                "username": colleague.username,
                "name": colleague.shown_name,
                "role": colleague.role.value,
                "presence": presence.value,
                "load": load,
                "capacity": colleague.capacity,
                "languages": list(colleague.languages),
                "topics": list(colleague.topics),
                "me": colleague.username == account.username,
                "can_take": presence is Presence.AVAILABLE and load < colleague.capacity,
            }
        )
    return web.json_response({"staff": shown})
